"""COHERENT CENNS-10 LAr 2020 (Analysis A): fit, significance and magnetic-moment limits.

Reproduces PRL 126, 012002 (2021) (arXiv:2003.10630) from the released data
(:mod:`cevns_jax.analyses.coherent_lar2020`) with the profile likelihood:

- best fit with the CEvNS normalisation free, from several starting points;
- 1 sigma errors from the Hessian of -2 ln L at the minimum (cov = 2 H^-1, errors of derived
  event counts by linear propagation) and from the profile likelihood (Delta(-2 ln L) = 1);
- significance sqrt(Delta(-2 ln L)) between the best fit and the no-CEvNS fit (Wilks, one
  parameter on its boundary: the one-sided Z = sqrt(q0), Cowan et al. EPJC 71, 1554, Eq. 52);
- 90% C.L. upper limits (Delta(-2 ln L) = 2.71) on one moment at a time with the CEvNS
  normalisation constrained to the prediction's 17/128: flavour moments mu_nue, mu_numu
  (:class:`FlavourMoments`) and transition moments |Lambda_i| (:class:`TransitionMoments`).
  With one |Lambda_i| non-zero the effective moment of every SNS beam is |Lambda_i|^2 times
  a sum of |U_alpha j|^2 (paper 000 Eq. 9), independent of the phases xi1, xi3: the phases
  drop out (checked numerically) and nothing is profiled over them. Limits and the 2-D
  region come from :mod:`cevns_jax.inference.profile_likelihood`.

:func:`build_measurement` is the constrained measurement that combined fits use.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize

from ..analyses import coherent_lar2020 as lar
from ..inference.profile_likelihood import evaluate, upper_limit
from ..likelihood.measurement import profile
from ..likelihood.physics_model import FlavourMoments, TransitionMoments
from ..precision import require_x64
from .published import attach

__all__ = ["REFERENCE", "Fitter", "build_measurement", "fit_summary", "moment_limits",
           "release_template_check", "timing", "data_results"]

REFERENCE = "COHERENT PRL 126, 012002 (2021), arXiv:2003.10630; release arXiv:2006.12659"
ANALYSIS = "coherent_lar2020"
#: Published Analysis A numbers (release parameter file lar2020_parameters.csv).
PUBLISHED = {"cevns_events_fit": (159.0, 43.0), "cevns_events_predicted": (128.0, 17.0),
             "brn_prompt_fit": (553.0, 34.0), "brn_delayed_fit": (10.0, 11.0),
             "steady_state_fit": (3131.0, 23.0)}
#: Starting points of the best fit (beyond the nominal nuisances).
STARTS = ({}, {"cevns_norm": 0.5, "brn_prompt": 600.0, "steady_state": 3100.0},
          {"cevns_norm": 2.0, "brn_prompt": 450.0, "brn_delayed": 5.0, "brn_energy": 0.5})


class Fitter:
    """Compiled profile fits of one measurement (its structure fixed at construction)."""

    def __init__(self, measurement, n_steps: int = 40):
        self.measurement = measurement
        self.n_steps = n_steps
        self.zero = [jnp.zeros(len(measurement.channels[0].beams))]
        self._fit = jax.jit(lambda start, mu2: profile(measurement, [mu2], n_steps=n_steps,
                                                       start=start))

    def fit(self, start=None, mu2=None):
        """(min -2 ln L, nuisances at the minimum) from ``start`` at beam moments ``mu2``."""
        nu = self.measurement.nominal_nuisances()
        nu.update({k: jnp.asarray(v, dtype=jnp.float64) for k, v in (start or {}).items()})
        value, nu_hat = self._fit(nu, self.zero[0] if mu2 is None else jnp.asarray(mu2))
        return float(value), {k: float(v) for k, v in nu_hat.items()}

    def best_fit(self, starts=STARTS):
        """The lowest of the fits from ``starts``, and the spread of their minima."""
        fits = [self.fit(s) for s in starts]
        values = np.array([f[0] for f in fits])
        return fits[int(np.argmin(values))], float(values.max() - values.min())


def _counts(measurement, nu):
    """Fitted event counts of each component at nuisances ``nu`` (a dict of arrays)."""
    data = measurement.channels[0].data
    comp = measurement.channels[0].components(nu)
    return {"cevns_events_fit": jnp.sum(comp.signal_sm),
            "brn_prompt_fit": jnp.sum(lar.prompt_brn(data, nu)),
            "brn_delayed_fit": nu["brn_delayed"] * jnp.sum(data["brn_delayed"]),
            "steady_state_fit": nu["steady_state"] * jnp.sum(data["steady_state"])}


def hessian_errors(measurement, nu_hat):
    """1 sigma errors of the profiled nuisances and of the fitted counts from the Hessian of
    -2 ln L at the minimum: cov = 2 H^-1; counts by linear propagation g^T cov g."""
    names = measurement.profiled_names
    zero = [jnp.zeros(len(measurement.channels[0].beams))]
    fixed = {k: jnp.asarray(v) for k, v in nu_hat.items()}

    def as_dict(x):
        nu = dict(fixed)
        nu.update({k: x[i] for i, k in enumerate(names)})
        return nu

    @jax.jit
    def propagate(x):
        cov = 2.0 * jnp.linalg.inv(jax.hessian(lambda y: measurement.twice_nll(zero, as_dict(y)))(x))
        jac = jax.jacobian(lambda y: _counts(measurement, as_dict(y)))(x)
        return cov, {k: jnp.sqrt(g @ cov @ g) for k, g in jac.items()}

    cov, counts = propagate(jnp.asarray([nu_hat[k] for k in names]))
    errors = {k: float(jnp.sqrt(cov[i, i])) for i, k in enumerate(names)}
    errors.update({k: float(v) for k, v in counts.items()})
    return errors


def _crossing(f, lo, hi, level):
    return float(optimize.brentq(lambda x: f(x) - level, lo, hi, xtol=1e-10))


def fit_summary(quick: bool = False) -> dict:
    """Best fit, Hessian and profile-likelihood errors, significance (see module docstring)."""
    require_x64()
    m = lar.measurement()
    fitter = Fitter(m)
    (chi2_min, nu_hat), spread = fitter.best_fit(STARTS)
    counts = {k: float(v) for k, v in _counts(m, nu_hat).items()}
    errors = hessian_errors(m, nu_hat)
    # profile of the CEvNS normalisation: the other nuisances re-minimised at each value
    fixed = Fitter(m.with_treatment("fixed", ["cevns_norm"]))
    at = lambda s: fixed.fit(dict(nu_hat, cevns_norm=s))[0] - chi2_min
    norm, sigma = nu_hat["cevns_norm"], errors["cevns_norm"]
    lo = _crossing(at, max(norm - 4 * sigma, 0.0), norm, 1.0)
    hi = _crossing(at, norm, norm + 4 * sigma, 1.0)
    per_norm = counts["cevns_events_fit"] / norm
    q0 = at(0.0)
    return {"chi2_min": chi2_min, "start_spread": spread, "nu_hat": nu_hat, "counts": counts,
            "hessian_errors": errors, "norm_interval": (lo, hi),
            "cevns_interval": (lo * per_norm, hi * per_norm),
            "cevns_predicted": float(jnp.sum(lar.expected_components(
                m.channels[0].data, m.nominal_nuisances()).signal_sm)),
            "q0": q0, "significance": float(np.sqrt(max(q0, 0.0))), "n_bins": lar.N_BINS}


def release_template_check() -> dict:
    """The same fit with the release's CEvNS table as the signal
    (:func:`~cevns_jax.analyses.coherent_lar2020.release_signal_measurement`): separates what
    the likelihood reproduces from what the physics response changes."""
    require_x64()
    m = lar.release_signal_measurement()
    (chi2_min, nu_hat), spread = Fitter(m).best_fit(STARTS)
    q0 = Fitter(m.with_treatment("fixed", ["cevns_norm"])).fit(dict(nu_hat, cevns_norm=0.0))[0]
    counts = {k: float(v) for k, v in _counts(m, nu_hat).items()}
    return {"counts": counts, "nu_hat": nu_hat, "start_spread": spread,
            "significance": float(np.sqrt(max(q0 - chi2_min, 0.0)))}


def _unit_mu2(model, name, beams):
    return np.asarray(model.mu2({name: 1.0}, beams))


def build_measurement(quick: bool = False):
    """The measurement for moment limits: CEvNS normalisation constrained to 1 +- 17/128
    (``quick`` is accepted for the common interface; the templates are the same)."""
    return lar.measurement(cevns_norm_sigma=lar.CEVNS_PREDICTION_SIGMA)


#: Limits reported: key -> (model, parameter name) in 1e-10 mu_B.
LIMITS = {"mu_nue": (FlavourMoments(), "mu_e"), "mu_numu": (FlavourMoments(), "mu_mu"),
          "lambda1": (TransitionMoments(), "lambda1"), "lambda2": (TransitionMoments(), "lambda2"),
          "lambda3": (TransitionMoments(), "lambda3")}


def moment_limits(quick: bool = False, region: bool = False) -> dict:
    """90% C.L. limits [1e-10 mu_B] on mu_nue, mu_numu and |Lambda_1..3| (one at a time,
    :func:`cevns_jax.inference.profile_likelihood.upper_limit`), CEvNS normalisation
    constrained to 17/128; ``region``: Delta(-2 ln L) on a grid of (mu_nue, mu_numu)."""
    require_x64()
    m = build_measurement(quick)
    beams = m.channels[0].beams
    tmm = TransitionMoments()
    out = {"units": {key: _unit_mu2(model, name, beams) for key, (model, name) in LIMITS.items()}}
    for i in (1, 2, 3):
        shifted = np.asarray(tmm.mu2({f"lambda{i}": 1.0, "xi1": 1.1, "xi3": -2.3}, beams))
        if not np.allclose(out["units"][f"lambda{i}"], shifted, rtol=1e-12):
            raise RuntimeError(f"|Lambda_{i}| alone: beam moments depend on the phases")
    for key, (model, name) in LIMITS.items():
        result = upper_limit(m, model, name, upper=200.0, n_coarse=8 if quick else 16)
        if not result.valid:
            raise RuntimeError(f"limit on {name}: {result.status}")
        out[key] = (result.value, result.x_min)
    if region:
        grid = np.linspace(0.0, 1.3 * max(out["mu_nue"][0], out["mu_numu"][0]), 13)
        a, b = np.meshgrid(grid, grid)
        values = evaluate(m, FlavourMoments(), {"mu_e": a.ravel(), "mu_mu": b.ravel()})
        delta = values.reshape(a.shape)
        out["region"] = {"mu_nue": grid, "mu_numu": grid, "delta": delta - delta.min()}
    return out


def timing(n_points: int = 41) -> dict:
    """Seconds for compile and run of one -2 ln L + gradient, and of an ``n_points`` profile of
    the CEvNS normalisation (each point a full re-minimisation of the other nuisances)."""
    require_x64()
    m = lar.measurement()
    zero = [jnp.zeros(3)]
    value_grad = jax.jit(jax.value_and_grad(lambda nu: m.twice_nll(zero, nu)))
    nu0 = m.nominal_nuisances()
    t0 = time.perf_counter()
    jax.block_until_ready(value_grad(nu0))
    t1 = time.perf_counter()
    for _ in range(20):
        jax.block_until_ready(value_grad(nu0))
    t2 = time.perf_counter()
    mf = m.with_treatment("fixed", ["cevns_norm"])
    scan = jax.jit(jax.vmap(lambda s: profile(mf, zero, start={"cevns_norm": s})[0]))
    grid = jnp.linspace(0.0, 2.5, n_points)
    t3 = time.perf_counter()
    jax.block_until_ready(scan(grid))
    t4 = time.perf_counter()
    values = jax.block_until_ready(scan(grid + 1e-9))
    t5 = time.perf_counter()
    return {"nll_grad_compile_s": t1 - t0 - (t2 - t1) / 20, "nll_grad_s": (t2 - t1) / 20,
            "profile_compile_s": t4 - t3 - (t5 - t4), "profile_s": t5 - t4,
            "profile_points": n_points, "profile_values": np.asarray(values)}


def _row(quantity, computed, uncertainty, published, unit, method, reference=REFERENCE):
    return {"analysis": ANALYSIS, "quantity": quantity, "computed": computed,
            "uncertainty": uncertainty, "published": published, "unit": unit,
            "method": method, "reference": reference}


def data_results(quick: bool = False) -> list[dict]:
    """Result rows (fitted counts, significance, moment limits) against published values."""
    s = fit_summary(quick)
    lim = moment_limits(quick)
    err = s["hessian_errors"]
    lo, hi = s["cevns_interval"]
    fit = "binned Poisson profile likelihood (960 bins), Hessian 1 sigma"
    rows = [_row("cevns_events_fit", s["counts"]["cevns_events_fit"], err["cevns_events_fit"],
                 PUBLISHED["cevns_events_fit"][0], "events",
                 f"{fit}; profile-likelihood 68% interval [{lo:.1f}, {hi:.1f}]"),
            _row("cevns_events_predicted", s["cevns_predicted"],
                 s["cevns_predicted"] * lar.CEVNS_PREDICTION_SIGMA,
                 PUBLISHED["cevns_events_predicted"][0], "events",
                 "SM rate x release QF, resolution, efficiency in the E/F90/t window; "
                 "uncertainty: the release's relative 17/128")]
    for key in ("brn_prompt_fit", "brn_delayed_fit", "steady_state_fit"):
        rows.append(_row(key, s["counts"][key], err[key], PUBLISHED[key][0], "events", fit))
    rows.append(_row("significance_sigma", s["significance"], None, 3.5, "sigma",
                     "sqrt(q0), profile likelihood ratio CEvNS vs none (published value "
                     "not confirmed: abstract says > 3 sigma)"))
    method = "profile likelihood, Wilks, 90% CL, one moment at a time, CEvNS norm 17/128"
    for key, name in (("mu_nue", "limit_mu_nue"), ("mu_numu", "limit_mu_numu"),
                      ("lambda1", "limit_lambda1"), ("lambda2", "limit_lambda2"),
                      ("lambda3", "limit_lambda3")):
        rows.append(_row(name, lim[key][0], None, None, "1e-10 mu_B", method))
    return attach(rows)
