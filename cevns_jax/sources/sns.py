"""Spallation Neutron Source pi-DAR neutrinos, paper 000 Eq. (28).

Prompt nu_mu: a line at (m_pi^2 - m_mu^2) / (2 m_pi) = 29.79 MeV.
Delayed nu_e: 192 E^2/m_mu^3 (1/2 - E/m_mu); delayed anti-nu_mu: 64 E^2/m_mu^3 (3/4 - E/m_mu),
both on 0 <= E <= m_mu/2 and normalised to one neutrino.
Fluence per flavour: r N_POT / (4 pi L^2) (paper 000 Sect. 4.2).
"""

import math

from ..constants import E_NU_PROMPT, M_MUON
from ..spectra import AnalyticSpectrum, LineSpectrum
from . import Beam

SNS_BEAMS = ("prompt", "delayed_nue", "delayed_numubar")


def michel_nue(energy):
    """Delayed nu_e spectrum 192 E^2/m^3 (1/2 - E/m) [MeV^-1] (paper 000 Eq. 28)."""
    return 192.0 * energy**2 / M_MUON**3 * (0.5 - energy / M_MUON)


def michel_numubar(energy):
    """Delayed anti-nu_mu spectrum 64 E^2/m^3 (3/4 - E/m) [MeV^-1] (paper 000 Eq. 28)."""
    return 64.0 * energy**2 / M_MUON**3 * (0.75 - energy / M_MUON)


def sns_fluence(pot: float, nu_per_flavor_per_pot: float, baseline_cm: float) -> float:
    """Neutrinos per flavour per cm^2: r N_POT / (4 pi L^2)."""
    return nu_per_flavor_per_pot * pot / (4.0 * math.pi * baseline_cm**2)


def sns_beams(pot, nu_per_flavor_per_pot, baseline_cm, beams=SNS_BEAMS) -> tuple:
    """The selected pi-DAR beams with their common per-flavour fluence."""
    fluence = sns_fluence(pot, nu_per_flavor_per_pot, baseline_cm)
    end = 0.5 * M_MUON
    available = {
        "prompt": Beam("prompt", "numu", (LineSpectrum(E_NU_PROMPT),), fluence),
        "delayed_nue": Beam("delayed_nue", "nue", (AnalyticSpectrum(michel_nue, 0.0, end),),
                            fluence),
        "delayed_numubar": Beam("delayed_numubar", "numubar",
                                (AnalyticSpectrum(michel_numubar, 0.0, end),), fluence),
    }
    unknown = [b for b in beams if b not in available]
    if unknown:
        raise ValueError(f"unknown SNS beam(s) {unknown}; expected a subset of {SNS_BEAMS}")
    return tuple(available[b] for b in beams)
