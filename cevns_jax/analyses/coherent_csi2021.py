"""COHERENT CsI[Na] full data set (PRL 129, 081801 (2022), arXiv:2110.07730) as a Measurement.

One Poisson channel: the beam-on coincidence (C) events binned in PE x t_rec inside the
cross-section region PE < 60, t_rec < 6 us. Expected counts per bin (flattened PE-major):

    N = f_flux [n_cevns S_b(qf, eff, dt) + mu2_b E_b(qf, eff, dt)] + n_ss SS + n_brn BRN + n_nin NIN

- S_b, E_b: SM and unit-moment (1e-10 mu_B) recoil spectra of each SNS beam
  (:func:`cevns_jax.rates.differential_rate`; analytic pi-DAR spectra, 0.0848 nu/flavour/POT,
  3.198e23 POT, 19.3 m, 14.6 kg CsI) folded with :mod:`cevns_jax.detector_response.csi`:
  PE response (scintillation polynomial, Gamma smearing, PE efficiency) x arrival-time bin
  probabilities (``sns_timing`` with POT mean 0.570 us and width 0.157 us, times the timing
  efficiency). The release lacks the SNS flux/timing file; the POT trace was fitted to the
  released NIN t_rec PDF (neutrons made by the same neutrinos in the lead shield, reaching the
  crystal within tens of ns): least squares of a prompt + delayed mixture, see
  ``docs/coherent_csi.md``.
- SS: the anti-coincidence (AC) beam-on events (the steady-state background measured in an
  equal window before the beam): their PE histogram spread over t_rec in proportion to the
  timing efficiency (:func:`steady_state_template`); the AC statistical uncertainty enters as
  a constrained normalisation, sigma = 1/sqrt(N_AC) = 2.8 %. ``ss_model="sideband"``
  instead makes the AC counts a second Poisson channel with the SS free per PE bin
  (:mod:`.csi_sideband`), which also propagates the AC PE-shape statistics.
- BRN, NIN: released PE and t_rec shapes (PE shapes include the PE efficiency; t_rec shapes
  are multiplied by the timing efficiency here), normalised to 18.4 and 5.6 events in the region.

Nuisances (prefix ``csi2021_``): ``cevns_norm`` (CEvNS normalisation, unconstrained, >= 0; the
"fitted events" result), ``flux`` (10 % neutrino-flux normalisation, SM and EM), ``qf_pc0``,
``qf_pc1`` (scintillation-response principal components, sigma 1), ``pe_eff`` (PE efficiency,
sigma 1), ``timing_offset`` (us, shift of the CEvNS arrival times, sigma 0.1 us),
``ss_norm``, ``brn_norm`` (sigma 25 %), ``nin_norm`` (sigma 35 %). ``mode="cevns"`` fixes
``flux`` (degenerate with the free ``cevns_norm``); ``mode="moments"`` fixes ``cevns_norm``
at 1 and keeps the flux prior.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..datasets import coherent_csi2021 as release
from ..detector_response import csi as response
from ..experiments import build_experiment
from ..experiments.catalog import get_config
from ..likelihood.measurement import Channel, Components, Measurement, Nuisance
from ..physics.kinematics import recoil_max
from ..constants import E_NU_PROMPT, M_MUON
from ..quadrature import log_nodes
from ..rates import differential_rate
from .csi_sideband import with_ac_sideband

__all__ = ["PE_EDGES", "T_EDGES_US", "POT_MEAN_US", "POT_WIDTH_US", "BRN_EVENTS", "NIN_EVENTS",
           "csi2021_experiment", "recoil_templates", "build", "observed_histogram",
           "neutron_template", "steady_state_template", "signal_in_roi"]

#: PE bins (integer edges, aligned with the released 1-PE neutron shapes) and t_rec bins [us].
PE_EDGES = np.array([0.0, 8.0] + list(np.arange(12.0, 61.0, 4.0)))
T_EDGES_US = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0])
#: POT trace in t_rec (Gaussian mean and width, us), fitted to the released NIN t_rec PDF.
POT_MEAN_US = 0.570
POT_WIDTH_US = 0.157
#: Expected BRN and NIN counts in PE < 60, t_rec < 6 us (PRL 129, 081801 supplement).
BRN_EVENTS = 18.4
NIN_EVENTS = 5.6
PRIORS = {"flux": 0.10, "brn_norm": 0.25, "nin_norm": 0.35, "timing_offset": 0.1}
MODES = ("cevns", "moments")
RESPONSE_MODELS = ("exact", "morphed")
SS_MODELS = ("template", "sideband")
PREFIX = "csi2021_"


def csi2021_experiment():
    """The CsI[Na] 2021 exposure as a built Experiment (catalogue entry COHERENT-CsI with the
    2021 numbers: 3.198e23 POT, 0.0848 nu/flavour/POT, 19.3 m, 14.6 kg; unit efficiency,
    since the detector response is applied in PE)."""
    config = get_config("COHERENT-CsI", "current")
    config["name"] = "COHERENT-CsI-2021"
    config["source"].update(pot="3.198e23 POT", nu_per_flavor_per_pot=0.0848, baseline="19.3 m")
    config["detector"].update(mass="14.6 kg", threshold="1 keVnr",
                              efficiency={"type": "flat", "value": 1.0})
    return build_experiment(config)


def recoil_templates(experiment, n_nodes: int = 12):
    """Recoil nodes T_j [MeV] and weighted rates w_j dN_b/dT(T_j) per beam (SM, EM).

    Gauss-Legendre in log T on pieces from 1 keV to the largest end point, split at the
    kinematic end points of the prompt line and of the Michel end point for Cs and I (kinks
    of dN/dT). Below 1 keVnr the mean signal is < 1 PE and the efficiency vanishes below 7 PE."""
    masses = np.asarray(experiment.detector.target.nuclear_mass)
    ends = np.concatenate([np.asarray(recoil_max(E_NU_PROMPT, masses)),
                           np.asarray(recoil_max(0.5 * M_MUON, masses))])
    grid = np.array([1e-3, 2e-3, 4e-3, 7e-3, 1e-2, 2e-2, 3e-2, 4e-2])
    points = np.unique(np.concatenate([grid[grid < ends.max()], ends]))
    recoil, weight = log_nodes(jnp.asarray(points[:-1]), jnp.asarray(points[1:]), n_nodes)
    recoil, weight = recoil.ravel(), weight.ravel()
    rates = jax.jit(lambda t: differential_rate(experiment, t))(recoil)   # once, at set-up
    return recoil, weight * rates.sm, weight * rates.em


def observed_histogram(events, pe_edges=PE_EDGES, t_edges=T_EDGES_US):
    """Counts in (PE, t_rec) bins, shape (n_pe, n_t)."""
    counts, _, _ = np.histogram2d(events[:, 0], events[:, 1], bins=[pe_edges, t_edges])
    return counts


def steady_state_template(events, pe_edges=PE_EDGES, t_edges=T_EDGES_US):
    """Steady-state expectation (n_pe, n_t) from the AC events: their PE histogram in
    t_rec < 6 us, spread over t_rec in proportion to the timing efficiency (a random
    background is uniform in time; the AC counts fall by 15 % from the first to the second
    half of the window, as the efficiency does). Smoothing in time removes the bin-by-bin
    fluctuations of a 2-D AC histogram (6.6 counts per bin), which bias a Poisson fit."""
    roi = events[:, 1] < release.ROI_T_MAX_US
    pe_counts = np.histogram(events[roi, 0], bins=pe_edges)[0]
    step = 0.001
    fine = np.arange(0.0, release.ROI_T_MAX_US + 0.5 * step, step)
    eff = np.asarray(response.timing_efficiency(0.5 * (fine[1:] + fine[:-1]))) * step
    t_weight = np.asarray(response.bin_fine(jnp.asarray(eff), fine, t_edges)) / eff.sum()
    return np.outer(pe_counts, t_weight)


def neutron_template(kind: str, total: float, pe_edges=PE_EDGES, t_edges=T_EDGES_US):
    """BRN or NIN expectation (n_pe, n_t): released PE shape x (t_rec shape x timing
    efficiency), scaled to ``total`` events in PE < 60, t_rec < 6 us."""
    pe_centres, pe_shape = release.load_neutron_pdf(kind, "PE")
    t_centres, t_shape = release.load_neutron_pdf(kind, "trec")
    pe_binned = np.histogram(pe_centres, bins=pe_edges, weights=pe_shape)[0]
    t_weighted = t_shape * np.asarray(response.timing_efficiency(t_centres))
    t_binned = np.histogram(t_centres, bins=t_edges, weights=t_weighted)[0]
    in_roi_pe = pe_shape[pe_centres < release.ROI_PE_MAX].sum()
    in_roi_t = t_weighted[(t_centres >= 0) & (t_centres < release.ROI_T_MAX_US)].sum()
    return total * np.outer(pe_binned / in_roi_pe, t_binned / in_roi_t)


def _coefficients(data, z_pc0, z_pc1, z_eff):
    qf, eff = data["qf"], data["eff"]
    pc0 = response.interpolate_sets(qf[0], qf[1], qf[2], z_pc0)
    pc1 = response.interpolate_sets(qf[0], qf[3], qf[4], z_pc1)
    return pc0 + pc1 - qf[0], response.interpolate_sets(eff[0], eff[1], eff[2], z_eff)


def signal_pe(data, z_pc0, z_pc1, z_eff, pe_edges):
    """(SM, EM) PE spectra per beam, shape (n_beams, n_pe), exact response."""
    qf, eff = _coefficients(data, z_pc0, z_pc1, z_eff)
    matrix = response.pe_response_matrix(data["recoil"], qf, eff, pe_edges)
    return data["rate_sm"] @ matrix.T, data["rate_em"] @ matrix.T


def signal_time(beams, offset, t_edges):
    """Arrival-time bin probabilities x timing efficiency per beam, shape (n_beams, n_t)."""
    return jnp.stack([response.time_bin_probabilities(t_edges, b, POT_MEAN_US + offset,
                                                      POT_WIDTH_US) for b in beams])


def _morph(table, z):
    """table[0] + z (table[1] - table[2])/2 + z^2 (table[1] + table[2] - 2 table[0])/2."""
    return response.interpolate_sets(table[0], table[1], table[2], z)


def morph_tables(data, beams, pe_edges, t_edges):
    """Templates at 0, +1 and -1 sigma of each response nuisance (exact response, others at
    0), for the quadratic template interpolation of ``response_model="morphed"``."""
    zs = np.zeros((3, 3, 3))                      # (nuisance, node 0/+1/-1, z vector)
    zs[np.arange(3), 1, np.arange(3)] = 1.0
    zs[np.arange(3), 2, np.arange(3)] = -1.0
    flat = jnp.asarray(zs.reshape(-1, 3))
    pe = jax.vmap(lambda z: jnp.stack(signal_pe(data, z[0], z[1], z[2], pe_edges)))(flat)
    pe = pe.reshape(3, 3, *pe.shape[1:])          # (nuisance, node, sm/em, beam, pe)
    tables = {name: pe[i] for i, name in enumerate(("qf_pc0", "qf_pc1", "pe_eff"))}
    sigma = PRIORS["timing_offset"]
    tables["timing_offset"] = jax.vmap(lambda dt: signal_time(beams, dt, t_edges))(
        jnp.asarray([0.0, sigma, -sigma]))
    return tables


def signal_pe_t(data, nu, beams, pe_edges, t_edges, exact=True):
    """(SM, EM) expectations per beam in (PE, t) bins, shape (n_beams, n_pe, n_t), before
    the flux and CEvNS normalisations. ``exact``: the full response at the nuisance values;
    otherwise the quadratic interpolation of the +-1 sigma templates in each nuisance
    (PE and time parts multiply, so PE x time cross terms stay exact)."""
    z = {k: nu[PREFIX + k] for k in ("qf_pc0", "qf_pc1", "pe_eff", "timing_offset")}
    if exact:
        sm_pe, em_pe = signal_pe(data, z["qf_pc0"], z["qf_pc1"], z["pe_eff"], pe_edges)
        times = signal_time(beams, z["timing_offset"], t_edges)
    else:
        tables = data["morph"]
        pe = tables["qf_pc0"][0] + sum(_morph(tables[k], z[k]) - tables[k][0]
                                       for k in ("qf_pc0", "qf_pc1", "pe_eff"))
        pe = jnp.maximum(pe, 0.0)
        sm_pe, em_pe = pe[0], pe[1]
        times = jnp.maximum(_morph(tables["timing_offset"],
                                   z["timing_offset"] / PRIORS["timing_offset"]), 0.0)
    return sm_pe[:, :, None] * times[:, None, :], em_pe[:, :, None] * times[:, None, :]


def _expected_fn(beams, pe_edges, t_edges, exact):
    def expected(data, nu):
        sm, em = signal_pe_t(data, nu, beams, pe_edges, t_edges, exact)
        flux = nu[PREFIX + "flux"]
        n_beams = len(beams)
        background = (nu[PREFIX + "ss_norm"] * data["ss"] + nu[PREFIX + "brn_norm"] * data["brn"]
                      + nu[PREFIX + "nin_norm"] * data["nin"])
        return Components(flux * nu[PREFIX + "cevns_norm"] * sm.reshape(n_beams, -1),
                          flux * em.reshape(n_beams, -1), background)
    return expected


def nuisances(n_ac: int) -> tuple:
    """The nuisances with the priors stated in the module docstring."""
    return (
        Nuisance(PREFIX + "cevns_norm", 1.0, None, lower=0.0),
        Nuisance(PREFIX + "flux", 1.0, PRIORS["flux"], lower=0.0),
        Nuisance(PREFIX + "qf_pc0", 0.0, 1.0, lower=-5.0, upper=5.0),
        Nuisance(PREFIX + "qf_pc1", 0.0, 1.0, lower=-5.0, upper=5.0),
        Nuisance(PREFIX + "pe_eff", 0.0, 1.0, lower=-5.0, upper=5.0),
        Nuisance(PREFIX + "timing_offset", 0.0, PRIORS["timing_offset"], lower=-0.5, upper=0.5),
        Nuisance(PREFIX + "ss_norm", 1.0, 1.0 / math.sqrt(n_ac), lower=0.0),
        Nuisance(PREFIX + "brn_norm", 1.0, PRIORS["brn_norm"], lower=0.0),
        Nuisance(PREFIX + "nin_norm", 1.0, PRIORS["nin_norm"], lower=0.0),
    )


def build(mode: str = "cevns", response_model: str = "morphed", pe_edges=PE_EDGES,
          t_edges=T_EDGES_US, n_nodes: int = 12, experiment=None,
          ss_model: str = "template") -> Measurement:
    """The CsI 2021 Measurement (see module docstring); ``mode`` "cevns" or "moments";
    ``response_model`` "exact" (full response at every nuisance value) or "morphed"
    (quadratic interpolation of templates at 0, +-1 sigma; compiles ~10x faster);
    ``ss_model`` "template" (AC template, normalisation prior) or "sideband" (AC counts as a
    second Poisson channel, SS free per PE bin: :mod:`.csi_sideband`)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    if ss_model not in SS_MODELS:
        raise ValueError(f"unknown ss_model {ss_model!r}; expected one of {SS_MODELS}")
    if response_model not in RESPONSE_MODELS:
        raise ValueError(f"unknown response_model {response_model!r}; expected one of "
                         f"{RESPONSE_MODELS}")
    pe_edges, t_edges = np.asarray(pe_edges, float), np.asarray(t_edges, float)
    if pe_edges[-1] > release.ROI_PE_MAX or t_edges[-1] > release.ROI_T_MAX_US or t_edges[0] < 0:
        raise ValueError(f"bins must lie inside PE < 60, 0 <= t_rec < 6 us; got PE "
                         f"{pe_edges[[0, -1]]}, t {t_edges[[0, -1]]}")
    experiment = experiment or csi2021_experiment()
    recoil, rate_sm, rate_em = recoil_templates(experiment, n_nodes)
    qf = release.load_scintillation_coefficients()
    eff = release.load_efficiency_coefficients()
    ac_events = release.load_events("AC")
    ac = steady_state_template(ac_events, pe_edges, t_edges)
    observed = observed_histogram(release.load_events("C"), pe_edges, t_edges)
    data = {
        "recoil": recoil, "rate_sm": rate_sm, "rate_em": rate_em,
        "qf": jnp.asarray(np.stack([qf[k] for k in ("nominal", "pc0_plus", "pc0_minus",
                                                     "pc1_plus", "pc1_minus")])),
        "eff": jnp.asarray(np.stack([eff[k] for k in ("nominal", "plus", "minus")])),
        "ss": jnp.asarray(ac.ravel()),
        "brn": jnp.asarray(neutron_template("brn", BRN_EVENTS, pe_edges, t_edges).ravel()),
        "nin": jnp.asarray(neutron_template("nin", NIN_EVENTS, pe_edges, t_edges).ravel()),
    }
    exact = response_model == "exact"
    if not exact:
        # evaluated once at set-up; compiled because op-by-op evaluation is ~10x slower
        data["morph"] = jax.jit(lambda d: morph_tables(d, experiment.beam_names, pe_edges,
                                                       t_edges))(data)
    beams = tuple(b.flavour for b in experiment.beams)
    channel = Channel(observed=jnp.asarray(observed.ravel()), data=data, name="csi2021",
                      beams=beams, statistic="poisson",
                      expected_fn=_expected_fn(experiment.beam_names, pe_edges, t_edges, exact))
    n_ac = int(ac.sum())
    measurement = Measurement((channel,), nuisances(n_ac), name="coherent_csi2021")
    fixed = [PREFIX + "flux"] if mode == "cevns" else [PREFIX + "cevns_norm"]
    measurement = measurement.with_treatment("fixed", fixed)
    if ss_model == "sideband":
        measurement = with_ac_sideband(
            measurement, observed_histogram(ac_events, pe_edges, t_edges), PREFIX)
    return measurement


def signal_in_roi(measurement, nu=None):
    """SM CEvNS events per beam in the binned region at nuisances ``nu`` (no normalisations)."""
    channel = measurement.channels[0]
    full = measurement.nominal_nuisances()
    full.update(nu or {})
    full.update({PREFIX + "cevns_norm": 1.0, PREFIX + "flux": 1.0})
    return jnp.sum(channel.components(full).signal_sm, axis=1)
