"""Dresden-II results under each Ge quenching model: CEvNS signal strength, its significance and
the 90 % C.L. limits on an effective nuebar magnetic moment from CEvNS, from nu-e scattering and
from both (analysis in :mod:`cevns_jax.analyses.dresden2`).

- signal strength: best fit of ``cevns_strength`` (ON + OFF, all background nuisances
  profiled); uncertainty = half the width of the profile-likelihood interval at
  Delta(-2 ln L) = 1;
- significance: Z = sqrt(q0), q0 = -2 ln L(strength = 0) - (-2 ln L(best)) (Wilks, one-sided);
- moment limit: strength fixed at the SM (1), mu from the ``EffectiveMoment`` model, 90 % C.L.
  at Delta(-2 ln L) = 2.71 above the minimum over mu >= 0. Three signal sets: "cevns" (CEvNS
  SM + EM), "electron" (CEvNS at its SM prediction without its EM term, plus the nu-e SM and EM
  rows: the moment acts through nu-e alone) and "combined" (both EM terms);
- |Lambda_i| limits: the combined set with the ``TransitionMoments`` model, one Lambda_i at a
  time (the others 0; then mu_eff^2 = |Lambda_i|^2 (1 - |U_ei|^2) for the reactor nuebar beam
  whatever the phases, paper 000 Eq. 12);
- checks of the nu-e limit: the free-electron binding, the expected limit (Asimov data of the
  SM fit) and the fit range cut below :data:`FIT_RANGE_CHECK_KEV` (docs/dresden2.md: the
  full-range nu-e limits are set by the background fit at 1.1-1.5 keVee).

Published: the collaboration's p < 1.2e-3 for the background-only hypothesis with the Fef
model (PRL 129, 211802 abstract).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize, stats

from ..analyses import dresden2 as d2
from ..datasets.dresden2 import dresden2_spectra
from ..experiments import build_experiment
from ..inference.profile_likelihood import upper_limit
from ..likelihood.measurement import profile
from ..likelihood.physics_model import EffectiveMoment, TransitionMoments
from ..precision import require_x64
from ..quadrature import QuadratureConfig
from .published import attach

MODELS = ("lindhard", "modified_lindhard", "fef", "ybe")
#: Signal sets of the moment limits (module docstring).
SIGNALS = ("cevns", "electron", "combined")
#: Quenching model of the |Lambda_i| rows (the collaboration's preferred Fef curve).
PREFERRED = "fef"
#: Upper end [keVee] of the fit-range check of the nu-e limits (below the 71Ge L1 peak region,
#: where the stepping nu-e signal has its L-shell step).
FIT_RANGE_CHECK_KEV = 1.1
REFERENCE = "Dresden-II, PRL 129, 211802 (2022); arXiv:2202.09672"
#: p-value of the background-only hypothesis quoted by the collaboration (Fef model).
PUBLISHED_P_FEF = 1.2e-3
QUICK_QUAD = QuadratureConfig(n_recoil=24, n_energy=24, n_piece=6)
#: The data set behind every result (provenance: cevns_jax/data/dresden2/README.md).
DATASET = {
    "name": "Dresden-II Rx-ON (96.4 d) / Rx-OFF (25 d) spectra, NCC-1701 Ge, 0.2-1.5 keVee",
    "file": "cevns_jax/data/dresden2/dresden2_reactor_on_off_spectra.csv",
    "release": "data release of Colaresi et al., PRL 129, 211802 (2022), arXiv:2202.09672, as "
               "data_release.txt of LeireLarizgoitia/Reactor_CEnuNS @ "
               "2242059ec1784d3f70d89add2f3bd7d63ef20239",
}


def model_measurement(model: str, quad: QuadratureConfig = QuadratureConfig(),
                      strength: str = "fixed", with_off: bool = True):
    """The Dresden-II measurement with the quenching ``model`` (a name of :data:`MODELS`)."""
    spectra = dresden2_spectra()
    experiment = build_experiment(d2.dresden2_config({"model": model}))
    return d2.measurement(d2.signal_templates(experiment, spectra, quad), spectra, strength,
                          with_off)


def cevns_templates(model: str, quad: QuadratureConfig = QuadratureConfig()):
    """CEvNS :class:`~cevns_jax.analyses.dresden2.ChannelTemplates` under quenching ``model``."""
    experiment = build_experiment(d2.dresden2_config({"model": model}))
    return d2.signal_templates(experiment, dresden2_spectra(), quad)


def electron_templates(binding: str = "stepping", quad: QuadratureConfig = QuadratureConfig()):
    """nu-e templates (no quenching: the same for every model; the beam of the Fef config)."""
    experiment = build_experiment(d2.dresden2_config({"model": PREFERRED}))
    return d2.electron_templates(experiment, dresden2_spectra(), binding, quad)


def signal_measurement(cevns, electron, signal: str, strength: str = "fixed",
                       e_max_kev: float | None = None):
    """The ON + OFF measurement for one of :data:`SIGNALS` from CEvNS and nu-e templates
    (bins centred below ``e_max_kev`` only, if given)."""
    if signal not in SIGNALS:
        raise ValueError(f"unknown signal set {signal!r}; expected one of {SIGNALS}")
    if signal == "cevns":
        templates = cevns
    else:
        templates = d2.combine_templates(cevns, electron, em=(signal == "combined", True))
    return d2.measurement(templates, dresden2_spectra(), strength, e_max_kev=e_max_kev)


def _no_moment(measurement):
    return [jnp.zeros(len(c.beams)) for c in measurement.channels]


#: Damped-Newton steps of every profile (one value: one compilation per nuisance treatment).
N_STEPS = 60


@jax.jit
def _profile(measurement, mu2s, start):
    """profile() jitted with the measurement as an argument: one compilation serves every
    quenching model and every moment value (same pytree structure, new leaves)."""
    return profile(measurement, mu2s, start=start, n_steps=N_STEPS)


def sm_fit(measurement):
    """The fit at the SM strength (the CEvNS strength fixed at 1), no moment: (-2 ln L, nu).
    Returns the measurement with the strength fixed, the starting point of every scan."""
    fixed = measurement.with_treatment("fixed", ["cevns_strength"])
    value, nu = _profile(fixed, _no_moment(fixed), fixed.nominal_nuisances())
    return fixed, float(value), nu


def strength_result(measurement) -> dict:
    """Best-fit CEvNS strength s (profile of -2 ln L over s on [0, 30], background nuisances
    profiled at each s), its 68 % interval (Delta = 1), q0 = Delta(s = 0) and Z = sqrt(q0)."""
    fixed, _, nu = sm_fit(measurement)
    mu2s = _no_moment(fixed)

    def f(s):
        start = {**nu, "cevns_strength": jnp.asarray(s, dtype=jnp.float64)}
        return float(_profile(fixed, mu2s, start)[0])

    grid = np.array([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0, 30.0])
    values = np.array([f(x) for x in grid])
    i = int(np.argmin(values))
    res = optimize.minimize_scalar(f, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, 12)]),
                                   method="bounded", options={"xatol": 1e-6})
    s_hat, best = (float(res.x), float(res.fun)) if res.fun <= values[i] else (grid[i], values[i])
    g = lambda x: f(x) - best - 1.0  # noqa: E731
    hi = max(2.0 * s_hat, s_hat + 0.5)
    while g(hi) < 0:
        hi *= 2.0
    upper = optimize.brentq(g, s_hat, hi, xtol=1e-5)
    lower = optimize.brentq(g, 0.0, s_hat, xtol=1e-5) if s_hat > 0 and g(0.0) > 0 else 0.0
    q0 = max(g(0.0) + 1.0, 0.0)
    return {"strength": s_hat, "lower": lower, "upper": upper, "q0": q0,
            "z": math.sqrt(q0), "p": float(stats.norm.sf(math.sqrt(q0)))}


def moment_limit(measurement, level: float = 2.71, mu_max: float = 40.0, model=None,
                 name: str = "mu") -> float:
    """90 % C.L. upper limit on the moment parameter ``name`` of ``model`` (default: mu of
    :class:`EffectiveMoment`) [1e-10 mu_B] with the CEvNS strength at the SM:
    :func:`cevns_jax.inference.profile_likelihood.upper_limit` on [0, ``mu_max``], the
    nuisances' minimisation started at the SM fit."""
    m, _, start = sm_fit(measurement)
    limit = upper_limit(m, model or EffectiveMoment(), name, level=level, upper=mu_max,
                        nuisance_start=start, n_steps=N_STEPS)
    if not limit.valid:
        raise RuntimeError(f"no limit on {name}: {limit.status}")
    return limit.value


def expected_limit(measurement, level: float = 2.71) -> float:
    """The moment limit on Asimov data: the expectation of the SM fit (CEvNS strength 1, no
    moment, background nuisances at their fitted values) taken as the observation."""
    _, _, nu = sm_fit(measurement)
    return moment_limit(measurement.asimov(_no_moment(measurement), nu), level)


def model_results(model: str, quad: QuadratureConfig = QuadratureConfig(),
                  electron=None) -> dict:
    """Strength, significance and the moment limit of every signal set of :data:`SIGNALS`
    (keys ``mu_limit_<signal>``) for one quenching model; ``electron``: nu-e templates
    (default: stepping binding)."""
    require_x64()
    cevns = cevns_templates(model, quad)
    electron = electron if electron is not None else electron_templates("stepping", quad)
    out = strength_result(signal_measurement(cevns, electron, "cevns"))
    for signal in SIGNALS:
        out[f"mu_limit_{signal}"] = moment_limit(signal_measurement(cevns, electron, signal))
    return out


def lambda_limits(model: str = PREFERRED, quad: QuadratureConfig = QuadratureConfig(),
                  electron=None) -> dict:
    """90 % C.L. limits on |Lambda_1|, |Lambda_2|, |Lambda_3| [1e-10 mu_B] (combined signal
    set, one Lambda_i at a time, :class:`TransitionMoments`)."""
    require_x64()
    electron = electron if electron is not None else electron_templates("stepping", quad)
    m = signal_measurement(cevns_templates(model, quad), electron, "combined")
    return {name: moment_limit(m, model=TransitionMoments(), name=name, mu_max=100.0)
            for name in ("lambda1", "lambda2", "lambda3")}


_METHOD = "profile likelihood (ON+OFF Poisson), Wilks, 90% CL"


def data_results(quick: bool = False) -> list[dict]:
    """Result rows (analysis "dresden2") for every quenching model of :data:`MODELS`; nu-e
    with the stepping binding, plus under :data:`PREFERRED` the free-electron nu-e limit, the
    expected (Asimov) nu-e limits of both bindings and the |Lambda_i| limits (combined)."""
    require_x64()
    quad = QUICK_QUAD if quick else QuadratureConfig()
    electron = electron_templates("stepping", quad)
    rows = []
    for model in MODELS:
        r = model_results(model, quad, electron)
        published_p = PUBLISHED_P_FEF if model == "fef" else None
        rows.append(_row(f"cevns_signal_strength_{model}", r["strength"],
                         0.5 * (r["upper"] - r["lower"]), None, "SM = 1",
                         "profile likelihood (ON+OFF Poisson), 68% interval half-width"))
        rows.append(_row(f"cevns_significance_{model}", r["z"], None,
                         None if published_p is None else float(stats.norm.isf(published_p)),
                         "sigma", "sqrt(q0), q0 = -2 dlnL(strength 0), Wilks one-sided; "
                         "published: Z of p = 1.2e-3 (lower bound)"))
        rows.append(_row(f"limit_mu_nuebar_cevns_{model}", r["mu_limit_cevns"], None, None,
                         "1e-10 mu_B", f"{_METHOD} (CEvNS only)"))
        rows.append(_row(f"limit_mu_nuebar_electron_{model}", r["mu_limit_electron"], None,
                         None, "1e-10 mu_B", f"{_METHOD} (nu-e only, stepping binding; CEvNS "
                         "at its SM prediction)"))
        rows.append(_row(f"limit_mu_nuebar_combined_{model}", r["mu_limit_combined"], None,
                         None, "1e-10 mu_B", f"{_METHOD} (CEvNS + nu-e, stepping binding)"))
    cevns = cevns_templates(PREFERRED, quad)
    free = electron_templates("free", quad)
    for tag, templates in (("", electron), ("_free_electron", free)):
        binding = "free-electron approximation" if tag else "stepping binding"
        m = signal_measurement(cevns, templates, "electron")
        if tag:
            rows.append(_row(f"limit_mu_nuebar_electron_{PREFERRED}{tag}", moment_limit(m),
                             None, None, "1e-10 mu_B", f"{_METHOD} (nu-e only, {binding})"))
        rows.append(_row(f"expected_limit_mu_nuebar_electron_{PREFERRED}{tag}",
                         expected_limit(m), None, None, "1e-10 mu_B",
                         f"{_METHOD} on Asimov data of the SM fit (nu-e only, {binding})"))
        short = signal_measurement(cevns, templates, "electron", e_max_kev=FIT_RANGE_CHECK_KEV)
        rows.append(_row(f"limit_mu_nuebar_electron_{PREFERRED}{tag}_below_1p1keVee",
                         moment_limit(short), None, None, "1e-10 mu_B",
                         f"{_METHOD} (nu-e only, {binding}; bins below "
                         f"{FIT_RANGE_CHECK_KEV} keVee: fit-range check)"))
    for name, value in lambda_limits(PREFERRED, quad, electron).items():
        rows.append(_row(f"limit_{name}", value, None, None, "1e-10 mu_B",
                         f"{_METHOD} (CEvNS + nu-e, {PREFERRED} quenching, other Lambda = 0)"))
    return attach(rows)


def _row(quantity, computed, uncertainty, published, unit, method):
    return {"analysis": "dresden2", "quantity": quantity, "computed": float(computed),
            "uncertainty": None if uncertainty is None else float(uncertainty),
            "published": published, "unit": unit, "method": method, "reference": REFERENCE}


def fit_summary(model: str = PREFERRED, binding: str = "stepping",
                quad: QuadratureConfig = QuadratureConfig()) -> dict:
    """Everything one quenching model gives, for reports: the best fit with the CEvNS strength
    free and no moment (every nuisance's value and its Hessian error, ``nuisance_errors``),
    the strength interval and significance, the moment limits of :data:`SIGNALS` (nu-e with
    ``binding``) and the |Lambda_i| limits (combined), plus the curves of :func:`spectrum_curves`
    (background of the fit at the SM strength; nu-e at its limit) and the SM CEvNS rate of
    every model of :data:`MODELS` (``curves["cevns_models"]``)."""
    from ..inference.profile_likelihood import nuisance_errors

    require_x64()
    cevns, electron = cevns_templates(model, quad), electron_templates(binding, quad)
    free = signal_measurement(cevns, electron, "cevns", strength="profiled")
    fixed, _, nu_sm = sm_fit(free)
    mu2s = _no_moment(free)
    value, nu_hat = _profile(free, mu2s, nu_sm)
    errors = nuisance_errors(free, mu2s, nu_hat)
    limits = {s: moment_limit(signal_measurement(cevns, electron, s)) for s in SIGNALS}
    return {
        "quenching": model, "binding": binding,
        "best_fit": {"twice_nll": float(value),
                     "nuisances": {k: {"value": float(nu_hat[k]), "error": errors.get(k)}
                                   for k in free.nuisance_names}},
        "strength": strength_result(free),
        "limits_mu_nuebar": limits,
        "limits_lambda": lambda_limits(model, quad, electron),
        "curves": {**spectrum_curves(cevns, electron, nu_sm, limits["electron"]),
                   "cevns_models": {m: np.asarray((cevns if m == model else
                                                   cevns_templates(m, quad)).sm).sum(0)
                                    for m in MODELS}},
    }


def spectrum_curves(cevns, electron, nu, mu_electron: float) -> dict:
    """Rates in counts / (10 eV 3 kg day) per release bin: the ON data and errors, the fitted
    ON background at ``nu``, the SM CEvNS rate (``cevns`` templates) and the nu-e EM rate at
    mu = ``mu_electron`` (``electron`` templates)."""
    spectra = dresden2_spectra()
    energy = spectra.centres_kev
    return {"energy_kev": energy, "rate": spectra.rate["on"], "error": spectra.error["on"],
            "background": np.asarray(d2.background_rate(jnp.asarray(energy), nu, "on")),
            "cevns": np.asarray(cevns.sm).sum(0),
            "electron": mu_electron ** 2 * np.asarray(electron.em).sum(0),
            "mu_electron": float(mu_electron)}


def build_measurement(quick: bool = False):
    """The Dresden-II measurement of the global fit: CEvNS (Fef quenching, the collaboration's
    preferred model) and nu-e (stepping) signals, CEvNS strength at the SM prediction."""
    require_x64()
    quad = QUICK_QUAD if quick else QuadratureConfig()
    return signal_measurement(cevns_templates(PREFERRED, quad),
                              electron_templates("stepping", quad), "combined")
