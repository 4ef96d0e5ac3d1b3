"""One experiment's templates, data and test statistic, and the paper's chi^2 functions.

A :class:`Measurement` holds per-beam templates S_b, E_b (fixed shape, default parameters),
the observed counts and one of the statistics of paper 000: ``"eq34"`` (Eq. 34, COHERENT CsI,
nuisances a1 and a2), ``"eq35"`` (Eq. 35, one normalisation nuisance), ``"poisson"`` (binned
deviance plus a normalisation pull) or ``"gaussian"`` (no nuisance, toys). The ``_*_core``
functions take the measurement's numbers as arrays, so the compiled sampler receives them as
arguments (:mod:`.model`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ... import likelihood as L
from ...effective_moments import beam_flavours

STATISTICS = ("eq34", "eq35", "poisson", "gaussian")

#: Measured COHERENT CsI 2017 counts behind paper 000 Eq. (34).
CSI_2017_MEASURED = 142.0


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
    from ...experiments import Experiment, build_experiment, get_config

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
    from ...rates import binned_templates
    from ...quadrature import QuadratureConfig

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
