"""The posterior problem: measurements, moment model and prior; the chi^2 of a
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
  on the cutoff. The sample site is u ~ Uniform(0, 1)^3 mapped by the inverse prior CDF
  (:func:`_moduli_from_unit`).
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
* Nuisances: ``"lognormal"`` (default) 1 + a = exp(eta), eta ~ Normal(0, sigma): median
  scale 1, rates stay positive; ``"gaussian"`` a ~ Normal(0, sigma), the paper's pull.
  With Gaussian nuisances Eq. (34) lets the signal scale 1 + a1 (sigma 0.28) go to zero:
  the profiled chi^2 saturates at ~1/sigma_a1^2 = 12.8 for large moments, the likelihood
  has a plateau, and a flat-prior credible limit grows with the box (measured: 52 -> 70
  for a doubled box). The log-normal prior removes the plateau.
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

from ... import likelihood as L
from ...effective_moments import beam_flavours, flavour_mu2, tmm_mu2
from ...likelihood.counting import binned_poisson_measurement, total_count_measurement
from ...likelihood.physics_model import FlavourMoments, MassStateBeam, TransitionMoments
from ...moments import DEFAULT_OSCILLATION, OscillationParameters, solar_mass_probabilities
from ...precision import require_x64
from ..profile_likelihood import upper_limit as profile_upper_limit
from .measurements import (Measurement, _resolve_experiment, make_measurement,
                           measurement_chi2, measurement_chi2_profiled)

MODELS = ("tmm", "flavour")
PRIOR_KINDS = ("flat", "flat_in_square", "log_flat")
NUISANCE_PRIORS = ("gaussian", "lognormal")
NUISANCE_PARAMETERIZATIONS = ("whitened", "centered")

TMM_MODULI = ("Lambda1", "Lambda2", "Lambda3")
FLAVOUR_MODULI = ("mu_e", "mu_mu", "mu_tau")


@dataclass(frozen=True)
class Prior:
    """Explicit prior choices (module docstring). Units of moduli: 1e-10 mu_B."""

    moduli: str = "flat"
    upper: float | None = None
    lower_cutoff: float = 1e-3
    auto_upper_factor: float = 2.0
    nuisance: str = "lognormal"
    ring_width: float = 0.25

    def __post_init__(self):
        if self.moduli not in PRIOR_KINDS:
            raise ValueError(f"Prior.moduli must be one of {PRIOR_KINDS}, got {self.moduli!r}")
        if self.nuisance not in NUISANCE_PRIORS:
            raise ValueError(f"Prior.nuisance must be one of {NUISANCE_PRIORS}, "
                             f"got {self.nuisance!r}")
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
                "auto_upper_factor": self.auto_upper_factor, "nuisance": self.nuisance,
                "ring_width": self.ring_width}


@dataclass(frozen=True, eq=False)
class PosteriorProblem:
    """Measurements + model + prior: everything :func:`numpyro_model` needs.

    ``prior.upper`` is always resolved (a number) here; ``truth`` holds the injected
    parameters of Asimov data (or None); ``single_limits`` the one-parameter frequentist
    limits and ``reach`` the :func:`allowed_reach` of the 90 % C.L. region, both used for
    the automatic box.
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
    def nuisance_names(self) -> tuple:
        return tuple(k for m in self.measurements for k in m.nuisance_keys())

    @property
    def label(self) -> str:
        return " + ".join(m.label for m in self.measurements)

    def to_json(self) -> dict:
        return {"model": self.model, "measurements": [m.to_json() for m in self.measurements],
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
    """Model parameters {'moduli': (3,), phases...} from a {name: value} mapping."""
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


def _mu2(problem: PosteriorProblem, meas: Measurement, theta: Mapping):
    """mu_b^2 per beam of one measurement ((1e-10 mu_B)^2)."""
    if problem.model == "tmm":
        osc = problem.osc
        if "delta_cp" in theta:
            osc = osc._replace(delta_cp=theta["delta_cp"])
        return tmm_mu2(meas.flavours, theta["moduli"], theta["xi1"], theta["xi3"], osc,
                       pe1_2nu=meas.pe1_2nu)
    return flavour_mu2(meas.flavours, theta["moduli"], problem.osc)


def chi2_unprofiled(problem: PosteriorProblem, theta: Mapping, nuisances: Sequence):
    """Sum over measurements of the paper's chi^2 at ``theta`` and nuisances (list of (k,))."""
    total = 0.0
    for meas, a in zip(problem.measurements, nuisances):
        total = total + measurement_chi2(meas, _mu2(problem, meas, theta), jnp.asarray(a))
    return total


def chi2_profiled(problem: PosteriorProblem, theta: Mapping):
    """Sum over measurements of the chi^2 with nuisances profiled (frequentist statistic)."""
    total = 0.0
    for meas in problem.measurements:
        total = total + measurement_chi2_profiled(meas, _mu2(problem, meas, theta))
    return total


def build_problem(experiments, model: str = "tmm", prior: Prior | None = None, *,
                  statistic=None, data=None, inject: Mapping | None = None, options=None,
                  osc: OscillationParameters = DEFAULT_OSCILLATION,
                  sample_delta_cp: bool = False, parameterization: str = "whitened",
                  measurements: Sequence[Measurement] | None = None,
                  quad=None) -> PosteriorProblem:
    """A :class:`PosteriorProblem` for one experiment or a combination.

    ``experiments``: 'NAME:SETUP' strings, (name, setup) tuples, config dicts or built
    experiments (a single one may be passed bare). ``statistic``/``data``/``options``
    apply to each (see :func:`make_measurement`); ``options`` may also be a dict keyed by
    'NAME:SETUP'. ``inject``: model parameters for Asimov data, e.g. ``{"Lambda1": 2.0,
    "xi1": 1.0}`` (TMM) or ``{"mu_e": 1.5}`` (flavour). ``measurements``: pre-built
    :class:`Measurement` objects appended to those built from ``experiments`` (toys).
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
    truth_theta = _theta_from(shell, inject or {})
    built = []
    for exp in experiments:
        resolved = _resolve_experiment(exp)
        opts = options
        if isinstance(options, Mapping) and any(":" in str(k) for k in options):
            opts = options.get(f"{resolved.name}:{resolved.setup}")
        truth_mu2 = None
        if inject:
            fl = beam_flavours(resolved)
            probe = Measurement(resolved.name, resolved.setup, fl, np.zeros((len(fl), 1)),
                                np.zeros((len(fl), 1)), "gaussian", np.zeros(()), {}, (), ())
            truth_mu2 = np.asarray(_mu2(shell, probe, truth_theta))
        built.append(make_measurement(resolved, statistic=statistic, data=data,
                                      truth_mu2=truth_mu2, options=opts, quad=quad))
    built.extend(measurements or [])
    if not built:
        raise ValueError("no experiments or measurements given")
    labels = [m.label for m in built]
    if len(set(labels)) != len(labels):
        raise ValueError(f"duplicate measurements {labels}: each experiment once")
    problem = PosteriorProblem(tuple(built), model, prior, osc, sample_delta_cp,
                               parameterization,
                               truth=None if inject is None else {k: float(v) for k, v in
                                                                  inject.items()})
    singles = _single_parameter_limits(problem)
    reach = allowed_reach(problem)
    problem = replace(problem, single_limits=singles, reach=reach)
    if prior.upper is None:
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
        prior = replace(prior, upper=float(upper))
    return replace(problem, prior=prior)


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


def em_forms(problem: PosteriorProblem, delta_cp=None) -> list:
    """Hermitian 3x3 matrices A_m with (EM events of measurement m) = Lambda^dagger A_m
    Lambda, Lambda the complex TMM vector (or the real flavour moments, A_m diagonal).

    Obtained by polarisation from the model's own mu_b^2 (paper 000 Eq. 9 is a Hermitian
    form in Lambda): A_ii = q(e_i), Re A_ij = (q(e_i + e_j) - A_ii - A_jj) / 2,
    Im A_ij = -(q(e_i + i e_j) - A_ii - A_jj) / 2, with q the EM count summed over beams
    and bins. Used to decide whether the data bound every direction."""
    base = problem if delta_cp is None else replace(
        problem, osc=problem.osc._replace(delta_cp=float(delta_cp)))

    def q(m, v):
        values = _params_from_vector(base, v)
        if base.sample_delta_cp:
            values["delta_cp"] = base.osc.delta_cp
        mu2 = np.asarray(_mu2(base, m, _theta_from(base, values)))
        return float(np.sum(np.sum(m.em, axis=1) * mu2))

    eye = np.eye(3, dtype=complex)
    forms = []
    for m in problem.measurements:
        A = np.zeros((3, 3), dtype=complex)
        for i in range(3):
            A[i, i] = q(m, eye[i])
        if problem.model == "tmm":
            for i in range(3):
                for j in range(i + 1, 3):
                    re = 0.5 * (q(m, eye[i] + eye[j]) - A[i, i].real - A[j, j].real)
                    im = -0.5 * (q(m, eye[i] + 1j * eye[j]) - A[i, i].real - A[j, j].real)
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
    sphere, phases uniform; 2048 of them, 256 for Poisson, whose profiled chi^2 is an inner
    Newton loop) plus the eigenvectors of the EM forms. Along a ray mu_b^2(t w) = t^2 mu_b^2(w)
    (Eqs. 5-9 are homogeneous quadratics), so the per-beam coefficients are computed once
    and the profiled chi^2 is scanned on a geometric grid of t up to 1e4 times the largest
    finite one-parameter limit; Delta chi^2 is measured from the smallest chi^2 seen.
    Returns ``{"max", "median", "bounded", "n_directions"}``.
    """
    poisson = any(m.statistic == "poisson" for m in problem.measurements)
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

    def coefficients(v):
        theta = _theta_from(problem, v)
        return [_mu2(problem, m, theta) for m in problem.measurements]

    coeff = jax.vmap(coefficients)(values)
    finite = [v for v in (problem.single_limits or {}).values() if np.isfinite(v)]
    scale = max(finite) if finite else 1.0
    t = jnp.asarray(np.concatenate([[0.0], np.geomspace(1e-3 * scale, 1e4 * scale, n_grid)]))

    def chi2_ray(c):
        return jax.vmap(lambda x: _chi2_profiled_mu2(problem, [x**2 * ci for ci in c]))(t)

    chi2 = np.asarray(jax.jit(jax.vmap(chi2_ray))(coeff))  # (n_dir, n_grid + 1)
    delta = chi2 - np.nanmin(chi2)
    inside = np.isfinite(delta) & (delta < level)
    tt = np.asarray(t)
    reach = np.array([tt[np.nonzero(row)[0].max()] if row.any() else 0.0 for row in inside])
    return {"max": float(reach.max()), "median": float(np.median(reach)),
            "bounded": bool(bounded and not np.any(inside[:, -1])),
            "n_directions": int(reach.size)}


def _chi2_profiled_mu2(problem: PosteriorProblem, mu2_list):
    """Profiled chi^2 from per-measurement mu^2 vectors."""
    return sum(measurement_chi2_profiled(m, mu2) for m, mu2 in zip(problem.measurements,
                                                                     mu2_list))


def likelihood_measurement(meas: Measurement):
    """The same statistic as a :class:`cevns_jax.likelihood.Measurement` (nuisances profiled,
    named ``<slug>/<nuisance>``), so frequentist questions go through
    :mod:`cevns_jax.inference.profile_likelihood` like every other driver's."""
    o = meas.options
    sm, em = np.sum(meas.sm, axis=1), np.sum(meas.em, axis=1)
    beams = meas.flavours
    if meas.pe1_2nu is not None:
        p = np.asarray(solar_mass_probabilities(meas.pe1_2nu))
        beams = tuple(MassStateBeam("solar", *p) if f == "nue_solar" else f for f in beams)
    if meas.statistic == "eq34":
        out = total_count_measurement(meas.label, beams, sm, em, n_obs=float(meas.n_obs),
                                      variance=float(meas.n_obs) + o["b_0n"] + 2.0 * o["b_ss"],
                                      signal_sigma=o["sigma_a1"], background=o["b_0n"],
                                      background_sigma=o["sigma_a2"])
    elif meas.statistic == "eq35":
        variance = float(L.single_nuisance_variance(float(meas.n_obs), o["sigma_stat"],
                                                    o["denominator"]))
        out = total_count_measurement(meas.label, beams, sm, em, n_obs=float(meas.n_obs),
                                      variance=variance, signal_sigma=o["sigma_sys"])
    elif meas.statistic == "poisson":
        out = binned_poisson_measurement(meas.label, beams, meas.sm, meas.em, n_obs=meas.n_obs,
                                         background=o["background"],
                                         signal_sigma=o["sigma_norm"])
    else:
        out = total_count_measurement(meas.label, beams, sm, em, n_obs=float(meas.n_obs),
                                      variance=float(o["sigma"]) ** 2, signal_sigma=1.0,
                                      treatment="fixed")
    return out.prefixed(meas.slug)


def physics_model(problem: PosteriorProblem):
    """The problem's moment model as a :mod:`cevns_jax.likelihood.physics_model` model."""
    if problem.model == "tmm":
        return TransitionMoments(problem.osc)
    return FlavourMoments(problem.osc)


#: Result name of each modulus -> parameter name of the physics model.
_MODEL_PARAMETER = {"Lambda1": "lambda1", "Lambda2": "lambda2", "Lambda3": "lambda3",
                    "mu_e": "mu_e", "mu_mu": "mu_mu", "mu_tau": "mu_tau"}


def _single_parameter_limits(problem: PosteriorProblem, level: float = 2.71) -> dict:
    """One-parameter limits, other moduli 0 and phases 0 (paper 000 Table II convention),
    through :func:`cevns_jax.inference.profile_likelihood.upper_limit`; NaN where the
    data have no sensitivity below 1e7 (e.g. mu_tau at short baseline)."""
    combined = functools.reduce(operator.add, [likelihood_measurement(m)
                                               for m in problem.measurements])
    model = physics_model(problem)
    return {name: profile_upper_limit(combined, model, _MODEL_PARAMETER[name], level=level,
                                      upper=1.0e7).value
            for name in problem.moduli_names}
