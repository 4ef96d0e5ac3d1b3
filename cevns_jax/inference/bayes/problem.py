"""The posterior problem: shared measurements, moment model and prior; the -2 ln L of a
parameter point, the reach of the allowed region and the one-parameter limits that set the
automatic prior box.

Priors (explicit choices, class :class:`Prior`)
-----------------------------------------------
* Moduli (|Lambda_i| or mu_alpha, units 1e-10 mu_B), independent on [0, upper]:
  ``"flat"`` (uniform in the modulus, default), ``"flat_in_square"`` (uniform in the
  modulus squared, density 2x/upper^2: counts are linear in mu^2, and for a likelihood
  Gaussian in mu^2 with its best fit at zero this prior's 90 % limit is the Delta chi^2 =
  2.71 point) and ``"log_flat"`` (uniform in log on [lower_cutoff, upper]). The physical
  bound is zero; log-flat cannot reach it and needs a cutoff (default 1e-3, i.e.
  1e-13 mu_B): below the sensitivity the likelihood is flat, so the credible limit depends
  on the cutoff. The sample site is u ~ Uniform(0, 1)^3 mapped by the inverse prior CDF.
  ``upper=None`` picks the box automatically: ``auto_upper_factor`` (default 2) times the
  farthest reach of the 90 % C.L. (Delta chi^2 = 2.71) allowed region from the origin
  (:func:`allowed_reach`); when some direction is not bounded at all (exact test on the
  Hermitian EM-rate forms, :func:`em_forms`), the largest finite one-parameter limit
  (others zero, phases zero, the paper's Table II convention) replaces the reach.
  Directions the data do not constrain (mu_tau at short baselines, the reactor's
  degenerate TMM direction, paper 000 Eqs. 13-14) then fill the box: their "limits" are
  prior-dominated and flagged in :attr:`PosteriorResult.prior_dominated`.
* Phases (xi_1, xi_3, delta_CP): uniform on the circle without a boundary. Each is the angle
  ``atan2(v_y, v_x)`` of an auxiliary 2-vector v with a rotation-invariant "ring" density
  ``exp(-(|v| - 1)^2 / (2 w^2))`` (w = ``ring_width``, 0.25): the angle is exactly uniform
  whatever w is, there is no edge at +-pi, and the ring keeps the sampler away from the
  origin where the angle is singular. Phases are reported in [0, 2 pi).
* Nuisances: the measurement states them. A ``"profiled"`` nuisance is marginalised with
  its constraint as prior -- Gaussian (``sigma``) truncated to its bounds, or flat within
  its bounds when unconstrained (finite bounds required) -- and a ``"fixed"`` one stays at
  its nominal value. The likelihood is exp(-twice_nll / 2) of the measurement, whose
  constraint terms are these Gaussian priors (:mod:`.model`).
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ...effective_moments import beam_flavours
from ...likelihood.measurement import Measurement, profile
from ...likelihood.physics_model import FlavourMoments, TransitionMoments, channel_mu2s
from ...moments import DEFAULT_OSCILLATION, OscillationParameters
from ...precision import require_x64
from ..profile_grid import upper_limits
from .measurements import _resolve_experiment, describe, make_measurement, nuisance_key

MODELS = ("tmm", "flavour")
PRIOR_KINDS = ("flat", "flat_in_square", "log_flat")
NUISANCE_PARAMETERIZATIONS = ("whitened", "centered")

TMM_MODULI = ("Lambda1", "Lambda2", "Lambda3")
FLAVOUR_MODULI = ("mu_e", "mu_mu", "mu_tau")

#: Result name of each modulus -> parameter name of the physics model.
_MODEL_PARAMETER = {"Lambda1": "lambda1", "Lambda2": "lambda2", "Lambda3": "lambda3",
                    "mu_e": "mu_e", "mu_mu": "mu_mu", "mu_tau": "mu_tau"}


@dataclass(frozen=True)
class Prior:
    """Explicit prior choices of the physics parameters (module docstring). Units of
    moduli: 1e-10 mu_B. The nuisances' priors are the measurement's constraints."""

    moduli: str = "flat"
    upper: float | None = None
    lower_cutoff: float = 1e-3
    auto_upper_factor: float = 2.0
    ring_width: float = 0.25

    def __post_init__(self):
        if self.moduli not in PRIOR_KINDS:
            raise ValueError(f"Prior.moduli must be one of {PRIOR_KINDS}, got {self.moduli!r}")
        if self.upper is not None and not (np.isfinite(self.upper) and self.upper > 0):
            raise ValueError(f"Prior.upper must be a finite number > 0 or None, got {self.upper!r}")
        if not (np.isfinite(self.lower_cutoff) and self.lower_cutoff > 0):
            raise ValueError(f"Prior.lower_cutoff must be > 0 (log-flat cannot reach zero), "
                             f"got {self.lower_cutoff!r}")
        if self.upper is not None and self.moduli == "log_flat" and self.upper <= self.lower_cutoff:
            raise ValueError(f"Prior.upper {self.upper!r} must exceed lower_cutoff "
                             f"{self.lower_cutoff!r}")
        if not (np.isfinite(self.auto_upper_factor) and self.auto_upper_factor > 1):
            raise ValueError(f"Prior.auto_upper_factor must be > 1, got {self.auto_upper_factor!r}")
        if not (np.isfinite(self.ring_width) and 0 < self.ring_width <= 0.5):
            raise ValueError(f"Prior.ring_width must be in (0, 0.5], got {self.ring_width!r}")

    @property
    def lower(self) -> float:
        return self.lower_cutoff if self.moduli == "log_flat" else 0.0

    def to_json(self) -> dict:
        return {"moduli": self.moduli, "upper": self.upper, "lower_cutoff": self.lower_cutoff,
                "auto_upper_factor": self.auto_upper_factor, "ring_width": self.ring_width}


@dataclass(frozen=True, eq=False)
class PosteriorProblem:
    """Shared measurements + moment model + prior: everything the numpyro model needs.

    ``measurements``: :class:`cevns_jax.likelihood.measurement.Measurement` objects, one per
    experiment, with disjoint nuisance names; ``measurement`` is their sum (the combined
    likelihood). ``prior.upper`` is always resolved (a number) here; ``truth`` holds the
    injected parameters of Asimov data (or None); ``single_limits`` the one-parameter
    frequentist limits and ``reach`` the :func:`allowed_reach` of the 90 % C.L. region (None
    when the box was given).
    """

    measurements: tuple
    model: str
    prior: Prior
    osc: OscillationParameters = DEFAULT_OSCILLATION
    sample_delta_cp: bool = False
    parameterization: str = "whitened"
    truth: dict | None = None
    single_limits: dict | None = None
    reach: dict | None = None

    @functools.cached_property
    def measurement(self) -> Measurement:
        return functools.reduce(operator.add, self.measurements)

    @property
    def moduli_names(self) -> tuple:
        return TMM_MODULI if self.model == "tmm" else FLAVOUR_MODULI

    @property
    def phase_names(self) -> tuple:
        if self.model != "tmm":
            return ()
        return ("xi1", "xi3", "delta_cp") if self.sample_delta_cp else ("xi1", "xi3")

    @property
    def parameter_names(self) -> tuple:
        return self.moduli_names + self.phase_names

    @property
    def sampled_nuisances(self) -> tuple:
        """The nuisances the posterior marginalises (treatment ``"profiled"``)."""
        return tuple(n for n in self.measurement.nuisances if n.treatment == "profiled")

    @property
    def nuisance_names(self) -> tuple:
        """Result names of the sampled nuisances (:func:`~.measurements.nuisance_key`)."""
        return tuple(nuisance_key(n.name) for n in self.sampled_nuisances)

    @property
    def label(self) -> str:
        return " + ".join(m.name for m in self.measurements)

    def to_json(self) -> dict:
        return {"model": self.model, "measurements": [describe(m) for m in self.measurements],
                "prior": self.prior.to_json(), "osc": dict(self.osc._asdict()),
                "sample_delta_cp": self.sample_delta_cp,
                "parameterization": self.parameterization,
                "truth": _jsonable(self.truth), "single_limits": _jsonable(self.single_limits),
                "reach": _jsonable(self.reach),
                "parameters": list(self.parameter_names), "nuisances": list(self.nuisance_names)}


def _jsonable(obj):
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    arr = np.asarray(obj)
    if arr.dtype.kind in "fiub":
        if arr.ndim == 0:
            return _jsonable(arr.item())
        return [_jsonable(v) for v in arr.tolist()]
    return str(obj)


def _theta_from(problem: PosteriorProblem, values: Mapping) -> dict:
    """Parameters {'moduli': (3,), phases...} from a {name: value} mapping."""
    if "moduli" in values:
        moduli = jnp.asarray(values["moduli"], dtype=jnp.float64)
    else:
        moduli = jnp.stack([jnp.asarray(values.get(n, 0.0), dtype=jnp.float64)
                            for n in problem.moduli_names])
    theta = {"moduli": moduli}
    for name in ("xi1", "xi3"):
        if problem.model == "tmm":
            theta[name] = jnp.asarray(values.get(name, 0.0), dtype=jnp.float64)
    if problem.sample_delta_cp:
        theta["delta_cp"] = jnp.asarray(values.get("delta_cp", problem.osc.delta_cp),
                                        dtype=jnp.float64)
    return theta


def physics_model(problem: PosteriorProblem, delta_cp=None):
    """The problem's moment model (:mod:`cevns_jax.likelihood.physics_model`), with
    ``delta_cp`` replacing the oscillation parameters' value when given (it may be traced)."""
    osc = problem.osc if delta_cp is None else problem.osc._replace(delta_cp=delta_cp)
    return TransitionMoments(osc) if problem.model == "tmm" else FlavourMoments(osc)


def model_parameters(problem: PosteriorProblem, theta: Mapping):
    """(physics model, its parameter dict) at ``theta`` (:func:`_theta_from` layout)."""
    physics = physics_model(problem, theta.get("delta_cp"))
    params = {_MODEL_PARAMETER[n]: theta["moduli"][i] for i, n in enumerate(problem.moduli_names)}
    params.update({p: theta[p] for p in ("xi1", "xi3") if p in theta})
    return physics, params


def _mu2s(problem: PosteriorProblem, meas: Measurement, theta: Mapping) -> list:
    physics, params = model_parameters(problem, theta)
    return channel_mu2s(meas, physics, params)


def _mu2(problem: PosteriorProblem, meas: Measurement, theta: Mapping):
    """mu_b^2 ((1e-10 mu_B)^2) of every beam of ``meas``, channels concatenated."""
    return jnp.concatenate(_mu2s(problem, meas, theta))


def chi2_unprofiled(problem: PosteriorProblem, theta: Mapping, nuisances: Mapping):
    """-2 ln L of the combined measurement at ``theta`` and ``nuisances`` ({name: value};
    missing ones at nominal), constraint terms included."""
    meas = problem.measurement
    return meas.twice_nll(_mu2s(problem, meas, theta), dict(nuisances))


def chi2_profiled(problem: PosteriorProblem, theta: Mapping):
    """-2 ln L minimised over the profiled nuisances
    (:func:`cevns_jax.likelihood.measurement.profile`): the frequentist statistic."""
    meas = problem.measurement
    return profile(meas, _mu2s(problem, meas, theta))[0]


def _check_nuisances(measurement: Measurement) -> None:
    for n in measurement.nuisances:
        if n.treatment == "profiled" and n.sigma is None and not (
                math.isfinite(n.lower) and math.isfinite(n.upper)):
            raise ValueError(f"nuisance {n.name!r} has no constraint and bounds "
                             f"[{n.lower}, {n.upper}]: its flat prior is improper; give finite "
                             f"bounds or fix it (with_treatment('fixed', [{n.name!r}]))")


def build_problem(experiments, model: str = "tmm", prior: Prior | None = None, *,
                  statistic=None, data=None, inject: Mapping | None = None, options=None,
                  osc: OscillationParameters = DEFAULT_OSCILLATION,
                  sample_delta_cp: bool = False, parameterization: str = "whitened",
                  measurements: Sequence[Measurement] | None = None,
                  quad=None) -> PosteriorProblem:
    """A :class:`PosteriorProblem` for one experiment or a combination.

    ``experiments``: 'NAME:SETUP' strings, (name, setup) tuples, config dicts or built
    experiments (a single one may be passed bare). ``statistic``/``data``/``options``
    apply to each (see :func:`~.measurements.make_measurement`); ``options`` may also be a
    dict keyed by 'NAME:SETUP'. ``inject``: model parameters for Asimov data, e.g.
    ``{"Lambda1": 2.0, "xi1": 1.0}`` (TMM) or ``{"mu_e": 1.5}`` (flavour). ``measurements``:
    any shared :class:`~cevns_jax.likelihood.measurement.Measurement` objects (data sets of
    ``analyses``, toys) appended to those built from ``experiments``.
    Resolves ``prior.upper`` when None (module docstring).
    """
    require_x64()
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if parameterization not in NUISANCE_PARAMETERIZATIONS:
        raise ValueError(f"parameterization must be one of {NUISANCE_PARAMETERIZATIONS}, "
                         f"got {parameterization!r}")
    if sample_delta_cp and model != "tmm":
        raise ValueError("sample_delta_cp applies to the TMM model only")
    prior = prior or Prior()
    if experiments is None:
        experiments = []
    elif (isinstance(experiments, (str, Mapping)) or hasattr(experiments, "beams") or (
            isinstance(experiments, tuple) and len(experiments) == 2
            and experiments[1] in ("current", "future"))):
        experiments = [experiments]
    names = TMM_MODULI if model == "tmm" else FLAVOUR_MODULI
    allowed = set(names) | ({"xi1", "xi3", "delta_cp"} if model == "tmm" else set())
    if inject is not None:
        unknown = sorted(set(inject) - allowed)
        if unknown:
            raise ValueError(f"inject has unknown parameters {unknown}; {model} model "
                             f"parameters: {sorted(allowed)}")
        for k, v in inject.items():
            if k in names and not (np.isfinite(v) and v >= 0):
                raise ValueError(f"injected modulus {k} must be >= 0, got {v!r}")
    shell = PosteriorProblem((), model, prior, osc, sample_delta_cp or bool(
        inject and "delta_cp" in inject), parameterization)
    truth_model, truth_params = model_parameters(shell, _theta_from(shell, inject or {}))
    built = []
    for exp in experiments:
        resolved = _resolve_experiment(exp)
        opts = options
        if isinstance(options, Mapping) and any(":" in str(k) for k in options):
            opts = options.get(f"{resolved.name}:{resolved.setup}")
        truth_mu2 = None
        if inject:
            truth_mu2 = np.asarray(truth_model.mu2(truth_params, beam_flavours(resolved)))
        built.append(make_measurement(resolved, statistic=statistic, data=data,
                                      truth_mu2=truth_mu2, options=opts, quad=quad))
    built.extend(measurements or [])
    if not built:
        raise ValueError("no experiments or measurements given")
    labels = [m.name for m in built]
    if len(set(labels)) != len(labels):
        raise ValueError(f"duplicate measurements {labels}: each experiment once")
    problem = PosteriorProblem(tuple(built), model, prior, osc, sample_delta_cp,
                               parameterization,
                               truth=None if inject is None else {k: float(v) for k, v in
                                                                  inject.items()})
    _check_nuisances(problem.measurement)
    singles = _single_parameter_limits(problem)
    problem = replace(problem, single_limits=singles)
    if prior.upper is not None:
        return problem
    reach = allowed_reach(problem)
    finite = [v for v in singles.values() if np.isfinite(v)]
    if reach["bounded"]:
        scale = reach["max"]
    elif finite:
        scale = max(finite)
    else:
        raise ValueError(f"no parameter of {problem.label} has a finite frequentist "
                         f"limit; give Prior(upper=...) explicitly")
    upper = prior.auto_upper_factor * scale
    if prior.moduli == "log_flat" and upper <= prior.lower_cutoff:
        raise ValueError(f"automatic upper bound {upper!r} is below the log-flat cutoff "
                         f"{prior.lower_cutoff!r}")
    return replace(problem, prior=replace(prior, upper=float(upper)), reach=reach)


def _params_from_vector(problem: PosteriorProblem, v) -> dict:
    """(moduli, xi1, xi3) of a complex TMM vector Lambda (overall phase removed: zeta2 = 0,
    xi3 = zeta1 - zeta2, xi1 = zeta3 - zeta2, paper 000 below Eq. 11)."""
    v = np.asarray(v, dtype=complex)
    values = {"moduli": np.abs(v)}
    if problem.model == "tmm":
        zeta = np.angle(v)
        values["xi3"] = float(zeta[0] - zeta[1])
        values["xi1"] = float(zeta[2] - zeta[1])
    return values


def _em_totals(meas: Measurement) -> list:
    """Unit-moment EM events per beam of each channel (nuisances at nominal)."""
    nominal = meas.nominal_nuisances()
    return [np.sum(np.asarray(c.components(nominal).signal_em), axis=1) for c in meas.channels]


def em_forms(problem: PosteriorProblem, delta_cp=None) -> list:
    """Hermitian 3x3 matrices A_m with (EM events of measurement m) = Lambda^dagger A_m
    Lambda, Lambda the complex TMM vector (or the real flavour moments, A_m diagonal).

    Obtained by polarisation from the model's own mu_b^2 (paper 000 Eq. 9 is a Hermitian
    form in Lambda): A_ii = q(e_i), Re A_ij = (q(e_i + e_j) - A_ii - A_jj) / 2,
    Im A_ij = -(q(e_i + i e_j) - A_ii - A_jj) / 2, with q the EM count summed over beams,
    bins and channels at nominal nuisances. Used to decide whether the data bound every
    direction."""
    base = problem if delta_cp is None else replace(
        problem, osc=problem.osc._replace(delta_cp=float(delta_cp)))

    def q(m, totals, v):
        values = _params_from_vector(base, v)
        if base.sample_delta_cp:
            values["delta_cp"] = base.osc.delta_cp
        mu2s = _mu2s(base, m, _theta_from(base, values))
        return float(sum(np.sum(t * np.asarray(x)) for t, x in zip(totals, mu2s)))

    eye = np.eye(3, dtype=complex)
    forms = []
    for m in problem.measurements:
        totals = _em_totals(m)
        A = np.zeros((3, 3), dtype=complex)
        for i in range(3):
            A[i, i] = q(m, totals, eye[i])
        if problem.model == "tmm":
            for i in range(3):
                for j in range(i + 1, 3):
                    re = 0.5 * (q(m, totals, eye[i] + eye[j]) - A[i, i].real - A[j, j].real)
                    im = -0.5 * (q(m, totals, eye[i] + 1j * eye[j]) - A[i, i].real
                                 - A[j, j].real)
                    A[i, j] = re + 1j * im
                    A[j, i] = re - 1j * im
        forms.append(A)
    return forms


def _bounded(forms, tol=1e-8) -> tuple:
    """Whether the summed, individually normalised EM forms are positive definite, and the
    eigenvectors of that sum and of each form (candidate extreme directions)."""
    total = sum(A / max(np.linalg.eigvalsh(A).max(), 1e-300) for A in forms)
    w, vecs = np.linalg.eigh(total)
    directions = [vecs[:, i] for i in range(3)]
    for A in forms:
        directions.extend(np.linalg.eigh(A)[1].T)
    return bool(w.min() > tol * w.max()), directions


def allowed_reach(problem: PosteriorProblem, level: float = 2.71, *, n_directions=None,
                  n_grid: int = 161, seed: int = 0) -> dict:
    """How far the 90 % C.L. allowed region reaches from the origin.

    ``bounded``: exact -- every direction of (moduli, phases) changes some measurement's EM
    count, i.e. the sum of the :func:`em_forms` is positive definite (checked at 8 values
    of delta_CP when it is sampled). A reactor alone is not (paper 000 Eqs. 13-14), nor is
    mu_tau at short baselines. ``max``: the largest t with Delta chi^2 < ``level`` along
    rays t w, over random directions w (moduli uniform on the positive octant of the unit
    sphere, phases uniform; 2048 of them, 256 when a channel is Poisson) plus the
    eigenvectors of the EM forms. Along a ray mu_b^2(t w) = t^2 mu_b^2(w) (Eqs. 5-9 are
    homogeneous quadratics), so the per-beam coefficients are computed once and the profiled
    -2 ln L (:func:`chi2_profiled`) is scanned on a geometric grid of t up to 1e4 times the
    largest finite one-parameter limit; Delta chi^2 is measured from the smallest value seen.
    Returns ``{"max", "median", "bounded", "n_directions"}``.
    """
    meas = problem.measurement
    poisson = any(c.statistic == "poisson" for c in meas.channels)
    n_dir = n_directions or (256 if poisson else 2048)
    rng = np.random.default_rng(seed)
    deltas = (np.linspace(0, 2 * np.pi, 8, endpoint=False) if problem.sample_delta_cp
              else [None])
    bounded, extra = True, []
    for d in deltas:
        ok, directions = _bounded(em_forms(problem, d))
        bounded &= ok
        if d is None or d == 0.0:
            extra = directions
    w = np.abs(rng.standard_normal((n_dir, 3)))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    phases = {p: rng.uniform(0, 2 * np.pi, n_dir) for p in problem.phase_names}
    extra_values = [_params_from_vector(problem, v) for v in extra]
    moduli = np.concatenate([w, [e["moduli"] for e in extra_values]])
    values = {"moduli": jnp.asarray(moduli)}
    for p in problem.phase_names:
        fill = [e.get(p, problem.osc.delta_cp if p == "delta_cp" else 0.0)
                for e in extra_values]
        values[p] = jnp.asarray(np.concatenate([phases[p], fill]))
    coeff = jax.vmap(lambda v: _mu2s(problem, meas, _theta_from(problem, v)))(values)
    finite = [v for v in (problem.single_limits or {}).values() if np.isfinite(v)]
    scale = max(finite) if finite else 1.0
    t = jnp.asarray(np.concatenate([[0.0], np.geomspace(1e-3 * scale, 1e4 * scale, n_grid)]))

    def chi2_ray(m, c):
        return jax.vmap(lambda x: profile(m, [x**2 * ci for ci in c])[0])(t)

    chi2 = np.asarray(jax.jit(jax.vmap(chi2_ray, in_axes=(None, 0)))(meas, coeff))
    delta = chi2 - np.nanmin(chi2)
    inside = np.isfinite(delta) & (delta < level)
    tt = np.asarray(t)
    reach = np.array([tt[np.nonzero(row)[0].max()] if row.any() else 0.0 for row in inside])
    return {"max": float(reach.max()), "median": float(np.median(reach)),
            "bounded": bool(bounded and not np.any(inside[:, -1])),
            "n_directions": int(reach.size)}


def _single_parameter_limits(problem: PosteriorProblem, level: float = 2.71) -> dict:
    """One-parameter limits, other moduli 0 and phases 0 (paper 000 Table II convention),
    searched together by :func:`cevns_jax.inference.profile_grid.upper_limits` on the
    problem's measurement; NaN where the data have no sensitivity below 1e7 (e.g. mu_tau at
    short baseline)."""
    names = [_MODEL_PARAMETER[name] for name in problem.moduli_names]
    found = upper_limits(problem.measurement, physics_model(problem), names, level=level,
                         upper=1.0e7, rtol=1e-10)
    return {name: found[_MODEL_PARAMETER[name]].value for name in problem.moduli_names}
