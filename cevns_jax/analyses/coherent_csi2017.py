"""COHERENT CsI[Na] first observation (Science 357, 1123 (2017); release arXiv:1804.09459)
as a Measurement.

One Poisson channel: coincidence (C) beam-on counts in the release's 2-PE x 0.5-us bins with
6 <= PE < 30 and t < 6 us (12 x 12 bins, 547 events). Expected counts (flattened PE-major):

    N = f_flux [n_cevns S_b + mu2_b E_b] + n_ss SS + n_n PN

- S_b, E_b: SM and unit-moment recoil spectra per SNS beam (:func:`cevns_jax.rates.
  differential_rate`; analytic pi-DAR spectra, 0.08 nu/flavour/POT, 1.76e23 POT, 19.3 m,
  14.57 kg) folded with the release's response: mean PE = LY QF T (LY 13.348 PE/keVee,
  QF 0.0878, energy independent), Poisson-distributed PE count n, acceptance
  a / (1 + exp(-k (x - x0))) H(x - 5) at the 1-PE bin centre x = n + 1/2 (release parameter
  file), and the released arrival-time PDFs (prompt nu_mu; delayed nu_e, anti-nu_mu).
- SS: the anti-coincidence (AC) beam-on counts (405 in the region) as the product of their
  PE and time projections, N_AC(PE) N_AC(t) / N_AC (:func:`steady_state_template`): the
  separable form removes the 2-D bin noise (2.8 counts per bin) and keeps the AC time
  dependence, which is not uniform (102 counts in the first 1 us against 67.5 for a flat
  rate, chi2 32.5 for 11 degrees of freedom); constrained normalisation with sigma
  1/sqrt(405).
- PN: prompt beam neutrons, the released PE spectrum per GWhr x 7.47594 GWhr x acceptance,
  times the released prompt-neutron arrival PDF; 25 % normalisation uncertainty (release).

Nuisances (prefix ``csi2017_``): ``cevns_norm`` (free), ``flux`` (10 %), ``qf`` (relative,
0.0166/0.0878 = 18.9 %), ``acc_a``, ``acc_k``, ``acc_x0`` (sigma 1: quadratic interpolation
through the release's asymmetric +-1 sigma values), ``ss_norm``, ``neutron_norm`` (25 %).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from ..datasets import coherent_csi2017 as release
from ..detector_response.csi import interpolate_sets
from ..experiments import build_experiment
from ..experiments.catalog import get_config
from ..likelihood.measurement import Channel, Components, Measurement, Nuisance
from .coherent_csi2021 import SS_MODELS, recoil_templates
from .csi_sideband import with_ac_sideband

__all__ = ["build", "csi2017_experiment", "acceptance", "signal_in_roi", "steady_state_template",
           "PE_ROWS", "T_COLUMNS"]

PREFIX = "csi2017_"
MODES = ("cevns", "moments")
#: Rows (2-PE bins with 6 <= PE < 30) and columns (t < 6 us) of the release grid.
PE_ROWS = np.nonzero((release.PE_VALUES >= 6) & (release.PE_VALUES <= 30))[0]
T_COLUMNS = np.nonzero(release.T_CENTRES_US < 6)[0]
N_PE = 50                                       # 1-PE counts 0 ... 49 (the release grid)
TIME_PDF = {"prompt": "prompt_neutrinos", "delayed_nue": "delayed_neutrinos",
            "delayed_numubar": "delayed_neutrinos"}


def csi2017_experiment():
    """Catalogue entry COHERENT-CsI [current] (1.76e23 POT, 0.08 nu/flavour/POT, 19.3 m,
    14.57 kg) with unit efficiency: the release's acceptance is applied in PE."""
    config = get_config("COHERENT-CsI", "current")
    config["name"] = "COHERENT-CsI-2017"
    config["detector"].update(threshold="1 keVnr", efficiency={"type": "flat", "value": 1.0})
    return build_experiment(config)


def acceptance(pe, a, k, x0):
    """Release acceptance a / (1 + exp(-k (x - x0))) H(x - 5), H = 0, 1/2, 1 for x < 5,
    5 <= x < 6, x >= 6 (release parameter file)."""
    step = jnp.where(pe < 5, 0.0, jnp.where(pe < 6, 0.5, 1.0))
    return a / (1.0 + jnp.exp(-k * (pe - x0))) * step


def _acceptance_params(data, nu):
    p = data["acceptance"]          # rows: nominal, +1 sigma, -1 sigma; columns a, k, x0
    return [interpolate_sets(p[0, i], p[1, i], p[2, i], nu[PREFIX + name])
            for i, name in enumerate(("acc_a", "acc_k", "acc_x0"))]


def _fold_pe(per_count, acc):
    """1-PE counts (..., 50) x acceptance -> the 12 analysis 2-PE bins (..., 12)."""
    pairs = (per_count * acc).reshape(*per_count.shape[:-1], N_PE // 2, 2).sum(-1)
    return pairs[..., PE_ROWS]


def signal_pe(data, nu):
    """(SM, EM) per beam in the 12 PE bins (before flux and CEvNS normalisations): Poisson
    PE counts with mean LY QF T folded with the acceptance."""
    mean = data["pe_per_kevnr"] * (1.0 + nu[PREFIX + "qf"]) * 1e3 * data["recoil"]
    n = jnp.arange(N_PE, dtype=jnp.float64)[:, None]
    pmf = jnp.exp(n * jnp.log(mean)[None, :] - mean[None, :] - gammaln(n + 1.0))   # (50, n_T)
    acc = acceptance(jnp.arange(N_PE) + 0.5, *_acceptance_params(data, nu))
    sm = _fold_pe(data["rate_sm"] @ pmf.T, acc)
    em = _fold_pe(data["rate_em"] @ pmf.T, acc)
    return sm, em


def _expected(data, nu):
    sm, em = signal_pe(data, nu)
    times = data["time_pdf"]                                      # (n_beams, 12)
    n_beams = times.shape[0]
    sm = (sm[:, :, None] * times[:, None, :]).reshape(n_beams, -1)
    em = (em[:, :, None] * times[:, None, :]).reshape(n_beams, -1)
    acc = acceptance(jnp.arange(N_PE) + 0.5, *_acceptance_params(data, nu))
    neutrons = _fold_pe(data["neutron_pe"], acc)[:, None] * data["neutron_time"][None, :]
    background = (nu[PREFIX + "ss_norm"] * data["ss"]
                  + nu[PREFIX + "neutron_norm"] * neutrons.ravel())
    flux = nu[PREFIX + "flux"]
    return Components(flux * nu[PREFIX + "cevns_norm"] * sm, flux * em, background)


def _roi(hist):
    return np.asarray(hist)[np.ix_(PE_ROWS, T_COLUMNS)]


def steady_state_template(ac):
    """Steady-state expectation (n_pe, n_t) from the AC histogram ``ac``: outer product of its
    PE and time projections over its total (the maximum-likelihood estimate of a PE x time
    independent rate; keeps the measured time dependence, smooths the 2-D bin noise)."""
    ac = np.asarray(ac, dtype=np.float64)
    total = ac.sum()
    if total <= 0:
        raise ValueError(f"anti-coincidence histogram has {total} counts; expected > 0")
    return np.outer(ac.sum(1), ac.sum(0)) / total


def build(mode: str = "cevns", n_nodes: int = 12, experiment=None,
          ss_model: str = "template") -> Measurement:
    """The CsI 2017 Measurement; ``mode`` "cevns" (CEvNS normalisation free, flux fixed) or
    "moments" (CEvNS normalisation fixed at 1, flux prior 10 %); ``ss_model`` "template"
    or "sideband" (AC counts as a second Poisson channel, SS free per PE bin and per time
    bin: :mod:`.csi_sideband`)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    if ss_model not in SS_MODELS:
        raise ValueError(f"unknown ss_model {ss_model!r}; expected one of {SS_MODELS}")
    experiment = experiment or csi2017_experiment()
    params = release.coherent_csi2017_parameters()
    errors = release.coherent_csi2017_parameter_uncertainties()
    recoil, rate_sm, rate_em = recoil_templates(experiment, n_nodes)
    pdfs = release.coherent_csi2017_arrival_pdfs()
    ac = _roi(release.coherent_csi2017_histogram("anticoincidence", "beamOn"))
    observed = _roi(release.coherent_csi2017_histogram("coincidence", "beamOn"))
    _, neutron_rate = release.coherent_csi2017_prompt_neutron_pe()
    acc = np.array([[params[f"acceptance_{p}"] for p in ("a", "k", "x_0")]])
    acc_hi = acc + np.array([[errors[f"acceptance_{p}"][0] for p in ("a", "k", "x_0")]])
    acc_lo = acc - np.array([[errors[f"acceptance_{p}"][1] for p in ("a", "k", "x_0")]])
    data = {
        "recoil": recoil, "rate_sm": rate_sm, "rate_em": rate_em,
        "pe_per_kevnr": jnp.asarray(params["csi_light_yield"] * params["csi_quenching_factor"]),
        "acceptance": jnp.asarray(np.concatenate([acc, acc_hi, acc_lo])),
        "time_pdf": jnp.asarray(np.stack([pdfs[TIME_PDF[b]][T_COLUMNS]
                                          for b in experiment.beam_names])),
        "ss": jnp.asarray(steady_state_template(ac).ravel()),
        "neutron_pe": jnp.asarray(neutron_rate * params["beam_exposure"]),
        "neutron_time": jnp.asarray(pdfs["prompt_neutrons"][T_COLUMNS]),
    }
    channel = Channel(observed=jnp.asarray(observed.ravel()), data=data, name="csi2017",
                      beams=tuple(b.flavour for b in experiment.beams), statistic="poisson",
                      expected_fn=_expected)
    qf_rel = errors["csi_quenching_factor"][0] / params["csi_quenching_factor"]
    flux_rel = errors["neutrinos_per_proton_per_flavor"][0] / params["neutrinos_per_proton_per_flavor"]
    nuisances = (
        Nuisance(PREFIX + "cevns_norm", 1.0, None, lower=0.0),
        Nuisance(PREFIX + "flux", 1.0, flux_rel, lower=0.0),
        Nuisance(PREFIX + "qf", 0.0, qf_rel, lower=-0.9, upper=2.0),
        Nuisance(PREFIX + "acc_a", 0.0, 1.0, lower=-5.0, upper=5.0),
        Nuisance(PREFIX + "acc_k", 0.0, 1.0, lower=-5.0, upper=5.0),
        Nuisance(PREFIX + "acc_x0", 0.0, 1.0, lower=-5.0, upper=5.0),
        Nuisance(PREFIX + "ss_norm", 1.0, 1.0 / math.sqrt(ac.sum()), lower=0.0),
        Nuisance(PREFIX + "neutron_norm", 1.0, errors["prompt_neutron_normalization"][0],
                 lower=0.0),
    )
    measurement = Measurement((channel,), nuisances, name="coherent_csi2017")
    fixed = [PREFIX + "flux"] if mode == "cevns" else [PREFIX + "cevns_norm"]
    measurement = measurement.with_treatment("fixed", fixed)
    if ss_model == "sideband":
        measurement = with_ac_sideband(measurement, ac, PREFIX, time_free=True)
    return measurement


def signal_in_roi(measurement, nu=None):
    """SM CEvNS events per beam in the region at nuisances ``nu`` (no normalisations)."""
    full = measurement.nominal_nuisances()
    full.update(nu or {})
    full.update({PREFIX + "cevns_norm": 1.0, PREFIX + "flux": 1.0})
    return jnp.sum(measurement.channels[0].components(full).signal_sm, axis=1)

