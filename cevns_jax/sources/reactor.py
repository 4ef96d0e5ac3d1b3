"""Reactor electron antineutrinos.

Spectrum per fission: S(E) = sum_i f_i S_i(E) over 235U, 238U, 239Pu, 241Pu.
- E >= 2 MeV: exp-polynomial fits S_i = exp(sum_k alpha_ik E^(k-1)) of Mueller et al.,
  PRC 83, 054615 (2011) (paper 000 ref. [72]) or Huber, PRC 84, 024617 (2011), up to ``e_max``.
- E < 2 MeV (no beta-spectrum measurement; paper 000 cites Kopeikin et al. 1997 [73]):
  ``"vogel_engel"``: per-isotope tables on the Vogel-Engel grid (1/128 ... 2 MeV);
  ``"kopeikin"``: a whole-reactor spectrum per fission (fission fractions fixed by its
  authors); ``"none"``: nothing below 2 MeV. The tables' provenance is in
  ``cevns_jax/data/PROVENANCE.md``; how much the choice moves rates is shown in the
  README (it matters only for sub-keV thresholds on light targets).
Fluence: fissions/cm^2 = P_th t / (sum_i f_i E_i) / (4 pi L^2), E_i the energy released per
fission (Kopeikin et al., Phys. At. Nucl. 67, 1892 (2004)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from .. import datasets
from ..constants import MEV_PER_JOULE
from ..spectra import AnalyticSpectrum, TabulatedSpectrum
from . import Beam

LOW_ENERGY_MODELS = ("vogel_engel", "kopeikin", "none")
HIGH_ENERGY_MODELS = ("mueller2011", "huber2011")
JUNCTION_MEV = 2.0


def _check_fractions(fractions: dict) -> dict:
    isotopes = datasets.reactor_isotopes()
    unknown = [k for k in fractions if k not in isotopes]
    if unknown:
        raise ValueError(f"unknown fissioning isotope(s) {unknown}; expected {isotopes}")
    values = {iso: float(fractions.get(iso, 0.0)) for iso in isotopes}
    if any(v < 0 for v in values.values()) or not math.isclose(sum(values.values()), 1.0,
                                                                rel_tol=1e-3):
        raise ValueError(f"fission fractions must be non-negative and sum to 1, got {fractions}")
    return values


@dataclass(frozen=True)
class ExpPolynomialDensity:
    """E -> sum_i f_i exp(sum_k alpha_ik E^(k-1)) [per MeV per fission]: ``terms`` holds
    (f_i, (alpha_i1, alpha_i2, ...)) as Python numbers, so equal mixtures compare and hash
    equal and share compiled rate kernels."""

    terms: tuple

    def __call__(self, energy):
        total = 0.0
        for f, alpha in self.terms:
            total = total + f * jnp.exp(jnp.polyval(jnp.asarray(alpha[::-1]), energy))
        return total


def exp_polynomial_density(fractions: dict, high_energy: str = "mueller2011"):
    """E -> sum_i f_i exp(sum_k alpha_ik E^(k-1)) [per MeV per fission]
    (Mueller et al. 2011 or Huber 2011 coefficients; Huber has no 238U fit, Mueller's is used)."""
    if high_energy not in HIGH_ENERGY_MODELS:
        raise ValueError(f"unknown reactor parametrisation {high_energy!r}; "
                         f"expected one of {HIGH_ENERGY_MODELS}")
    terms = []
    for iso, f in fractions.items():
        if f == 0.0:
            continue
        model = "mueller2011" if (iso == "U238" and high_energy == "huber2011") else high_energy
        alpha = np.asarray(datasets.mueller_coefficients(iso, model), dtype=np.float64)
        terms.append((float(f), tuple(float(a) for a in alpha)))
    return ExpPolynomialDensity(tuple(terms))


def low_energy_table(fractions: dict, model: str):
    """(E, S(E)) below the 2 MeV junction for ``model`` (see module docstring), or None."""
    if model == "none":
        return None
    if model == "kopeikin":
        energy, value = datasets.kopeikin_reactor_spectrum()
    elif model == "vogel_engel":
        tables = {iso: datasets.reactor_low_energy_table(iso) for iso in fractions}
        energy = next(iter(tables.values()))[0]
        value = sum(f * tables[iso][1] for iso, f in fractions.items())
    else:
        raise ValueError(f"unknown low-energy reactor model {model!r}; "
                         f"expected one of {LOW_ENERGY_MODELS}")
    keep = energy < JUNCTION_MEV
    junction = np.interp(JUNCTION_MEV, energy, value)
    return np.append(energy[keep], JUNCTION_MEV), np.append(value[keep], junction)


def mean_energy_per_fission(fractions: dict, energy_per_fission: dict | None = None) -> float:
    """sum_i f_i E_i [MeV]."""
    per_fission = dict(datasets.energy_per_fission_mev())
    per_fission.update(energy_per_fission or {})
    return sum(f * per_fission[iso] for iso, f in fractions.items())


def reactor_beams(thermal_power_w, baseline_cm, time_s, fission_fractions,
                  low_energy="vogel_engel", high_energy="mueller2011", e_max=10.0,
                  energy_per_fission=None) -> tuple:
    """The reactor anti-nu_e beam: spectrum parts per fission and fissions per cm^2."""
    fractions = _check_fractions(fission_fractions)
    used = {k: v for k, v in fractions.items() if v > 0}
    if not e_max > JUNCTION_MEV:
        raise ValueError(f"reactor spectrum e_max must exceed {JUNCTION_MEV} MeV, got {e_max}")
    parts = [AnalyticSpectrum(exp_polynomial_density(used, high_energy), JUNCTION_MEV, e_max)]
    table = low_energy_table(used, low_energy)
    if table is not None:
        parts.insert(0, TabulatedSpectrum(*table))
    fission_rate = thermal_power_w * MEV_PER_JOULE / mean_energy_per_fission(
        used, energy_per_fission)
    fluence = fission_rate * time_s / (4.0 * math.pi * baseline_cm**2)
    return (Beam("nuebar", "nuebar", tuple(parts), fluence),)
