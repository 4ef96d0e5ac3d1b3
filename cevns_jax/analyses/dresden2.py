"""Dresden-II reactor CEvNS search (Colaresi et al., PRL 129, 211802 (2022), arXiv:2202.09672):
Rx-ON and Rx-OFF spectra of the 2.924-kg Ge detector NCC-1701 as two Poisson channels.

Source (:func:`dresden2_config`): Dresden-II boiling-water reactor, 2.96 GW thermal, detector
10.39 m from the core centre; these two numbers give 4.8e13 nuebar / (cm^2 s) with the
spectrum below (the flux quoted for the same setup in the public analysis code of
arXiv:2202.10829). Fission fractions 235U 0.58, 239Pu 0.29, 238U 0.08, 241Pu 0.05 (the
average fuel composition used by arXiv:2202.10829; not checked against the PRL text).
Spectrum: Huber (235U, 239Pu, 241Pu) and Mueller (238U) above 2 MeV, the Vogel-Engel
per-isotope tables below 2 MeV; the 238U neutron-capture component is not included.

Detector: natural Ge, 2.924 kg, 96.4 days; Gaussian resolution
sigma^2 = sigma_n^2 + eta F E_ee with sigma_n = 68.5 eV, eta = 2.96 eV, F = 0.11 (the values
of the Dresden-II resolution model as used by arXiv:2202.10829); flat efficiency 1 because
the released rates are acceptance-corrected. The quenching model is a configuration field
(``lindhard``, ``modified_lindhard``, ``fef``, ``ybe``).

Background per channel c in counts / (10 eV 3 kg day) at the bin centre E [keVee]:

    B_c(E) = flat_c + exp_c e^{-slope (E - 0.2)} + l1_c [G(E; c_L1, w_L1)
             + 0.008 G(E; 1.142, w_L2) + r_M G(E; 0.158, w_M)] x 0.010

with G unit-area Gaussians per keV (0.010 keV bins), the widths w(E) = s x sigma(E) from the
resolution model times a shared scale s, the L2/L1 area ratio 0.008 and the M/L1 ratio r_M
constrained to 0.16 +- 3 % (the 71Ge electron-capture peaks of the background model of the
Dresden-II fit). Shared between ON and OFF: the noise slope, the L1 centroid, the width scale
and r_M; the amplitudes (flat_c, exp_c, l1_c) are free per channel (the 71Ge activity differs
between periods: the OFF L1 peak is twice as high per day).

Likelihood: the rates are converted to effective counts n_eff = (rate / error)^2 (see
:mod:`cevns_jax.datasets.dresden2`); the expected rate times rate / error^2 is the expected
effective count, and each channel is a binned Poisson likelihood. The ON channel has one
signal row per beam (here "nuebar" CEvNS: SM template times the free strength
``cevns_strength`` (fixed at 1 by default), and the unit-moment EM template). Neutrino-electron
scattering (:func:`electron_templates`: SM and magnetic-moment rows of the same beam, electron
recoils unquenched, same resolution) enters as further rows (:func:`combine_templates`), not
scaled by the CEvNS strength.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..datasets.dresden2 import (DRESDEN2_BIN_KEV, DRESDEN2_MASS_KG, Dresden2Spectra,
                                  dresden2_spectra)
from ..electron_rates import ElectronBeam, atoms_per_tonne, electron_target, smeared_templates
from ..likelihood.measurement import Channel, Components, Measurement, Nuisance
from ..precision import require_x64
from ..quadrature import QuadratureConfig
from ..rates import binned_templates

__all__ = ["DRESDEN2_SOURCE", "RESOLUTION", "PEAKS", "ELECTRON_TRUE_RANGE_KEV", "ChannelTemplates",
           "dresden2_config", "resolution_sigma_kev", "background_rate", "signal_templates",
           "electron_templates", "combine_templates", "measurement"]

#: Reactor and geometry (see the module docstring).
DRESDEN2_SOURCE = {"thermal_power": "2.96 GW", "baseline": "10.39 m",
                   "fission_fractions": {"U235": 0.58, "Pu239": 0.29, "U238": 0.08,
                                         "Pu241": 0.05}}
#: Resolution model: sigma_n [keV], eta [keV], Fano factor F.
RESOLUTION = {"sigma_n": 0.0685, "eta": 2.96e-3, "fano": 0.11}
#: True electron-recoil range of the nu-e templates [keV]: from the lowest Ge binding energy
#: (the 4s4p level, 7.9 eV; below it the stepping model has no electron) to 2 keV (7 sigma
#: above the last bin).
ELECTRON_TRUE_RANGE_KEV = (7.9e-3, 2.0)
#: Spacing of the fixed splits of the true-recoil grid [keV]: below the resolution (sigma >=
#: 68.5 eV), so the Gaussian kernel is resolved by the nodes of every piece.
ELECTRON_GRID_KEV = 0.025
#: 71Ge electron-capture peaks: centroids [keVee] and area ratios to L1.
PEAKS = {"L1": 1.297, "L2": 1.142, "M": 0.158, "L2_to_L1": 0.008, "M_to_L1": 0.16,
         "M_to_L1_sigma": 0.03 * 0.16}


def resolution_sigma_kev(energy_kev):
    """sigma(E) = sqrt(sigma_n^2 + eta F E) [keV] (Dresden-II resolution model)."""
    r = RESOLUTION
    return jnp.sqrt(r["sigma_n"] ** 2 + r["eta"] * r["fano"] * energy_kev)


def dresden2_config(quenching: dict | None = None, *, days: float = 96.4,
                    low_energy: str = "vogel_engel") -> dict:
    """Experiment configuration of the Rx-ON period (``quenching``: the detector.quenching
    block, Fef by default); bins are the 130 release bins, 0.200-1.500 keVee."""
    edges_ev = [200 + 10 * k for k in range(131)]
    stochastic_ev = RESOLUTION["eta"] * RESOLUTION["fano"] * 1e3
    return {
        "name": "Dresden-II", "setup": "current", "group": "reactor",
        "reference": "PRL 129, 211802 (2022); arXiv:2202.09672",
        "source": {"type": "reactor", "thermal_power": DRESDEN2_SOURCE["thermal_power"],
                   "baseline": DRESDEN2_SOURCE["baseline"], "time": f"{days} day",
                   "fission_fractions": dict(DRESDEN2_SOURCE["fission_fractions"]),
                   "spectrum": {"high_energy": "huber2011", "low_energy": low_energy}},
        "detector": {"material": "Ge", "mass": "2.924 kg", "threshold": "200 eVee",
                     "bins": [f"{e} eVee" for e in edges_ev],
                     "efficiency": {"type": "flat", "value": 1.0},
                     "resolution": {"type": "gaussian",
                                    "noise": f"{RESOLUTION['sigma_n'] * 1e3} eVee",
                                    "stochastic": f"{stochastic_ev} eVee"},
                     "quenching": dict(quenching or {"model": "fef"})},
        "physics": {"cross_section": "paper000", "form_factor": "symmetrized_fermi",
                    "kinematics": "exact", "sin2_theta_w": 0.23120},
    }


@dataclasses.dataclass(frozen=True)
class ChannelTemplates:
    """Signal rows of the ON channel in counts / (10 eV 3 kg day): ``sm`` and ``em`` of shape
    (n_rows, 130), one row per ``beams`` label; ``cevns`` marks the rows scaled by the CEvNS
    strength."""

    beams: tuple
    sm: np.ndarray
    em: np.ndarray
    cevns: tuple

    def __post_init__(self):
        n = len(self.beams)
        for name in ("sm", "em"):
            a = np.asarray(getattr(self, name))
            if a.ndim != 2 or a.shape[0] != n:
                raise ValueError(f"ChannelTemplates.{name} must have shape ({n}, n_bins), "
                                 f"got {a.shape}")
        if len(self.cevns) != n:
            raise ValueError(f"ChannelTemplates.cevns needs one flag per beam row, got "
                             f"{self.cevns!r} for beams {self.beams!r}")


def signal_templates(experiment, spectra: Dresden2Spectra | None = None, quad=None):
    """CEvNS templates of a built Dresden-II experiment, converted to rate units by the nominal
    ON exposure (96.4 d x 2.924 kg / 3 kg): a :class:`ChannelTemplates` with one "nuebar" row."""
    spectra = spectra or dresden2_spectra()
    quad = quad or QuadratureConfig()
    t = binned_templates(experiment, quad=quad)
    scale = 1.0 / spectra.exposure_factor("on")
    return ChannelTemplates(experiment.beam_names, np.asarray(t.sm) * scale,
                            np.asarray(t.em) * scale, (True,) * len(experiment.beams))


def electron_templates(experiment, spectra: Dresden2Spectra | None = None,
                       binding: str = "stepping", quad=None, n_bin: int = 8):
    """Neutrino-electron templates (SM and unit-moment EM) of the same reactor beam as the
    CEvNS templates of ``experiment``, in the release bins: electron recoils are not quenched,
    so the true recoil T [keV] is the electron-equivalent energy, smeared by
    :func:`resolution_sigma_kev` (:func:`cevns_jax.electron_rates.smeared_templates`, true T on
    :data:`ELECTRON_TRUE_RANGE_KEV` split every :data:`ELECTRON_GRID_KEV` and at the shell
    edges, ``binding`` "stepping" or "free"). A
    :class:`ChannelTemplates` with one "nuebar" row (``cevns=False``) in counts / (10 eV 3 kg
    day), converted by the nominal ON exposure like :func:`signal_templates`."""
    spectra = spectra or dresden2_spectra()
    quad = quad or QuadratureConfig()
    target = electron_target("Ge", binding)
    if any(b.flavour != "nuebar" for b in experiment.beams):
        raise ValueError(f"the Dresden-II nu-e channel needs a reactor nuebar beam, got "
                         f"{[b.flavour for b in experiment.beams]}")
    beams = tuple(ElectronBeam(b.name, b.flavour, b.parts, b.fluence, 1.0, True)
                  for b in experiment.beams)
    n_atoms = DRESDEN2_MASS_KG * 1e-3 * atoms_per_tonne("Ge")
    lo, hi = ELECTRON_TRUE_RANGE_KEV
    grid = np.arange(ELECTRON_GRID_KEV, hi, ELECTRON_GRID_KEV) * 1e-3

    def build():
        return smeared_templates(
            target, beams, np.asarray(ELECTRON_TRUE_RANGE_KEV) * 1e-3,
            spectra.edges_kev * 1e-3, n_atoms, lambda t: 1e-3 * resolution_sigma_kev(t * 1e3),
            lambda e: jnp.ones_like(e), quad=quad, n_bin=n_bin, breakpoints_mev=grid)

    t = jax.jit(build)()
    scale = 1.0 / spectra.exposure_factor("on")
    return ChannelTemplates(tuple(b.label for b in beams), np.asarray(t.sm) * scale,
                            np.asarray(t.em) * scale, (False,) * len(beams))


def combine_templates(*parts: ChannelTemplates, em: tuple | None = None) -> ChannelTemplates:
    """The rows of several :class:`ChannelTemplates` in one; ``em`` (one flag per part, default
    all True) keeps or zeroes each part's EM rows (e.g. CEvNS at its SM prediction without its
    magnetic-moment term, for a nu-e-only limit)."""
    em = (True,) * len(parts) if em is None else tuple(em)
    if len(em) != len(parts):
        raise ValueError(f"need one em flag per part ({len(parts)}), got {em!r}")
    return ChannelTemplates(
        sum((p.beams for p in parts), ()), np.concatenate([p.sm for p in parts]),
        np.concatenate([p.em if keep else np.zeros_like(p.em) for p, keep in zip(parts, em)]),
        sum((tuple(p.cevns) for p in parts), ()))


def _gauss(energy, centre, width):
    return jnp.exp(-0.5 * ((energy - centre) / width) ** 2) / (jnp.sqrt(2 * jnp.pi) * width)


def background_rate(energy_kev, nu, channel: str):
    """B_c(E) of the module docstring for channel "on" or "off" (nuisance dict ``nu``)."""
    scale = nu["width_scale"]
    l1 = _gauss(energy_kev, nu["l1_centre"], scale * resolution_sigma_kev(PEAKS["L1"]))
    l2 = _gauss(energy_kev, PEAKS["L2"], scale * resolution_sigma_kev(PEAKS["L2"]))
    m = _gauss(energy_kev, PEAKS["M"], scale * resolution_sigma_kev(PEAKS["M"]))
    peaks = l1 + PEAKS["L2_to_L1"] * l2 + nu["m_to_l1"] * m
    noise = nu[f"exp_{channel}"] * jnp.exp(-nu["slope"] * (energy_kev - 0.2))
    return nu[f"flat_{channel}"] + noise + nu[f"l1_{channel}"] * peaks * DRESDEN2_BIN_KEV


def _on_expected(data, nu):
    strength = jnp.where(data["cevns"] > 0, nu["cevns_strength"], 1.0)[:, None]
    cpr = data["counts_per_rate"]
    return Components(strength * data["sm"] * cpr, data["em"] * cpr,
                      background_rate(data["energy"], nu, "on") * cpr)


def _off_expected(data, nu):
    empty = jnp.zeros((0, data["energy"].size))
    return Components(empty, empty, background_rate(data["energy"], nu, "off")
                      * data["counts_per_rate"])


def _starting_values(spectra: Dresden2Spectra, channel: str) -> dict:
    """Rough amplitudes read off the spectrum: flat level (0.9-1.1 keV median), exponential
    excess at threshold, L1 area (1.2-1.4 keV excess)."""
    e, r = spectra.centres_kev, spectra.rate[channel]
    flat = float(np.median(r[(e > 0.9) & (e < 1.1)]))
    excess = float(np.mean(r[:3]) - flat)
    peak = (e > 1.2) & (e < 1.4)
    l1 = float(np.sum(r[peak] - flat)) / 0.9   # ~90 % of a 72-eV Gaussian lies in +-100 eV
    return {f"flat_{channel}": flat, f"exp_{channel}": max(excess, 1.0), f"l1_{channel}": l1}


def measurement(templates: ChannelTemplates, spectra: Dresden2Spectra | None = None,
                strength: str = "fixed", with_off: bool = True,
                e_max_kev: float | None = None) -> Measurement:
    """The ON + OFF :class:`Measurement`; ``strength`` "fixed" (SM CEvNS, for moment limits)
    or "profiled" (free CEvNS strength >= 0); ``with_off=False``: the ON channel alone (the
    OFF amplitudes are then dropped); ``e_max_kev``: only the bins centred below it (a
    fit-range check; the starting values still come from the whole spectrum)."""
    require_x64()
    if strength not in ("fixed", "profiled"):
        raise ValueError(f"strength must be 'fixed' or 'profiled', got {strength!r}")
    spectra = spectra or dresden2_spectra()
    if templates.sm.shape[1] != spectra.centres_kev.size:
        raise ValueError(f"templates have {templates.sm.shape[1]} bins, the spectra "
                         f"{spectra.centres_kev.size}")
    keep = np.ones(spectra.centres_kev.size, dtype=bool)
    if e_max_kev is not None:
        keep = spectra.centres_kev < e_max_kev
        if keep.sum() < 20:
            raise ValueError(f"e_max_kev = {e_max_kev} keeps {keep.sum()} bins; the background "
                             "model needs at least 20 (e_max_kev >= 0.4)")
    energy = jnp.asarray(spectra.centres_kev[keep])
    on = Channel(
        observed=jnp.asarray(spectra.effective_counts("on")[keep]),
        data={"energy": energy, "sm": jnp.asarray(templates.sm[:, keep]),
              "em": jnp.asarray(templates.em[:, keep]),
              "cevns": jnp.asarray(templates.cevns, dtype=jnp.float64),
              "counts_per_rate": jnp.asarray(spectra.counts_per_rate("on")[keep])},
        name="dresden2_on", beams=tuple(templates.beams), expected_fn=_on_expected)
    off = Channel(
        observed=jnp.asarray(spectra.effective_counts("off")[keep]),
        data={"energy": energy,
              "counts_per_rate": jnp.asarray(spectra.counts_per_rate("off")[keep])},
        name="dresden2_off", beams=(), expected_fn=_off_expected)
    start = {**_starting_values(spectra, "on"),
             **(_starting_values(spectra, "off") if with_off else {})}
    free = [Nuisance(k, v, None, 0.0) for k, v in start.items()]
    nuisances = free + [
        Nuisance("slope", 8.0, None, 0.0),
        Nuisance("l1_centre", PEAKS["L1"], None, 1.2, 1.4),
        Nuisance("width_scale", 1.0, None, 0.5, 2.0),
        Nuisance("m_to_l1", PEAKS["M_to_L1"], PEAKS["M_to_L1_sigma"], 0.0),
        Nuisance("cevns_strength", 1.0, None, 0.0, 50.0, treatment=strength),
    ]
    channels = (on, off) if with_off else (on,)
    return Measurement(channels, tuple(nuisances), name="dresden2")
