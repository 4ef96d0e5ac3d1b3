"""COHERENT CsI[Na] results: fitted CEvNS events (all nuisances profiled; statistical error
only; with the AC side band as a second channel), significance, Delta chi^2 profile of the
CEvNS normalisation, flux-averaged cross section and 90 % CL magnetic-moment limits, for the
2021 full data set (PRL 129, 081801 (2022)) and the 2017 first observation (Science 357,
1123 (2017)).

Statistics: -2 ln L profiled over every profiled nuisance of the measurement
(:func:`cevns_jax.likelihood.measurement.profile`, compiled once per measurement structure);
intervals and limits by Wilks' theorem (Delta = 1 for 1 sigma, 2.71 for a one-sided 90 % CL),
significance sqrt(-2 ln L(no CEvNS) - min). Moment limits take one moment at a time with the
others 0; for a single |Lambda_i| the mass-basis moment has no interference term, so the
phases xi1, xi3 drop out (checked in the tests) and are not scanned.
"""

from __future__ import annotations

import math
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize

from ..analyses import coherent_csi2021 as csi2021
from ..inference.profile_likelihood import upper_limit
from ..likelihood.measurement import profile
from ..likelihood.physics_model import FlavourMoments, TransitionMoments
from ..precision import require_x64
from ..rates import differential_rate
from .published import attach

__all__ = ["fit_cevns", "events_uncertainty", "prediction_uncertainty", "cevns_curve", "cevns_interval", "significance", "moment_limit",
           "flux_averaged_sm_xsec", "profile_timing", "analysis_results", "data_results",
           "MOMENT_LIMITS"]

#: (model, parameter) of every moment limit reported.
MOMENT_LIMITS = (("limit_mu_nue", FlavourMoments(), "mu_e"),
                 ("limit_mu_numu", FlavourMoments(), "mu_mu"),
                 ("limit_lambda1", TransitionMoments(), "lambda1"),
                 ("limit_lambda2", TransitionMoments(), "lambda2"),
                 ("limit_lambda3", TransitionMoments(), "lambda3"))
REFERENCE_2021 = "COHERENT, PRL 129, 081801 (2022), arXiv:2110.07730"


@partial(jax.jit, static_argnames=("n_steps",))
def _profile(measurement, mu2, start, n_steps=30):
    """Profiled -2 ln L and nuisances at the beam mu2 vector (the same in every channel: the
    C channel and, with the AC side band, the AC channel have the same beams)."""
    return profile(measurement, _mu2s(measurement, mu2), n_steps=n_steps, start=start)


def _start(measurement, values=None):
    start = {k: jnp.asarray(v, dtype=jnp.float64)
             for k, v in measurement.nominal_nuisances().items()}
    start.update({k: jnp.asarray(v, dtype=jnp.float64) for k, v in (values or {}).items()})
    return start


def _mu2s(measurement, mu2):
    return [mu2] * len(measurement.channels)


def _zero_mu2(measurement):
    return jnp.zeros(len(measurement.channels[0].beams))


def fit_cevns(measurement, norm_name: str, signal_events, start=None) -> dict:
    """Best fit with the CEvNS normalisation ``norm_name`` free: -2 ln L, nuisances and the
    fitted CEvNS events norm x ``signal_events(measurement, nu_hat)``."""
    value, nu_hat = _profile(measurement, _zero_mu2(measurement), _start(measurement, start))
    nu_hat = {k: float(v) for k, v in nu_hat.items()}
    sm = float(jnp.sum(signal_events(measurement, nu_hat)))
    return {"twice_nll": float(value), "nu_hat": nu_hat, "norm": nu_hat[norm_name],
            "signal_at_fit": sm, "events": nu_hat[norm_name] * sm}


def events_uncertainty(measurement, norm_name: str, fit: dict, signal_events) -> float:
    """1 sigma of the fitted CEvNS events N = norm x S(nu): gradient of N over the profiled
    nuisances propagated with the covariance 2 H^-1 of -2 ln L at the best fit (the
    Gaussian approximation; the events, not the normalisation, are what the data measure,
    so the response nuisances that move S without moving N do not widen it)."""
    names = measurement.profiled_names
    base = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in fit["nu_hat"].items()}
    mu2 = _zero_mu2(measurement)

    def unpack(x):
        nu = dict(base)
        nu.update({k: x[i] for i, k in enumerate(names)})
        return nu

    def events(x):
        nu = unpack(x)
        return nu[norm_name] * jnp.sum(signal_events(measurement, nu))

    x0 = jnp.stack([base[k] for k in names])
    hessian = np.asarray(jax.jit(jax.hessian(
        lambda x: measurement.twice_nll(_mu2s(measurement, mu2), unpack(x))))(x0))
    grad = np.asarray(jax.jit(jax.grad(events))(x0))
    return float(np.sqrt(grad @ (2.0 * np.linalg.inv(hessian)) @ grad))


def prediction_uncertainty(measurement, signal_events, flux_sigma: float) -> float:
    """Experimental 1 sigma of the SM prediction: half the change of the predicted events
    between -1 and +1 sigma of every constrained nuisance (those that do not touch the
    signal give 0), in quadrature with the flux normalisation ``flux_sigma``."""
    nominal = float(jnp.sum(signal_events(measurement)))
    variance = (flux_sigma * nominal) ** 2
    for n in measurement.nuisances:
        if n.sigma is None or n.name.endswith("flux"):
            continue
        up, down = (float(jnp.sum(signal_events(measurement, {n.name: n.nominal + s * n.sigma})))
                    for s in (1.0, -1.0))
        variance += (0.5 * (up - down)) ** 2
    return math.sqrt(variance)


def cevns_curve(measurement, norm_name: str, norms) -> np.ndarray:
    """Profiled -2 ln L at each fixed value of the CEvNS normalisation."""
    fixed = measurement.with_treatment("fixed", [norm_name])
    mu2 = _zero_mu2(measurement)
    return np.array([float(_profile(fixed, mu2, _start(fixed, {norm_name: x}))[0])
                     for x in np.atleast_1d(norms)])


def cevns_interval(measurement, norm_name: str, fit: dict, level: float = 1.0):
    """(lower, upper) of the normalisation where Delta(-2 ln L) = ``level`` (Brent)."""
    best = fit["norm"]

    def delta(x):
        return cevns_curve(measurement, norm_name, [x])[0] - fit["twice_nll"] - level

    step = 0.05 * max(best, 0.1)
    hi = best + step
    while delta(hi) < 0:
        hi += step
    lo = max(best - step, 0.0)
    while lo > 0 and delta(lo) < 0:
        lo = max(lo - step, 0.0)
    lower = optimize.brentq(delta, lo, best, xtol=1e-6) if delta(lo) > 0 else 0.0
    return lower, optimize.brentq(delta, best, hi, xtol=1e-6)


def significance(measurement, norm_name: str, fit: dict) -> float:
    """sqrt(-2 ln L(CEvNS normalisation = 0) - min) (Wilks, one parameter)."""
    null = cevns_curve(measurement, norm_name, [0.0])[0]
    return math.sqrt(max(null - fit["twice_nll"], 0.0))


def moment_limit(measurement, model, name: str, level: float = 2.71, x_max: float = 500.0,
                 n_coarse: int = 16) -> float:
    """90 % CL upper limit on the moment ``name`` [1e-10 mu_B] of ``model``, others 0:
    :func:`cevns_jax.inference.profile_likelihood.upper_limit` (its device's default batch),
    NaN where Delta never reaches ``level`` below ``x_max``."""
    return upper_limit(measurement, model, name, level=level, upper=x_max,
                       n_coarse=n_coarse).value


def flux_averaged_sm_xsec(experiment, n_nodes: int = 400) -> float:
    """SM flux-averaged CEvNS cross section per nucleus [cm^2]: all recoils, no detector
    response, averaged over the three SNS beams (equal fluence) and over the nuclei."""
    masses = np.asarray(experiment.detector.target.nuclear_mass)
    t_max = float(np.max(2 * (0.5 * 105.6583755) ** 2 / (masses + 105.6583755)))
    recoil = np.geomspace(1e-8, t_max, n_nodes)
    rate = np.asarray(jax.jit(lambda t: differential_rate(experiment, t,
                                                          with_efficiency=False).sm)(recoil))
    events = np.trapezoid(rate, recoil, axis=1)
    fluence = np.array([b.fluence for b in experiment.beams])
    n_nuclei = float(np.sum(np.asarray(experiment.detector.target.n_nuclei)))
    return float(np.mean(events / fluence) / n_nuclei)


def profile_timing(measurement, norm_name: str, norms) -> dict:
    """Wall time of the Delta chi^2 profile at ``norms`` (compile, then steady state) and of
    one -2 ln L + gradient evaluation over all nuisances."""
    fixed = measurement.with_treatment("fixed", [norm_name])
    mu2 = _zero_mu2(measurement)
    starts = {k: jnp.broadcast_to(v, (len(norms),)) for k, v in _start(fixed).items()}
    starts[norm_name] = jnp.asarray(norms, dtype=jnp.float64)
    scan = jax.jit(jax.vmap(lambda s: _profile.__wrapped__(fixed, mu2, s)[0]))
    t0 = time.perf_counter()
    scan(starts).block_until_ready()
    t1 = time.perf_counter()
    values = scan(starts).block_until_ready()
    t2 = time.perf_counter()
    names = measurement.nuisance_names
    nominal = measurement.nominal_nuisances()
    value_grad = jax.jit(jax.value_and_grad(
        lambda x: measurement.twice_nll(_mu2s(measurement, mu2), dict(zip(names, x)))))
    x0 = jnp.stack([nominal[k] for k in names])
    jax.block_until_ready(value_grad(x0))
    t3 = time.perf_counter()
    jax.block_until_ready(value_grad(x0))
    t4 = time.perf_counter()
    return {"compile_s": t1 - t0, "steady_s": t2 - t1, "n_points": len(norms),
            "value_grad_s": t4 - t3, "twice_nll": np.asarray(values)}


def _row(analysis, quantity, computed, uncertainty, published, unit, method, reference):
    return {"analysis": analysis, "quantity": quantity, "computed": computed,
            "uncertainty": uncertainty, "published": published, "unit": unit,
            "method": method, "reference": reference}


PUBLISHED = {
    "coherent_csi2021": {"cevns_events_fit": 306.0, "cevns_events_predicted": 341.0,
                         "significance_sigma": None, "flux_averaged_xsec_1e-40cm2": 165.0},
    "coherent_csi2017": {"cevns_events_fit": 134.0, "cevns_events_predicted": 173.0,
                         "significance_sigma": 6.7},
}
REFERENCES = {"coherent_csi2021": REFERENCE_2021,
              "coherent_csi2017": "COHERENT, Science 357, 1123 (2017), arXiv:1708.01294"}


def _dataset(name):
    if name == "coherent_csi2021":
        return csi2021, csi2021.csi2021_experiment()
    from ..analyses import coherent_csi2017 as csi2017
    return csi2017, csi2017.csi2017_experiment()


def _flux_sigma(measurement) -> float:
    return next(n.sigma for n in measurement.nuisances if n.name.endswith("flux"))


def _decomposition_rows(name, module, experiment, m, fit, quick) -> list[dict]:
    """Like-for-like rows: the fitted events with every nuisance fixed at its best fit
    (statistical error only) and, unless ``quick`` (two more compilations, ~1 min each), the
    fit with the AC side band as a second Poisson channel
    (:mod:`cevns_jax.analyses.csi_sideband`) and its significance."""
    published, reference = PUBLISHED[name], REFERENCES[name]
    norm = module.PREFIX + "cevns_norm"
    others = [k for k in m.profiled_names if k != norm]
    stat = events_uncertainty(m.with_treatment("fixed", others), norm, fit, module.signal_in_roi)
    rows = [_row(name, "cevns_events_fit_stat_only", fit["events"], stat,
                 published["cevns_events_fit"], "events", "binned Poisson PE x t, every "
                 "nuisance fixed at its best fit: statistical Hessian error of the C counts",
                 reference)]
    if quick:
        return rows
    sb = module.build("cevns", experiment=experiment, ss_model="sideband")
    fit_sb = fit_cevns(sb, norm, module.signal_in_roi)
    return rows + [
        _row(name, "cevns_events_fit_ac_sideband", fit_sb["events"],
             events_uncertainty(sb, norm, fit_sb, module.signal_in_roi),
             published["cevns_events_fit"], "events", "C and AC counts as two Poisson "
             "channels, steady state free per PE bin, nuisances profiled, Hessian error",
             reference),
        _row(name, "significance_sigma_ac_sideband", significance(sb, norm, fit_sb), None,
             published["significance_sigma"], "sigma", "C and AC counts as two Poisson "
             "channels, sqrt(Delta) CEvNS vs no CEvNS (Wilks)", reference),
    ]


def analysis_results(name: str, quick: bool = False) -> list[dict]:
    """Rows of one CsI analysis ("coherent_csi2021" or "coherent_csi2017")."""
    require_x64()
    if name not in PUBLISHED:
        raise ValueError(f"unknown CsI analysis {name!r}; expected one of {tuple(PUBLISHED)}")
    module, experiment = _dataset(name)
    published, reference = PUBLISHED[name], REFERENCES[name]
    norm = module.PREFIX + "cevns_norm"
    m = module.build("cevns", experiment=experiment)
    fit = fit_cevns(m, norm, module.signal_in_roi)
    # the "moments" structure (CEvNS normalisation fixed, flux profiled with its prior) also
    # serves the significance (at zero CEvNS the flux is irrelevant, at the best fit it sits
    # at its nominal value) and the cross-section interval (flux uncertainty included)
    mm = module.build("moments", experiment=experiment)
    method = "binned Poisson PE x t, nuisances profiled"
    rows = [
        _row(name, "cevns_events_fit", fit["events"],
             events_uncertainty(m, norm, fit, module.signal_in_roi),
             published["cevns_events_fit"], "events", method + ", Hessian error", reference),
        _row(name, "cevns_events_predicted", float(jnp.sum(module.signal_in_roi(m))),
             prediction_uncertainty(mm, module.signal_in_roi, _flux_sigma(mm)),
             published["cevns_events_predicted"], "events",
             "SM, analytic pi-DAR flux, nominal response; +-1 sigma of flux and response "
             "nuisances in quadrature", reference),
        _row(name, "significance_sigma", significance(mm, norm, fit), None,
             published["significance_sigma"], "sigma",
             method + ", sqrt(Delta) CEvNS vs no CEvNS (Wilks)", reference),
    ]
    rows += _decomposition_rows(name, module, experiment, m, fit, quick)
    if "flux_averaged_xsec_1e-40cm2" in published:
        lo, hi = cevns_interval(mm, norm, fit)
        scale = flux_averaged_sm_xsec(experiment) / 1e-40
        rows.append(_row(name, "flux_averaged_xsec_1e-40cm2", fit["norm"] * scale,
                         0.5 * (hi - lo) * scale, published["flux_averaged_xsec_1e-40cm2"],
                         "1e-40 cm^2", "fitted/predicted events x SM flux-averaged cross "
                         "section; Delta = 1 with flux (10 %) and response profiled", reference))
    for quantity, model, param in MOMENT_LIMITS:
        rows.append(_row(name, quantity,
                         moment_limit(mm, model, param, n_coarse=8 if quick else 16), None,
                         None, "1e-10 mu_B", "profile likelihood, Wilks, 90% CL (Delta = 2.71), "
                         "other moments 0", reference))
    return attach(rows)


def data_results(quick: bool = False) -> list[dict]:
    """Result rows (analysis, quantity, computed, uncertainty, published, unit, method,
    reference) of the CsI 2021 and 2017 analyses."""
    return analysis_results("coherent_csi2021", quick) + analysis_results("coherent_csi2017", quick)


def data_results_2021(quick: bool = False) -> list[dict]:
    """Rows of the CsI 2021 analysis alone."""
    return analysis_results("coherent_csi2021", quick)


def data_results_2017(quick: bool = False) -> list[dict]:
    """Rows of the CsI 2017 analysis alone."""
    return analysis_results("coherent_csi2017", quick)


def build_measurement(quick: bool = False):
    """The CsI 2021 measurement for moment limits (CEvNS at the SM with the flux and response
    nuisances profiled; ``quick`` accepted for the common interface)."""
    require_x64()
    module, experiment = _dataset("coherent_csi2021")
    return module.build("moments", experiment=experiment)
