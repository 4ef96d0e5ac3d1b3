"""Bayesian layer: numpyro models, NUTS posteriors, credible limits and regions (issue 6).

User guide: docs/bayes.md. The posterior is built from the *same* pieces as the chi^2 fits
of paper 000 -- there is no second implementation of the physics:

* Counts. Per-beam templates S_b, E_b (events per bin; E_b at mu = 1e-10 mu_B) from
  :func:`cevns_jax.rates.binned_templates` are computed once per experiment at the
  configuration's default parameters (flux_scale = radius_scale = 1, the configured
  Lindhard kappa and sin^2 theta_W). These *shape* parameters are held fixed: the only
  rate freedom in the posterior is the normalisation nuisance of the test statistic, as in
  paper 000 Eqs. (34)-(35). Expected counts are
  ``N = (1 + a) sum_b (S_b + mu_b^2 E_b)`` (:func:`cevns_jax.likelihood.expected_counts`,
  paper 000 Eqs. 26 and 33), with mu_b^2 from :func:`cevns_jax.effective_moments.tmm_mu2`
  (TMM model, paper 000 Eqs. 5-9: moduli |Lambda_i|, phases xi_1, xi_3, optionally
  delta_CP) or :func:`cevns_jax.effective_moments.flavour_mu2` (flavour moments mu_e,
  mu_mu, mu_tau, paper 004 Eqs. 6-11).
* Likelihood. ``numpyro.factor("chi2__<exp>", -0.5 * (chi2 - pull))`` with chi2 the
  paper's *unprofiled* statistic at the sampled nuisances:
  ``"eq34"`` :func:`cevns_jax.likelihood.chi2_coherent_csi_nuisance` (paper 000 Eq. 34,
  COHERENT CsI, nuisances a1 (signal), a2 (prompt-neutron background));
  ``"eq35"`` :func:`cevns_jax.likelihood.chi2_single_nuisance_unprofiled` (Eq. 35, one
  normalisation nuisance a); ``"poisson"`` :func:`cevns_jax.likelihood.poisson_deviance`
  per bin plus a normalisation pull; ``"gaussian"`` a plain ((n_obs - N)/sigma)^2 without
  nuisance (toys). ``pull = sum (a_k / sigma_k)^2`` is the Gaussian penalty these chi^2
  contain; in the Bayesian model it is replaced by the nuisance prior of the sample site.
  With Gaussian nuisances the unnormalised posterior is exactly
  ``prior(theta) exp(-chi2_paper / 2)``.

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

Sampling
--------
Numpyro's NUTS kernel (dense mass matrix, target acceptance 0.95 by default) with several
chains vectorised on one device: the kernel is initialised with a batch of PRNG keys, which
makes numpyro ``vmap`` it over chains (what ``MCMC(chain_method="vectorized")`` does); the
transitions run in jitted chunks compiled ahead of time, so compile, warmup and sampling are
timed separately and one compilation serves every problem of the same structure (all
numbers are model arguments). Explicit PRNG keys: same key, same samples. Initialisation:
the chi^2 best fit (:func:`cevns_jax.inference.fit.minimize`, multi-start) moved inside the
prior box and jittered per chain, given to ``init_to_value``.

Nuisance parameterisation ``"whitened"`` (default): the paper's nuisances enter linearly
with a Gaussian pull, so given the physics parameters theta their conditional posterior is
Gaussian, with mean and Cholesky factor C(theta) from one Newton step of the chi^2 at a = 0
(gradient and Hessian by autodiff of the same chi^2). The sample site is z ~ Normal(0, 1)
with eta = m(theta) + C(theta) z plus the Jacobian log|det C|: exact for any prior, a
perfect decorrelation for Gaussian nuisances in Eqs. 34-35. ``"centered"`` samples eta
directly; for a future reactor (10^7 events, 10 % normalisation) that gives a ridge 10^3
times thinner than long, which NUTS cannot traverse.

Diagnostics with every run: split R-hat and effective sample size
(:mod:`numpyro.diagnostics`) per parameter (phases through cos and sin), the ESS of the 90 %
quantile indicator (tail ESS of the limit), divergences, tree-depth saturation, ESS/s and
ESS per 1000 gradients; :class:`ConvergenceWarning` and ``converged = False`` when R-hat >
1.01, any divergence, ESS below ``min_ess`` (default 100 per chain) or tree depth saturated
in more than 1 % of the transitions.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer import NUTS, init_to_value
from numpyro.infer.util import unconstrain_fn

from .. import likelihood as L
from ..effective_moments import beam_flavours, flavour_mu2, tmm_mu2
from ..moments import DEFAULT_OSCILLATION, OscillationParameters
from ..precision import require_x64
from .fit import MODULUS, PHASE, minimize, profile_nuisances, uniform_starts
from .limits import upper_limit

__all__ = [
    "ConvergenceWarning",
    "CredibleRegion2D",
    "MODELS",
    "Measurement",
    "NUISANCE_PARAMETERIZATIONS",
    "PRIOR_KINDS",
    "PosteriorProblem",
    "PosteriorResult",
    "Prior",
    "STATISTICS",
    "allowed_reach",
    "best_fit",
    "build_problem",
    "chi2_profiled",
    "chi2_unprofiled",
    "clear_compiled_cache",
    "compare_limits",
    "corner_plot",
    "credible_region_2d",
    "credible_upper_limits",
    "custom_measurement",
    "derived_mu2",
    "diagnose",
    "edge_mass",
    "em_forms",
    "format_comparison",
    "frequentist_limits",
    "make_measurement",
    "model_data",
    "nuisance_mode",
    "numpyro_model",
    "parameter_label",
    "register_cli",
    "sample_posterior",
]

STATISTICS = ("eq34", "eq35", "poisson", "gaussian")
MODELS = ("tmm", "flavour")
PRIOR_KINDS = ("flat", "flat_in_square", "log_flat")
NUISANCE_PRIORS = ("gaussian", "lognormal")
NUISANCE_PARAMETERIZATIONS = ("whitened", "centered")

TMM_MODULI = ("Lambda1", "Lambda2", "Lambda3")
FLAVOUR_MODULI = ("mu_e", "mu_mu", "mu_tau")

#: Measured COHERENT CsI 2017 counts behind paper 000 Eq. (34).
CSI_2017_MEASURED = 142.0


class ConvergenceWarning(UserWarning):
    """NUTS diagnostics failed: R-hat > 1.01, divergences, or too small an ESS."""


# ======================================================================================
# measurements
# ======================================================================================
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


@dataclass(frozen=True, eq=False)
class Measurement:
    """One experiment's templates, data and test statistic (see the module docstring).

    ``sm``/``em``: (n_beams, n_bins) templates (fixed shape, default parameters);
    ``n_obs``: observed counts -- a scalar (total over beams and bins) for ``eq34``,
    ``eq35`` and ``gaussian``, per bin for ``poisson``; ``options``: the statistic's
    constants; ``nuisance_names``/``nuisance_sigmas``: the Gaussian pulls of the statistic.
    """

    name: str
    setup: str
    flavours: tuple
    sm: np.ndarray
    em: np.ndarray
    statistic: str
    n_obs: np.ndarray
    options: Mapping
    nuisance_names: tuple
    nuisance_sigmas: tuple
    data: str = "custom"
    pe1_2nu: float | None = None

    @property
    def label(self) -> str:
        return f"{self.name}:{self.setup}"

    @property
    def slug(self) -> str:
        return _slug(self.label)

    def nuisance_keys(self) -> tuple:
        """Result names of the nuisances, e.g. ``a1__COHERENT_CsI_current``."""
        return tuple(f"{n}__{self.slug}" for n in self.nuisance_names)

    def to_json(self) -> dict:
        return {"name": self.name, "setup": self.setup, "flavours": list(self.flavours),
                "statistic": self.statistic, "data": self.data,
                "n_obs": np.asarray(self.n_obs).tolist(),
                "options": {k: (np.asarray(v).tolist() if not isinstance(v, str) else v)
                            for k, v in self.options.items()},
                "nuisances": dict(zip(self.nuisance_names, self.nuisance_sigmas)),
                "sm_total": float(np.sum(self.sm)), "em_total": float(np.sum(self.em)),
                "sm_per_beam": np.sum(self.sm, axis=1).tolist(),
                "em_per_beam": np.sum(self.em, axis=1).tolist()}


def _check_options(statistic, options):
    allowed = {"eq34": {"b_0n", "b_ss", "sigma_a1", "sigma_a2"},
               "eq35": {"sigma_stat", "sigma_sys", "denominator"},
               "poisson": {"background", "sigma_norm"},
               "gaussian": {"sigma"}}[statistic]
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"options {unknown} are not known to statistic {statistic!r}; "
                         f"allowed: {sorted(allowed)}")


def _statistic_setup(statistic, options, setup):
    """Complete options and the nuisance (names, sigmas) of a statistic."""
    options = dict(options or {})
    _check_options(statistic, options)
    if statistic == "eq34":
        full = {"b_0n": 6.0, "b_ss": 405.0, "sigma_a1": 0.28, "sigma_a2": 0.25}
        full.update(options)
        return full, ("a1", "a2"), (float(full["sigma_a1"]), float(full["sigma_a2"]))
    if statistic == "eq35":
        # paper 000 below Eq. (35); setups other than current/future take the current value
        default = L.EQ35_SIGMA.get(setup, L.EQ35_SIGMA["current"])
        full = {"sigma_stat": default, "sigma_sys": default, "denominator": "printed"}
        full.update(options)
        if full["denominator"] not in L.DENOMINATORS:
            raise ValueError(f"denominator must be one of {L.DENOMINATORS}, "
                             f"got {full['denominator']!r}")
        return full, ("a",), (float(full["sigma_sys"]),)
    if statistic == "poisson":
        default = L.EQ35_SIGMA.get(setup, L.EQ35_SIGMA["current"])
        full = {"background": 0.0, "sigma_norm": default}
        full.update(options)
        return full, ("a",), (float(full["sigma_norm"]),)
    if "sigma" not in options:
        raise ValueError("statistic 'gaussian' needs options={'sigma': ...} (absolute, events)")
    return dict(options), (), ()


def _check_sigmas(names, sigmas):
    for n, s in zip(names, sigmas):
        if not (np.isfinite(s) and s > 0):
            raise ValueError(f"nuisance {n!r} needs sigma > 0, got {s!r}")


def custom_measurement(name, flavours, sm, em, *, statistic="gaussian", n_obs, setup="custom",
                       options=None, pe1_2nu=None) -> Measurement:
    """A :class:`Measurement` from explicit templates (toys, external experiments).

    ``sm``/``em`` of shape (n_beams, n_bins), ``flavours`` one label per beam
    (see :mod:`cevns_jax.effective_moments`), ``n_obs`` observed counts.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    sm = np.asarray(sm, dtype=float)
    em = np.asarray(em, dtype=float)
    if sm.ndim != 2 or sm.shape != em.shape:
        raise ValueError(f"templates must share a (n_beams, n_bins) shape, got {sm.shape}, "
                         f"{em.shape}")
    flavours = tuple(flavours)
    if len(flavours) != sm.shape[0]:
        raise ValueError(f"{len(flavours)} flavours {flavours} for {sm.shape[0]} beams")
    full, names, sigmas = _statistic_setup(statistic, options, setup)
    _check_sigmas(names, sigmas)
    n_obs = np.asarray(n_obs, dtype=float)
    want = (sm.shape[1],) if statistic == "poisson" else ()
    if n_obs.shape != want:
        raise ValueError(f"n_obs for statistic {statistic!r} must have shape {want}, "
                         f"got {n_obs.shape}")
    if not np.all(np.isfinite(n_obs)) or np.any(n_obs < 0):
        raise ValueError(f"n_obs must be finite and >= 0, got {n_obs!r}")
    if statistic == "gaussian" and not float(full["sigma"]) > 0:
        raise ValueError(f"gaussian sigma must be > 0, got {full['sigma']!r}")
    if statistic == "poisson":
        full["background"] = np.broadcast_to(np.asarray(full["background"], float),
                                             (sm.shape[1],)).copy()
    return Measurement(name, setup, flavours, sm, em, statistic, n_obs, full, names, sigmas,
                       "custom", pe1_2nu)


def _resolve_experiment(experiment):
    from ..experiments import Experiment, build_experiment, get_config

    if isinstance(experiment, Experiment):
        return experiment
    if isinstance(experiment, Mapping):
        return build_experiment(dict(experiment))
    if isinstance(experiment, str):
        name, _, setup = experiment.partition(":")
        return build_experiment(get_config(name, setup or "current"))
    if isinstance(experiment, tuple) and len(experiment) == 2:
        return build_experiment(get_config(*experiment))
    raise TypeError(f"experiment must be an Experiment, a config dict, 'NAME:SETUP' or "
                    f"(name, setup); got {experiment!r}")


def default_statistic(name: str, setup: str) -> str:
    """Paper 000's statistic: Eq. (34) for COHERENT CsI current, Eq. (35) otherwise."""
    return L.paper000_statistic(name, setup)


def make_measurement(experiment, *, statistic=None, data=None, truth_mu2=None, options=None,
                     pe1_2nu=None, quad=None) -> Measurement:
    """Templates, data and statistic for a catalogue experiment (or config / Experiment).

    ``statistic``: one of :data:`STATISTICS`, default :func:`default_statistic`.
    ``data``: ``"measured"`` (Eq. 34 only: N_meas = 142 of COHERENT 2017, the default there),
    ``"asimov"`` (default otherwise: the expected counts at ``truth_mu2``, per beam in
    (1e-10 mu_B)^2, zero by default; plus B_0n for Eq. 34 and the background for Poisson),
    or explicit counts (scalar, or per bin for Poisson).
    """
    from ..rates import binned_templates
    from ..quadrature import QuadratureConfig

    exp = _resolve_experiment(experiment)
    statistic = statistic or default_statistic(exp.name, exp.setup)
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    quad = quad or QuadratureConfig()
    templates = jax.jit(lambda p: binned_templates(exp, p, quad))({})
    sm, em = np.asarray(templates.sm), np.asarray(templates.em)
    flavours = beam_flavours(exp)
    full, names, sigmas = _statistic_setup(statistic, options, exp.setup)
    _check_sigmas(names, sigmas)
    if data is None:
        data = "measured" if statistic == "eq34" else "asimov"
    if isinstance(data, str):
        if data == "measured":
            if statistic != "eq34":
                raise ValueError(f"data='measured' is only defined for Eq. 34 (COHERENT CsI "
                                 f"2017); {exp.label} with {statistic!r} needs 'asimov' or "
                                 f"explicit counts")
            n_obs, label = CSI_2017_MEASURED, "measured"
        elif data == "asimov":
            mu2 = np.zeros(sm.shape[0]) if truth_mu2 is None else np.asarray(truth_mu2, float)
            if mu2.shape not in ((), (sm.shape[0],)):
                raise ValueError(f"truth_mu2 must be scalar or one value per beam "
                                 f"({sm.shape[0]}), got shape {mu2.shape}")
            counts = np.asarray(L.expected_counts(sm, em, mu2))
            if statistic == "poisson":
                n_obs = counts + np.asarray(full["background"], float)
            elif statistic == "eq34":
                n_obs = counts.sum() + float(full["b_0n"])
            else:
                n_obs = counts.sum()
            label = "asimov"
        else:
            raise ValueError(f"data must be 'measured', 'asimov' or counts, got {data!r}")
    else:
        n_obs, label = data, "custom"
    meas = custom_measurement(exp.name, flavours, sm, em, statistic=statistic, n_obs=n_obs,
                              setup=exp.setup, options=full, pe1_2nu=pe1_2nu)
    return replace(meas, data=label)


# ======================================================================================
# chi^2 of one measurement (the paper's functions)
# ======================================================================================
def _numeric(meas: Measurement) -> dict:
    """The measurement's numbers as float64 arrays (model arguments: no constant is baked
    into the compiled sampler, see :func:`sample_posterior`)."""
    o = meas.options
    keys = {"eq34": ("b_0n", "b_ss", "sigma_a1", "sigma_a2"),
            "eq35": ("sigma_stat", "sigma_sys"),
            "poisson": ("background", "sigma_norm"),
            "gaussian": ("sigma",)}[meas.statistic]
    out = {"sm": meas.sm, "em": meas.em, "n_obs": meas.n_obs,
           "nuisance_sigma": np.asarray(meas.nuisance_sigmas, dtype=float)}
    out.update({k: o[k] for k in keys})
    if meas.pe1_2nu is not None:
        out["pe1_2nu"] = meas.pe1_2nu
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def _structure(meas: Measurement) -> tuple:
    """What the compiled model depends on besides numbers."""
    return (meas.statistic, meas.flavours, meas.sm.shape, meas.options.get("denominator"),
            meas.pe1_2nu is not None, meas.slug, meas.nuisance_keys())


def _n_theor_core(statistic, num, mu2):
    """Expected signal counts: total for the one-count statistics, per bin for Poisson."""
    counts = L.expected_counts(num["sm"], num["em"], mu2)
    return counts if statistic == "poisson" else jnp.sum(counts)


def _chi2_core(statistic, denominator, num, mu2, a):
    n = _n_theor_core(statistic, num, mu2)
    if statistic == "eq34":
        return L.chi2_coherent_csi_nuisance(n, a[0], a[1], num["n_obs"], num["b_0n"],
                                            num["b_ss"], num["sigma_a1"], num["sigma_a2"])
    if statistic == "eq35":
        return L.chi2_single_nuisance_unprofiled(n, a[0], num["n_obs"], num["sigma_stat"],
                                                 num["sigma_sys"], denominator)
    if statistic == "poisson":
        expected = n * (1.0 + a[0]) + num["background"]
        return L.poisson_deviance(num["n_obs"], expected) + (a[0] / num["sigma_norm"]) ** 2
    return ((num["n_obs"] - n) / num["sigma"]) ** 2


def _pull_core(num, a):
    if a.shape[0] == 0:
        return jnp.zeros(())
    return jnp.sum((a / num["nuisance_sigma"]) ** 2)


def _profile_poisson(num, mu2, n_iter: int = 25):
    """Best-fit normalisation nuisance of the Poisson statistic at fixed mu^2: Newton
    iterations on the (convex) deviance plus pull, derivatives by autodiff of the same
    chi^2, a fixed number of steps (vectorises and differentiates, unlike a while loop),
    steps kept inside 1 + a >= 0.01. Returns a of shape (1,)."""
    def f(a):
        return _chi2_core("poisson", None, num, mu2, jnp.reshape(a, (1,)))

    d1, d2 = jax.grad(f), jax.grad(jax.grad(f))

    def step(_, a):
        return jnp.clip(a - d1(a) / d2(a), -0.99, 100.0)

    return jnp.reshape(jax.lax.fori_loop(0, n_iter, step, jnp.zeros(())), (1,))


def _chi2_profiled_core(statistic, denominator, num, mu2):
    n = _n_theor_core(statistic, num, mu2)
    if statistic == "eq34":
        return L.chi2_coherent_csi(n, num["n_obs"], num["b_0n"], num["b_ss"], num["sigma_a1"],
                                   num["sigma_a2"])
    if statistic == "eq35":
        return L.chi2_single_nuisance(n, num["n_obs"], num["sigma_stat"], num["sigma_sys"],
                                      denominator)
    if statistic == "poisson":
        return _chi2_core(statistic, denominator, num, mu2, _profile_poisson(num, mu2))
    return ((num["n_obs"] - n) / num["sigma"]) ** 2


def _mode_core(statistic, denominator, num, mu2):
    n = _n_theor_core(statistic, num, mu2)
    if statistic == "eq34":
        return jnp.stack(L.profile_coherent_csi_nuisances(n, num["n_obs"], num["b_0n"],
                                                          num["b_ss"], num["sigma_a1"],
                                                          num["sigma_a2"]))
    if statistic == "eq35":
        return jnp.atleast_1d(L.profile_single_nuisance(n, num["n_obs"], num["sigma_stat"],
                                                        num["sigma_sys"], denominator))
    if statistic == "poisson":
        return _profile_poisson(num, mu2)
    return jnp.zeros(0)


def measurement_chi2(meas: Measurement, mu2, a):
    """Unprofiled chi^2 of a measurement at per-beam mu^2 and nuisances ``a`` (shape (k,)).

    Eq. 34: :func:`cevns_jax.likelihood.chi2_coherent_csi_nuisance`; Eq. 35:
    :func:`cevns_jax.likelihood.chi2_single_nuisance_unprofiled`; Poisson:
    :func:`cevns_jax.likelihood.poisson_deviance` of n_obs against (1 + a) N + background
    plus (a / sigma_norm)^2; Gaussian: ((n_obs - N) / sigma)^2, no nuisance.
    """
    return _chi2_core(meas.statistic, meas.options.get("denominator"), _numeric(meas), mu2,
                      jnp.asarray(a))


def measurement_pull(meas: Measurement, a):
    """The Gaussian pulls sum (a_k / sigma_k)^2 contained in :func:`measurement_chi2`."""
    return _pull_core(_numeric(meas), jnp.asarray(a))


def measurement_chi2_profiled(meas: Measurement, mu2):
    """chi^2 with the nuisances profiled: analytic for Eq. 34/35 (the library's
    :func:`~cevns_jax.likelihood.chi2_coherent_csi` and
    :func:`~cevns_jax.likelihood.chi2_single_nuisance`), Newton iterations for Poisson
    (:func:`_profile_poisson`)."""
    return _chi2_profiled_core(meas.statistic, meas.options.get("denominator"), _numeric(meas),
                               mu2)


def nuisance_mode(meas: Measurement, mu2):
    """Best-fit nuisances of one measurement at fixed mu^2 (paper 000 Eqs. 34-35 in closed
    form via :mod:`cevns_jax.likelihood`; Newton iterations for Poisson). Shape (k,)."""
    return _mode_core(meas.statistic, meas.options.get("denominator"), _numeric(meas), mu2)


# ======================================================================================
# priors and the problem
# ======================================================================================
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


# ======================================================================================
# frequentist limits (chi^2 of the same problem)
# ======================================================================================
def _chi2_profiled_mu2(problem: PosteriorProblem, mu2_list):
    """Profiled chi^2 from per-measurement mu^2 vectors."""
    return sum(measurement_chi2_profiled(m, mu2) for m, mu2 in zip(problem.measurements,
                                                                     mu2_list))


def _single_parameter_limits(problem: PosteriorProblem, level: float = 2.71) -> dict:
    """One-parameter limits, other moduli 0 and phases 0 (paper 000 Table II convention).

    With the phases fixed, mu_b^2 is a homogeneous quadratic in the moduli (Eqs. 5-9), so
    along one axis mu_b^2(x) = x^2 mu_b^2(1): the per-beam coefficients are evaluated once
    with the model's own function and the scan only re-evaluates the cheap statistic.
    """
    out = {}
    base = _theta_from(problem, {})
    grid = np.geomspace(1e-4, 1e7, 111)
    for i, name in enumerate(problem.moduli_names):
        theta = dict(base)
        theta["moduli"] = base["moduli"].at[i].set(1.0)
        unit = [np.asarray(_mu2(problem, m, theta)) for m in problem.measurements]

        def chi2_of_x(x, unit=unit):
            return _chi2_profiled_mu2(problem, [x**2 * u for u in unit])

        values = np.asarray(jax.jit(jax.vmap(chi2_of_x))(jnp.asarray(grid)))
        c0 = float(jax.jit(chi2_of_x)(0.0))
        above = np.nonzero(np.isfinite(values) & (values - min(c0, values.min()) >= level))[0]
        if above.size == 0:
            out[name] = float("nan")  # no sensitivity (e.g. mu_tau at short baseline)
            continue
        lim = upper_limit(chi2_of_x, level, (0.0, float(grid[above[0]])), max_expand=40)
        out[name] = lim.value if lim.valid else float("nan")
    return out


def frequentist_limits(problem: PosteriorProblem, level: float = 2.71, *,
                       mode: str = "single", n_starts: int = 8, seed: int = 0) -> dict:
    """90 % C.L. (Delta chi^2 = ``level``) limits on each modulus from the profiled chi^2.

    ``mode="single"``: the other moduli and the phases at zero (paper 000 Table II).
    ``mode="profiled"``: Delta chi^2 minimised over the other moduli, the phases (and
    delta_CP when sampled) with ``n_starts`` L-BFGS starts (pure JAX, vmapped); NaN where
    a flat direction leaves the parameter unbounded (e.g. a reactor alone, 000 Eqs. 13-14).
    Limits via :func:`cevns_jax.inference.limits.upper_limit`. Returns ``{name: value}``.
    """
    require_x64()
    if mode == "single":
        return _single_parameter_limits(problem, level)
    if mode != "profiled":
        raise ValueError(f"mode must be 'single' or 'profiled', got {mode!r}")
    names = problem.moduli_names
    phases = problem.phase_names
    rng = np.random.default_rng(seed)
    upper = float(problem.prior.upper)
    out = {}
    # global minimum over everything, to measure Delta chi^2 from
    chi2_min = best_fit(problem, n_starts=n_starts, seed=seed).value
    for i, name in enumerate(names):
        others = [j for j in range(len(names)) if j != i]
        starts = np.concatenate([np.sqrt(rng.uniform(0, upper, (n_starts, len(others)))),
                                 rng.uniform(0, 2 * np.pi, (n_starts, len(phases)))], axis=1)
        starts[0] = 0.0
        starts = jnp.asarray(starts)

        def chi2_fixed(x, u, i=i, others=tuple(others)):
            moduli = jnp.zeros(len(names)).at[i].set(x)
            moduli = moduli.at[jnp.asarray(others)].set(u[:len(others)] ** 2)
            values = {"moduli": moduli}
            values.update({p: u[len(others) + k] for k, p in enumerate(phases)})
            return chi2_profiled(problem, _theta_from(problem, values))

        def chi2_of_x(x, starts=starts, chi2_fixed=chi2_fixed):
            runs = jax.vmap(lambda u0: profile_nuisances(chi2_fixed, x, u0, gtol=1e-8,
                                                         ftol=1e-14))(starts)
            return jnp.min(runs.value)

        f = jax.jit(chi2_of_x)
        if float(f(100.0 * upper)) - chi2_min < level:
            out[name] = float("nan")
            continue
        lim = upper_limit(chi2_of_x, level, (0.0, upper), chi2_min=chi2_min, n_grid=24,
                          max_expand=20)
        out[name] = lim.value if lim.valid else float("nan")
    return out


# ======================================================================================
# best fit
# ======================================================================================
def best_fit(problem: PosteriorProblem, *, n_starts: int = 6, seed: int = 0):
    """Multi-start L-BFGS minimum (:func:`cevns_jax.inference.fit.minimize`) of the
    profiled chi^2 (:func:`chi2_profiled`) over the moduli (>= 0, squared map) and phases
    (periodic); start 0 is the origin, the others uniform in the prior box. Returns the
    FitResult (params ``moduli`` (3,) and phases by name). The starts run in a Python loop
    (``vectorize=False``): for a few starts that compiles in a third of the time."""
    require_x64()
    upper = float(problem.prior.upper) if problem.prior.upper is not None else 1.0
    transforms = {"moduli": MODULUS}
    ranges = {"moduli": (np.zeros(3), np.full(3, upper))}
    for p in problem.phase_names:
        transforms[p] = PHASE
        ranges[p] = (0.0, 2 * np.pi)
    starts = uniform_starts(n_starts, ranges, seed=seed)
    starts[0]["moduli"] = np.full(3, 1e-6)

    def fun(params):
        return chi2_profiled(problem, _theta_from(problem, params))

    return minimize(fun, starts, transforms, vectorize=False)


# ======================================================================================
# the numpyro model
# ======================================================================================
_PRIOR_CODES = {name: float(i) for i, name in enumerate(PRIOR_KINDS)}
_NUISANCE_CODES = {name: float(i) for i, name in enumerate(NUISANCE_PRIORS)}


def _model_structure(problem: PosteriorProblem, include_likelihood: bool) -> tuple:
    """Hashable description of everything the compiled model depends on besides numbers."""
    return (problem.model, problem.sample_delta_cp, problem.parameterization,
            bool(include_likelihood), tuple(_structure(m) for m in problem.measurements))


def model_data(problem: PosteriorProblem) -> dict:
    """The numbers of ``problem`` as a pytree of float64 arrays: the model's argument."""
    prior = problem.prior
    if prior.upper is None:
        raise ValueError("problem.prior.upper is None: build problems with build_problem")
    f = lambda v: jnp.asarray(np.asarray(v, dtype=np.float64))  # noqa: E731
    return {
        "prior": {"upper": f(prior.upper), "cutoff": f(prior.lower_cutoff),
                  "kind": f(_PRIOR_CODES[prior.moduli]),
                  "nuisance_kind": f(_NUISANCE_CODES[prior.nuisance]),
                  "ring_width": f(prior.ring_width)},
        "osc": [f(v) for v in problem.osc],
        "measurements": [{k: f(v) for k, v in _numeric(m).items()}
                         for m in problem.measurements],
    }


def _moduli_from_unit(u, prior):
    """Inverse prior CDFs: u ~ Uniform(0, 1)^3 -> moduli under the selected prior.

    flat: upper u; flat_in_square: upper sqrt(u) (density 2x / upper^2); log_flat:
    cutoff (upper / cutoff)^u. The kind is a number in the data (one compiled model serves
    every prior); all branches are finite, so ``where`` keeps gradients clean.
    """
    upper, cutoff, kind = prior["upper"], prior["cutoff"], prior["kind"]
    flat = upper * u
    square = upper * jnp.sqrt(u)
    logflat = cutoff * jnp.exp(u * jnp.log(upper / cutoff))
    return jnp.where(kind == 0.0, flat, jnp.where(kind == 1.0, square, logflat))


def _unit_from_moduli(moduli, prior: Prior):
    """Inverse of :func:`_moduli_from_unit` (NumPy, for initial values)."""
    m = np.asarray(moduli, dtype=float)
    upper = float(prior.upper)
    if prior.moduli == "flat":
        return m / upper
    if prior.moduli == "flat_in_square":
        return (m / upper) ** 2
    return np.log(m / prior.lower_cutoff) / np.log(upper / prior.lower_cutoff)


def _sample_phase(name: str, ring_width):
    """Uniform angle atan2(v_y, v_x) of a 2-vector with a ring density (module docstring)."""
    v = numpyro.sample(f"{name}_vec", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
    r = jnp.sqrt(jnp.sum(v**2))
    # replace the Normal(0, I) base density by the ring exp(-(r - 1)^2 / 2 w^2)
    numpyro.factor(f"{name}_ring", -0.5 * ((r - 1.0) / ring_width) ** 2 + 0.5 * r**2)
    return numpyro.deterministic(name, jnp.mod(jnp.arctan2(v[1], v[0]), 2 * jnp.pi))


def _sample_nuisances(structure, parameterization, num, mu2, nuisance_kind, with_data):
    """Nuisances a (shape (k,)) of one measurement, prior and reparameterisation included.

    eta ~ Normal(0, sigma) is the Gaussian coordinate; a = eta (Gaussian prior) or
    e^eta - 1 (log-normal). ``whitened``: z ~ Normal(0, 1), eta = m + C z with (m, C C^T)
    the Gaussian approximation of p(eta | theta) from one Newton step of the data term at
    a = 0 (gradient and Hessian by autodiff); the factor adds log N(eta; 0, sigma) +
    log|det C| - log N(z; 0, 1), so the density of eta is exactly its prior.
    """
    statistic, _, _, denominator, _, slug, keys = structure
    k = len(keys)
    if k == 0:
        return jnp.zeros(0)
    sigma = num["nuisance_sigma"]
    if parameterization == "centered":
        eta = numpyro.sample(f"eta__{slug}", dist.Normal(0.0, sigma).to_event(1))
    else:
        if with_data:
            def data_term(a):
                return (_chi2_core(statistic, denominator, num, mu2, a) - _pull_core(num, a))

            zero = jnp.zeros(k)
            grad = jax.grad(data_term)(zero)
            hess = jax.hessian(data_term)(zero)
            half_hess = 0.25 * (hess + hess.T)
            # -log p(a | theta) ~ data_term / 2 + sum(a^2 / 2 sigma^2): one Newton step from
            # a = 0 (exact for Eqs. 34-35, whose data term is quadratic in a)
            precision_a = half_hess + jnp.diag(1.0 / sigma**2)
            mode_a = -jnp.linalg.solve(precision_a, 0.5 * grad)
            # log-normal: eta = log(1 + a); map the mode and the data curvature with the
            # Jacobian da/deta = 1 + a at the mode (Gauss-Newton, always positive definite)
            scale = 1.0 + jnp.clip(mode_a, -0.99, None)
            precision_eta = scale[:, None] * half_hess * scale[None, :] + jnp.diag(1.0 / sigma**2)
            lognormal = nuisance_kind != 0.0
            mean = jnp.where(lognormal, jnp.log(scale), mode_a)
            precision = jnp.where(lognormal, precision_eta, precision_a)
        else:
            precision = jnp.diag(1.0 / sigma**2)
            mean = jnp.zeros(k)
        chol = jnp.linalg.cholesky(precision)
        z = numpyro.sample(f"z__{slug}", dist.Normal(0.0, 1.0).expand([k]).to_event(1))
        eta = mean + jax.scipy.linalg.solve_triangular(chol.T, z, lower=False)
        numpyro.factor(f"nuisance_prior__{slug}",
                       jnp.sum(dist.Normal(0.0, sigma).log_prob(eta))
                       - jnp.sum(jnp.log(jnp.diag(chol)))
                       - jnp.sum(dist.Normal(0.0, 1.0).log_prob(z)))
    return jnp.where(nuisance_kind == 0.0, eta, jnp.expm1(eta))


def _make_model(structure: tuple) -> Callable:
    model_kind, sample_delta_cp, parameterization, with_data, measurements = structure
    phases = (("xi1", "xi3", "delta_cp") if sample_delta_cp else ("xi1", "xi3")) \
        if model_kind == "tmm" else ()

    def model(data):
        prior = data["prior"]
        u = numpyro.sample("moduli_unit", dist.Uniform(0.0, 1.0).expand([3]).to_event(1))
        moduli = numpyro.deterministic("moduli", _moduli_from_unit(u, prior))
        theta = {name: _sample_phase(name, prior["ring_width"]) for name in phases}
        osc = OscillationParameters(*data["osc"])
        if sample_delta_cp:
            osc = osc._replace(delta_cp=theta["delta_cp"])
        total = 0.0
        for meas_structure, num in zip(measurements, data["measurements"]):
            statistic, flavours, _, denominator, has_pe1, slug, keys = meas_structure
            if model_kind == "tmm":
                mu2 = tmm_mu2(flavours, moduli, theta["xi1"], theta["xi3"], osc,
                              pe1_2nu=num["pe1_2nu"] if has_pe1 else None)
            else:
                mu2 = flavour_mu2(flavours, moduli, osc)
            a = _sample_nuisances(meas_structure, parameterization, num, mu2,
                                  prior["nuisance_kind"], with_data)
            for key, value in zip(keys, a):
                numpyro.deterministic(key, value)
            chi2 = _chi2_core(statistic, denominator, num, mu2, a)
            total = total + chi2
            if with_data:
                numpyro.factor(f"chi2__{slug}", -0.5 * (chi2 - _pull_core(num, a)))
        numpyro.deterministic("chi2", total)

    return model


def numpyro_model(problem: PosteriorProblem, *, include_likelihood: bool = True):
    """The numpyro model of ``problem`` and its argument: ``(model, data)``; run it as
    ``model(data)`` (e.g. ``NUTS(model)`` with ``mcmc.run(key, data)``).

    Sample sites: ``moduli_unit`` (3,) (uniform; the prior enters through the inverse CDF
    :func:`_moduli_from_unit`), ``<phase>_vec`` (2,) per phase, ``z__<exp>`` (whitened) or
    ``eta__<exp>`` (centered) nuisances. Deterministic sites: ``moduli`` (3,), phases by
    name, nuisances ``<a>__<exp>``, ``chi2`` (the paper's total chi^2 at the sample). One
    factor per experiment: ``chi2__<exp>`` = -(chi2 - pull) / 2.
    ``include_likelihood=False`` gives the prior (prior-sensitivity studies).
    """
    return _make_model(_model_structure(problem, include_likelihood)), model_data(problem)


# ======================================================================================
# sampling and diagnostics
# ======================================================================================
@dataclass
class PosteriorResult:
    """NUTS output with diagnostics.

    ``samples``: {name: (num_chains, num_samples)} for every scalar parameter (moduli by
    name, phases in [0, 2 pi), nuisances ``<a>__<exp>``) and ``chi2``; ``diagnostics``:
    per parameter {r_hat, ess, ess_q90, ess_per_s}, plus ``divergences``,
    ``tree_depth_saturated``, ``mean_accept_prob``, ``mean_num_steps``, ``step_size``;
    ``timing``: warmup_s, sampling_s, total_s (compilation included); ``converged`` and
    ``problems``: the diagnostic verdict; ``extra``: sampler fields per transition.
    """

    samples: dict
    parameters: tuple
    nuisances: tuple
    diagnostics: dict
    timing: dict
    converged: bool
    problems: tuple
    settings: dict
    problem: dict
    best_fit: dict
    extra: dict = field(default_factory=dict)

    @property
    def num_chains(self) -> int:
        return int(next(iter(self.samples.values())).shape[0])

    @property
    def num_samples(self) -> int:
        return int(next(iter(self.samples.values())).shape[1])

    def flat(self, name: str) -> np.ndarray:
        """All draws of ``name``, chains concatenated."""
        if name not in self.samples:
            raise KeyError(f"no parameter {name!r}; have {sorted(self.samples)}")
        return np.asarray(self.samples[name]).reshape(-1)

    @property
    def prior_upper(self) -> float:
        return float(self.problem["prior"]["upper"])

    def credible_upper_limits(self, level: float = 0.9) -> dict:
        return credible_upper_limits(self, level)

    @property
    def prior_dominated(self) -> dict:
        """{modulus: True} where the prior box, not the data, sets the credible limit: more
        than 0.2 % of the draws in the top 10 % of the box (a likelihood-bounded modulus has
        essentially none there; 4000 draws give ~8 at that level), or a 90 % limit above
        80 % of the box. Typical causes: a direction the data do not constrain, or a
        likelihood that flattens out at large moduli (Gaussian nuisance in Eq. 34)."""
        upper = self.prior_upper
        lims = credible_upper_limits(self, 0.9)
        moduli = [p for p in self.parameters if p in TMM_MODULI + FLAVOUR_MODULI]
        edge = {p: float(np.mean(self.flat(p) > 0.9 * upper)) for p in moduli}
        return {p: bool(edge[p] > 0.002 or lims[p]["value"] > 0.8 * upper) for p in moduli}


def _ess_indicator(x, q):
    ind = (x <= q).astype(float)
    if np.all(ind == ind.flat[0]):
        return float(x.size)
    return float(effective_sample_size(ind))


def diagnose(samples: Mapping, circular: Sequence[str] = (), *, wall_s: float | None = None,
             level: float = 0.9) -> dict:
    """Split R-hat, ESS (numpyro.diagnostics) and ESS of the ``level``-quantile indicator per
    parameter; ``samples`` {name: (chains, draws)}. Circular parameters use cos and sin
    (max R-hat, min ESS). ``ess_per_s`` when ``wall_s`` is given."""
    out = {}
    for name, x in samples.items():
        x = np.asarray(x, dtype=float)
        if x.ndim != 2:
            raise ValueError(f"samples[{name!r}] must have shape (chains, draws), got {x.shape}")
        parts = [np.cos(x), np.sin(x)] if name in circular else [x]
        rhat, ess = -np.inf, np.inf
        for p in parts:
            if np.ptp(p) == 0:  # constant (e.g. a fixed value): nothing to diagnose
                continue
            rhat = max(rhat, float(split_gelman_rubin(p)))
            ess = min(ess, float(effective_sample_size(p)))
        if not np.isfinite(rhat):
            rhat = float("nan")
        if not np.isfinite(ess):
            ess = float("nan")
        q = np.quantile(x, level)
        entry = {"r_hat": rhat, "ess": ess,
                 "ess_q90": float("nan") if name in circular else _ess_indicator(x, q)}
        if wall_s:
            entry["ess_per_s"] = ess / wall_s
        out[name] = entry
    return out


def _initial_values(problem: PosteriorProblem, fit, rng: np.random.Generator,
                    jitter: float) -> dict:
    """Constrained init values for one chain: best fit moved into the box and jittered."""
    prior = problem.prior
    upper = float(prior.upper)
    moduli = np.asarray(fit.params["moduli"], dtype=float)
    floor = max(0.01 * upper, 2.0 * prior.lower_cutoff) if prior.moduli == "log_flat" \
        else 0.01 * upper
    moduli = moduli + jitter * 0.05 * upper * np.abs(rng.standard_normal(moduli.shape))
    moduli = np.clip(moduli, floor, 0.98 * upper)
    values = {"moduli_unit": jnp.asarray(_unit_from_moduli(moduli, prior))}
    phases = {}
    for p in problem.phase_names:
        phases[p] = float(fit.params[p]) + jitter * 0.3 * rng.standard_normal()
        values[f"{p}_vec"] = jnp.asarray([math.cos(phases[p]), math.sin(phases[p])])
    theta = _theta_from(problem, {"moduli": moduli, **phases})
    for meas in problem.measurements:
        n = len(meas.nuisance_names)
        if n == 0:
            continue
        if problem.parameterization == "whitened":
            values[f"z__{meas.slug}"] = jnp.asarray(jitter * 0.3 * rng.standard_normal(n))
        else:
            a = np.asarray(nuisance_mode(meas, _mu2(problem, meas, theta)), float).reshape(n)
            eta = a if prior.nuisance == "gaussian" else np.log1p(np.maximum(a, -0.9))
            eta = eta + jitter * 0.3 * np.asarray(meas.nuisance_sigmas) * rng.standard_normal(n)
            values[f"eta__{meas.slug}"] = jnp.asarray(eta)
    return values


def _as_key(key):
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    if isinstance(key, jax.Array):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            if key.shape != ():
                raise ValueError(f"key must be a single PRNG key, got shape {key.shape}")
            return key
        if key.shape == (2,) and key.dtype == jnp.uint32:  # legacy PRNGKey
            return jax.random.wrap_key_data(key)
    raise TypeError(f"key must be a jax PRNG key or an int seed, got {key!r}")


#: Compiled samplers keyed by model structure and sampler settings (see sample_posterior).
_COMPILED: dict = {}


def clear_compiled_cache() -> None:
    """Forget the compiled samplers kept by :func:`sample_posterior`."""
    _COMPILED.clear()


class _Sampler:
    """Ahead-of-time compiled pieces of one NUTS configuration (all take the data pytree)."""

    def __init__(self, structure, settings, chain_values, data, keys):
        num_chains, num_warmup, num_samples, chunk_len, dense_mass, target, depth = settings
        model = _make_model(structure)
        kernel = NUTS(model, init_strategy=init_to_value(values=jax.tree.map(
            lambda x: x[0], chain_values)), dense_mass=dense_mass, target_accept_prob=target,
            max_tree_depth=depth)
        t0 = time.perf_counter()
        self.unconstrain = jax.jit(jax.vmap(
            lambda v, d: unconstrain_fn(model, (d,), {}, v), in_axes=(0, None))).lower(
            chain_values, data).compile()
        params = self.unconstrain(chain_values, data)
        # kernel.init is traced once (numpyro vmaps its sample function over the batch of
        # keys, which is how MCMC(chain_method="vectorized") runs chains); AOT compilation
        # guarantees it is never traced again.
        self.init = jax.jit(lambda k, p, d: kernel.init(k, num_warmup, p, model_args=(d,),
                                                        model_kwargs={})).lower(
            keys, params, data).compile()
        state = self.init(keys, params, data)

        def run_chunk(s, d):
            def body(carry, _):
                new = kernel.sample(carry, (d,), {})
                return new, (new.z, new.diverging, new.num_steps, new.accept_prob,
                             new.potential_energy)
            return jax.lax.scan(body, s, None, length=chunk_len)

        self.chunk = jax.jit(run_chunk).lower(state, data).compile()

        def post(z, d):
            return kernel.postprocess_fn((d,), {})(z)

        z_shape = jax.tree.map(lambda x: jax.ShapeDtypeStruct(
            (num_chains, num_samples) + x.shape[1:], x.dtype), params)
        self.post = jax.jit(jax.vmap(jax.vmap(post, in_axes=(0, None)), in_axes=(0, None))
                            ).lower(z_shape, data).compile()
        self.compile_s = time.perf_counter() - t0


def sample_posterior(problem: PosteriorProblem, key, *, num_samples: int = 1000,
                     num_warmup: int = 1000, num_chains: int = 4, target_accept: float = 0.95,
                     dense_mass: bool = True, max_tree_depth: int = 10, jitter: float = 1.0,
                     min_ess: float | None = None, max_rhat: float = 1.01,
                     include_likelihood: bool = True, fit=None,
                     warn: bool = True) -> PosteriorResult:
    """NUTS posterior of ``problem`` with ``num_chains`` vectorised chains on one device.

    ``key``: a JAX PRNG key (or an int seed); it is split into the init-jitter key and the
    sampler key, so the same key gives the same samples. ``fit``: a precomputed
    :func:`best_fit` (computed otherwise). Chain 0 starts at the best fit (moved inside the
    prior box), the others are jittered around it (``jitter`` scales the perturbation; 0:
    all at the best fit); the values are mapped to numpyro's unconstrained space and used as
    the kernel's ``init_to_value`` / initial parameters.

    The NUTS kernel is numpyro's; the chains are vectorised with ``vmap`` on one device (as
    ``MCMC(chain_method="vectorized")``), and the transitions run in jitted chunks of
    gcd(num_warmup, num_samples) steps compiled ahead of time. All numbers of the problem
    (templates, data, prior bounds and kind, oscillation parameters) are arguments of the
    compiled code, so problems with the same structure (model, statistics, experiments'
    shapes, parameterisation) and sampler settings reuse one compilation
    (:func:`clear_compiled_cache` forgets them); ``timing`` reports compile, warmup and
    sampling times separately.

    Diagnostics are computed on every run; a :class:`ConvergenceWarning` is issued (unless
    ``warn=False``) and ``converged`` is False when R-hat > ``max_rhat``, any divergence
    occurs, an ESS < ``min_ess`` (default 100 per chain) or the tree depth saturates in
    more than 1 % of the transitions.
    """
    require_x64()
    for name, value in (("num_samples", num_samples), ("num_warmup", num_warmup),
                        ("num_chains", num_chains), ("max_tree_depth", max_tree_depth)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0.0 < target_accept < 1.0:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
    if not jitter >= 0:
        raise ValueError(f"jitter must be >= 0, got {jitter!r}")
    key = _as_key(key)
    init_key, run_key = jax.random.split(key)
    min_ess = 100.0 * num_chains if min_ess is None else float(min_ess)

    t0 = time.perf_counter()
    if fit is None:
        fit = best_fit(problem)
    t_fit = time.perf_counter() - t0
    structure = _model_structure(problem, include_likelihood)
    data = model_data(problem)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(init_key)).ravel())
    chain_values = [_initial_values(problem, fit, rng, jitter if c > 0 else 0.0)
                    for c in range(num_chains)]
    chain_values = jax.tree.map(lambda *xs: jnp.stack(xs), *chain_values)
    keys = jax.random.split(run_key, num_chains)
    chunk_len = math.gcd(int(num_warmup), int(num_samples))
    settings = (int(num_chains), int(num_warmup), int(num_samples), chunk_len, bool(dense_mass),
                float(target_accept), int(max_tree_depth))
    cache_key = (structure, settings)
    cached = cache_key in _COMPILED
    if not cached:
        _COMPILED[cache_key] = _Sampler(structure, settings, chain_values, data, keys)
    sampler = _COMPILED[cache_key]
    t1 = time.perf_counter()
    state = sampler.init(keys, sampler.unconstrain(chain_values, data), data)
    for _ in range(num_warmup // chunk_len):
        state, _ = sampler.chunk(state, data)
    jax.block_until_ready(state)
    t2 = time.perf_counter()
    collected = []
    for _ in range(num_samples // chunk_len):
        state, out = sampler.chunk(state, data)
        collected.append(out)
    jax.block_until_ready(collected)
    t3 = time.perf_counter()
    # (draws, chains, ...) -> (chains, draws, ...)
    z, diverging, num_steps, accept_prob, potential = jax.tree.map(
        lambda *parts: jnp.swapaxes(jnp.concatenate(parts, axis=0), 0, 1), *collected)
    raw = {k: np.asarray(v) for k, v in sampler.post(z, data).items()}
    t4 = time.perf_counter()
    fields = {"diverging": np.asarray(diverging), "num_steps": np.asarray(num_steps),
              "accept_prob": np.asarray(accept_prob), "potential_energy": np.asarray(potential)}
    step_size = np.asarray(state.adapt_state.step_size).reshape(num_chains)

    samples = {}
    for i, n in enumerate(problem.moduli_names):
        samples[n] = raw["moduli"][..., i]
    for p in problem.phase_names:
        samples[p] = raw[p]
    for key_name in problem.nuisance_names:
        samples[key_name] = raw[key_name]
    samples["chi2"] = raw["chi2"]

    sampling_s = t3 - t2
    diag = diagnose({k: v for k, v in samples.items() if k != "chi2"},
                    circular=problem.phase_names, wall_s=sampling_s)
    divergences = int(np.sum(fields["diverging"]))
    depth_limit = 2**max_tree_depth - 1
    saturated = float(np.mean(fields["num_steps"] >= depth_limit))
    n_grad = int(np.sum(fields["num_steps"]))
    min_ess_value = float(np.nanmin([d["ess"] for d in diag.values()]))
    diagnostics = {
        "parameters": diag,
        "divergences": divergences,
        "divergences_per_chain": np.sum(fields["diverging"], axis=1).astype(int).tolist(),
        "tree_depth_saturated": saturated,
        "mean_accept_prob": float(np.mean(fields["accept_prob"])),
        "mean_num_steps": float(np.mean(fields["num_steps"])),
        "step_size_per_chain": step_size.tolist(),
        "num_gradient_evaluations": n_grad,
        "max_r_hat": float(np.nanmax([d["r_hat"] for d in diag.values()])),
        "min_ess": min_ess_value,
        "min_ess_per_s": min_ess_value / sampling_s,
        "min_ess_per_1000_gradients": 1000.0 * min_ess_value / max(n_grad, 1),
        "edge_mass": edge_mass(samples, problem),
        "thresholds": {"max_r_hat": max_rhat, "min_ess": min_ess, "max_divergences": 0,
                       "max_tree_depth_saturated": 0.01},
    }
    problems = []
    bad_rhat = {k: round(d["r_hat"], 4) for k, d in diag.items() if d["r_hat"] > max_rhat}
    if bad_rhat:
        problems.append(f"R-hat > {max_rhat}: {bad_rhat}")
    if divergences:
        problems.append(f"{divergences} divergent transitions (per chain "
                        f"{diagnostics['divergences_per_chain']})")
    low_ess = {k: round(d["ess"], 1) for k, d in diag.items() if d["ess"] < min_ess}
    if low_ess:
        problems.append(f"ESS < {min_ess:g}: {low_ess}")
    if saturated > 0.01:
        problems.append(f"maximum tree depth {max_tree_depth} reached in "
                        f"{100 * saturated:.1f} % of transitions")
    converged = not problems
    if problems and warn:
        warnings.warn(f"NUTS diagnostics failed for {problem.label}: " + "; ".join(problems),
                      ConvergenceWarning, stacklevel=2)
    best = {n: float(v) for n, v in zip(problem.moduli_names, np.asarray(fit.params["moduli"]))}
    best.update({p: float(fit.params[p]) for p in problem.phase_names})
    best["chi2_min"] = float(fit.value)
    best["valid"] = bool(fit.valid)
    settings = {"num_samples": num_samples, "num_warmup": num_warmup, "num_chains": num_chains,
                "chain_method": "vectorized", "target_accept": target_accept,
                "dense_mass": dense_mass, "max_tree_depth": max_tree_depth, "jitter": jitter,
                "key_data": np.asarray(jax.random.key_data(key)).ravel().tolist(),
                "include_likelihood": include_likelihood, "chunk_length": chunk_len,
                "jax": jax.__version__, "numpyro": numpyro.__version__,
                "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()]}
    timing = {"best_fit_s": t_fit, "compile_s": 0.0 if cached else sampler.compile_s,
              "compile_cached": cached, "warmup_s": t2 - t1, "sampling_s": sampling_s,
              "postprocess_s": t4 - t3, "total_s": time.perf_counter() - t0}
    return PosteriorResult(samples, problem.parameter_names, problem.nuisance_names, diagnostics,
                           timing, converged, tuple(problems), settings, problem.to_json(),
                           best, fields)


def edge_mass(samples: Mapping, problem: PosteriorProblem, fraction: float = 0.1) -> dict:
    """Posterior fraction of each modulus in the top ``fraction`` of the prior box.

    A likelihood-bounded parameter has ~0 there; a value comparable to ``fraction`` (the
    prior's own share for a flat prior) means the box, not the data, sets the limit.
    """
    upper = float(problem.prior.upper)
    return {n: float(np.mean(np.asarray(samples[n]) > (1.0 - fraction) * upper))
            for n in problem.moduli_names if n in samples}


# ======================================================================================
# summaries: credible limits, 2-D regions, comparison with the chi^2
# ======================================================================================
def credible_upper_limits(result: PosteriorResult, level: float = 0.9) -> dict:
    """One-sided ``level`` credible upper limit of every modulus and nuisance:
    {name: {"value", "mcse"}}. The Monte Carlo error uses the ESS of the quantile indicator:
    ``mcse = (q(p + s) - q(p - s)) / 2``, ``s = sqrt(p (1 - p) / ESS_ind)``."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    out = {}
    for name in result.samples:
        if name in ("xi1", "xi3", "delta_cp", "chi2"):
            continue
        x = np.asarray(result.samples[name], float)
        q = float(np.quantile(x, level))
        ess = _ess_indicator(x, q)
        s = math.sqrt(level * (1 - level) / max(ess, 1.0))
        lo, hi = np.quantile(x, [max(level - s, 0.0), min(level + s, 1.0)])
        out[name] = {"value": q, "mcse": float(0.5 * (hi - lo)), "ess_indicator": ess}
    return out


@dataclass(frozen=True)
class CredibleRegion2D:
    """Highest-posterior-density regions on a histogram grid.

    ``density[iy, ix]`` (normalised to unit integral) on bin centres ``x``, ``y``;
    ``thresholds[level]`` the density above which the region of posterior probability
    ``level`` lies (the HPD set of bins).
    """

    x_edges: np.ndarray
    y_edges: np.ndarray
    density: np.ndarray
    thresholds: dict

    @property
    def x(self):
        return 0.5 * (self.x_edges[1:] + self.x_edges[:-1])

    @property
    def y(self):
        return 0.5 * (self.y_edges[1:] + self.y_edges[:-1])

    def padded(self):
        """(x, y, density) with the grid edges added (nearest-bin values), for contour plots
        that reach the edges of the range (e.g. a modulus' bound at zero)."""
        x = np.concatenate([[self.x_edges[0]], self.x, [self.x_edges[-1]]])
        y = np.concatenate([[self.y_edges[0]], self.y, [self.y_edges[-1]]])
        return x, y, np.pad(self.density, 1, mode="edge")

    def contains(self, x: float, y: float, level: float = 0.9) -> bool:
        """Whether (x, y) lies in the ``level`` HPD region (False outside the grid)."""
        ix = np.searchsorted(self.x_edges, x, side="right") - 1
        iy = np.searchsorted(self.y_edges, y, side="right") - 1
        if not (0 <= ix < self.density.shape[1] and 0 <= iy < self.density.shape[0]):
            return False
        return bool(self.density[iy, ix] >= self.thresholds[level])

    def area(self, level: float = 0.9) -> float:
        cell = np.outer(np.diff(self.y_edges), np.diff(self.x_edges))
        return float(np.sum(cell[self.density >= self.thresholds[level]]))


def credible_region_2d(x, y, levels=(0.5, 0.9), *, bins: int = 40, range=None,
                       smooth: float = 1.0) -> CredibleRegion2D:
    """HPD credible regions of the joint draws (x, y) on a ``bins`` x ``bins`` histogram.

    The histogram (optionally smoothed by a Gaussian of ``smooth`` bins, reflecting at the
    grid edges so that mass piled at a modulus' bound zero stays inside) is sorted by
    density; the region of level p is the set of highest-density bins holding fraction p.
    ``range`` defaults to [min, max] of the draws (lower end 0 for non-negative draws).
    """
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    if x.shape != y.shape or x.size < 10:
        raise ValueError(f"x and y need the same number (>= 10) of draws, got {x.size}, {y.size}")
    levels = tuple(float(p) for p in levels)
    if not all(0 < p < 1 for p in levels):
        raise ValueError(f"levels must be in (0, 1), got {levels!r}")
    if range is None:
        range = [(0.0 if v.min() >= 0 else v.min(), v.max()) for v in (x, y)]
    hist, xe, ye = np.histogram2d(x, y, bins=bins, range=range)
    hist = hist.T  # (ny, nx)
    if smooth:
        from scipy.ndimage import gaussian_filter

        hist = gaussian_filter(hist, smooth, mode="reflect")
    cell = np.outer(np.diff(ye), np.diff(xe))
    density = hist / (hist.sum() * cell)
    mass = (density * cell).ravel()
    order = np.argsort(density.ravel())[::-1]
    cum = np.cumsum(mass[order])
    thresholds = {}
    for p in levels:
        i = min(int(np.searchsorted(cum, p)), order.size - 1)
        thresholds[p] = float(density.ravel()[order[i]])
    return CredibleRegion2D(xe, ye, density, thresholds)


def derived_mu2(problem: PosteriorProblem, result: PosteriorResult) -> dict:
    """Per-beam mu_b^2 ((1e-10 mu_B)^2) of every draw: {measurement label: (chains, draws,
    n_beams)}, from the same :func:`cevns_jax.effective_moments` functions."""
    values = {n: jnp.asarray(result.samples[n]) for n in problem.parameter_names}

    def one(vals):
        theta = _theta_from(problem, vals)
        return [_mu2(problem, m, theta) for m in problem.measurements]

    f = jax.jit(jax.vmap(jax.vmap(one)))
    out = f(values)
    return {m.label: np.asarray(v) for m, v in zip(problem.measurements, out)}


def compare_limits(result: PosteriorResult, frequentist: Mapping | None = None,
                   level: float = 0.9) -> list:
    """Rows {parameter, credible, mcse, frequentist..., ratio, prior_dominated}."""
    cred = credible_upper_limits(result, level)
    dominated = result.prior_dominated
    rows = []
    for name in result.parameters:
        if name not in cred:
            continue
        row = {"parameter": name, "credible": cred[name]["value"], "mcse": cred[name]["mcse"],
               "r_hat": result.diagnostics["parameters"][name]["r_hat"],
               "ess": result.diagnostics["parameters"][name]["ess"],
               "prior_dominated": dominated.get(name, False)}
        for label, lims in (frequentist or {}).items():
            row[label] = float(lims.get(name, float("nan")))
        rows.append(row)
    return rows


def format_comparison(rows: Sequence[Mapping]) -> str:
    """Markdown table of :func:`compare_limits` rows (units 1e-10 mu_B)."""
    if not rows:
        return ""
    freq = [k for k in rows[0] if k not in ("parameter", "credible", "mcse", "r_hat", "ess",
                                            "prior_dominated")]
    columns = (["parameter", "90% credible [1e-10 mu_B]", "MC error"]
               + [f"90% C.L. {k}" for k in freq] + ["R-hat", "ESS", "prior-dominated"])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = ([r["parameter"], f"{r['credible']:.4g}", f"{r['mcse']:.2g}"]
                 + [f"{r[k]:.4g}" for k in freq]
                 + [f"{r['r_hat']:.4f}", f"{r['ess']:.0f}",
                    "yes" if r["prior_dominated"] else "no"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ======================================================================================
# plots
# ======================================================================================
_LABELS = {"Lambda1": r"$|\Lambda_1|$", "Lambda2": r"$|\Lambda_2|$",
           "Lambda3": r"$|\Lambda_3|$", "mu_e": r"$\mu_{\nu_e}$",
           "mu_mu": r"$\mu_{\nu_\mu}$", "mu_tau": r"$\mu_{\nu_\tau}$",
           "xi1": r"$\xi_1$", "xi3": r"$\xi_3$", "delta_cp": r"$\delta_{CP}$"}


def parameter_label(name: str) -> str:
    """Axis label with units: moduli in 1e-10 mu_B, phases in rad, nuisances dimensionless."""
    if name in TMM_MODULI + FLAVOUR_MODULI:
        return _LABELS[name] + r" [$10^{-10}\,\mu_B$]"
    if name in ("xi1", "xi3", "delta_cp"):
        return _LABELS[name] + " [rad]"
    if "__" in name:
        nuis, exp = name.split("__", 1)
        return f"${nuis[0]}_{{{nuis[1:]}}}$ ({exp.replace('_', ' ')})" if len(nuis) > 1 \
            else f"${nuis}$ ({exp.replace('_', ' ')})"
    return name


def corner_plot(result: PosteriorResult, names: Sequence[str] | None = None, *,
                levels=(0.5, 0.9), bins: int = 40, frequentist: Mapping | None = None,
                truth: Mapping | None = None, title: str | None = None, fig=None):
    """Corner plot (matplotlib only): marginal histograms with the 90 % credible limit
    (solid) and frequentist limits (dashed, one colour per entry of ``frequentist``
    {label: {name: value}}), 2-D HPD regions at ``levels`` (filled 90 %, line 50 %), the
    truth (red) when given. Moduli in units of 1e-10 mu_B. Returns the Figure."""
    import matplotlib.pyplot as plt

    names = list(names or result.parameters)
    for n in names:
        if n not in result.samples:
            raise KeyError(f"no parameter {n!r} in the result; have {sorted(result.samples)}")
    k = len(names)
    if fig is None:
        fig = plt.figure(figsize=(2.3 * k + 1, 2.3 * k + 0.5))
    axes = fig.subplots(k, k, squeeze=False)
    cred = credible_upper_limits(result, 0.9)
    colours = ["tab:orange", "tab:green", "tab:purple", "tab:brown"]
    ranges = {}
    for n in names:
        x = result.flat(n)
        if n in ("xi1", "xi3", "delta_cp"):
            ranges[n] = (0.0, 2 * np.pi)
        else:
            lo = 0.0 if x.min() >= 0 else x.min()
            ranges[n] = (lo, x.max())
    for i, ni in enumerate(names):
        for j, nj in enumerate(names):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(result.flat(ni), bins=bins, range=ranges[ni], density=True,
                        histtype="step", color="k")
                if ni in cred and ni not in ("xi1", "xi3", "delta_cp"):
                    ax.axvline(cred[ni]["value"], color="tab:blue", lw=1.5,
                               label="90% credible")
                for c, (lab, lims) in enumerate((frequentist or {}).items()):
                    v = lims.get(ni, float("nan"))
                    if np.isfinite(v):
                        ax.axvline(v, color=colours[c % len(colours)], ls="--", lw=1.3,
                                   label=f"90% C.L. ({lab})")
                if truth and ni in truth:
                    ax.axvline(truth[ni], color="red", lw=1.0, label="truth")
                ax.set_yticks([])
                ax.set_xlim(ranges[ni])
            else:
                region = credible_region_2d(result.flat(nj), result.flat(ni), levels,
                                            bins=bins, range=[ranges[nj], ranges[ni]])
                hi = max(levels)
                gx, gy, dens = region.padded()
                ax.contourf(gx, gy, dens, levels=[region.thresholds[hi], np.inf],
                            colors=["tab:blue"], alpha=0.35)
                ax.contour(gx, gy, dens,
                           levels=sorted(region.thresholds[p] for p in levels),
                           colors=["tab:blue"], linewidths=1.0)
                if truth and ni in truth and nj in truth:
                    ax.plot(truth[nj], truth[ni], "r*", ms=9)
                ax.set_xlim(ranges[nj])
                ax.set_ylim(ranges[ni])
            if i == k - 1:
                ax.set_xlabel(parameter_label(nj))
            else:
                ax.set_xticklabels([])
            if i > j and j == 0:
                ax.set_ylabel(parameter_label(ni))
            elif i > j:
                ax.set_yticklabels([])
    handles, labels = axes[0, 0].get_legend_handles_labels()
    extra_h = [plt.Rectangle((0, 0), 1, 1, color="tab:blue", alpha=0.35)]
    extra_l = [f"{int(100 * max(levels))}% HPD region (line: {int(100 * min(levels))}%)"]
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.08, top=0.94, hspace=0.08, wspace=0.08)
    # the empty upper-right triangle holds the legend
    fig.legend(handles + extra_h, labels + extra_l, loc="upper right",
               bbox_to_anchor=(0.97, 0.9), fontsize=9, frameon=False)
    fig.suptitle(title or f"Posterior: {result.problem.get('model', '')} model, "
                 + " + ".join(f"{m['name']} {m['setup']}" for m in
                              result.problem.get("measurements", [])), fontsize=11)
    return fig


# ======================================================================================
# command line
# ======================================================================================
def _parse_floats(text, n, what):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if len(values) != n:
        raise ValueError(f"{what} needs {n} values, got {len(values)} in {text!r}")
    return values


def _cmd_posterior(args) -> int:
    import os

    from .bayes_io import save_result

    experiments = [e for item in args.experiments for e in item.split(",") if e]
    inject = None
    names = TMM_MODULI if args.model == "tmm" else FLAVOUR_MODULI
    if args.inject:
        inject = dict(zip(names, _parse_floats(args.inject, 3, "--inject")))
        if args.model == "tmm" and args.inject_phases:
            inject.update(zip(("xi1", "xi3"), _parse_floats(args.inject_phases, 2,
                                                               "--inject-phases")))
    prior = Prior(moduli=args.prior, upper=args.upper, lower_cutoff=args.lower_cutoff,
                  nuisance=args.nuisance_prior)
    problem = build_problem(experiments, args.model, prior, statistic=args.statistic,
                            data=args.data, inject=inject, sample_delta_cp=args.delta_cp)
    print(f"posterior: {problem.label}, {args.model} model, prior {prior.moduli} on "
          f"[{problem.prior.lower:g}, {problem.prior.upper:.4g}] x 1e-10 mu_B")
    with warnings.catch_warnings():
        warnings.simplefilter("always", ConvergenceWarning)
        result = sample_posterior(problem, jax.random.key(args.seed), num_samples=args.samples,
                                  num_warmup=args.warmup or args.samples,
                                  num_chains=args.chains, target_accept=args.target_accept)
    frequentist = {"single": problem.single_limits}
    if args.profiled:
        frequentist["profiled"] = frequentist_limits(problem, mode="profiled")
    rows = compare_limits(result, frequentist)
    print(format_comparison(rows))
    d = result.diagnostics
    print(f"\nmax R-hat {d['max_r_hat']:.4f}, min ESS {d['min_ess']:.0f}, "
          f"min ESS/s {d['min_ess_per_s']:.1f}, divergences {d['divergences']}, "
          f"warmup {result.timing['warmup_s']:.1f} s, sampling {result.timing['sampling_s']:.1f} s"
          f" ({jax.default_backend()}, {os.cpu_count()} cores)")
    print("converged" if result.converged else "NOT CONVERGED: " + "; ".join(result.problems))
    if args.output:
        figures = {}
        if not args.no_plot:
            figures["corner.png"] = corner_plot(result, frequentist=frequentist,
                                                truth=problem.truth)
        paths = save_result(result, args.output, frequentist=frequentist, figures=figures)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0 if result.converged else 2


def register_cli(subparsers) -> None:
    """Add the ``posterior`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "posterior", help="NUTS posterior and credible limits of neutrino magnetic moments",
        description="Bayesian posterior (numpyro NUTS) for catalogue experiments or "
                    "combinations; see docs/bayes.md. Exit status 2 when diagnostics fail.")
    p.add_argument("--experiments", nargs="+", required=True, metavar="NAME:SETUP",
                   help="one or more experiments, e.g. COHERENT-CsI:current CONUS:future")
    p.add_argument("--model", choices=MODELS, default="tmm")
    p.add_argument("--prior", choices=PRIOR_KINDS, default="flat", help="prior on the moduli")
    p.add_argument("--upper", type=float, default=None,
                   help="prior upper bound of the moduli [1e-10 mu_B] (default: automatic)")
    p.add_argument("--lower-cutoff", type=float, default=1e-3,
                   help="log-flat lower cutoff [1e-10 mu_B]")
    p.add_argument("--nuisance-prior", choices=NUISANCE_PRIORS, default="lognormal")
    p.add_argument("--statistic", choices=STATISTICS, default=None,
                   help="default: Eq. 34 for COHERENT-CsI:current, Eq. 35 otherwise")
    p.add_argument("--data", choices=("asimov", "measured"), default=None)
    p.add_argument("--inject", metavar="M1,M2,M3", help="Asimov truth of the three moduli")
    p.add_argument("--inject-phases", metavar="XI1,XI3", help="Asimov truth of the TMM phases")
    p.add_argument("--delta-cp", action="store_true", help="sample delta_CP (TMM)")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=None, help="default: --samples")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--target-accept", type=float, default=0.95)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profiled", action="store_true",
                   help="also compute profiled frequentist limits (slower)")
    p.add_argument("--output", metavar="DIR", help="write samples, diagnostics and corner.png")
    p.add_argument("--no-plot", action="store_true")
    p.set_defaults(func=_cmd_posterior)
