"""Solar neutrinos from a standard solar model (paper 004 Sect. 2.3).

Components pp, pep, hep, 7Be (0.384 and 0.862 MeV lines), 8B, 13N, 15O, 17F with total
fluxes of BS05(OP) (Bahcall, Serenelli, Basu, ApJ 621 L85 (2005); paper 004 refs [33, 34])
or B16 (Vinyoles et al., ApJ 835, 202 (2017)). Continuous spectra are unit-normalised
tables (piecewise linear); lines are exact. Beams are electron neutrinos at production:
flavour conversion on the way belongs to the magnetic-moment layer.
"""

from __future__ import annotations

from .. import datasets
from ..spectra import LineSpectrum, TabulatedSpectrum
from . import Beam


def solar_beams(time_s: float, model: str = "BS05OP", components=None,
                b8_spectrum: str = "winter2006") -> tuple:
    """One beam per selected component with fluence = total flux x time [cm^-2]."""
    fluxes = datasets.solar_total_fluxes(model)
    components = tuple(components or datasets.SOLAR_COMPONENTS)
    unknown = [c for c in components if c not in datasets.SOLAR_COMPONENTS]
    if unknown:
        raise ValueError(f"unknown solar component(s) {unknown}; "
                         f"expected a subset of {datasets.SOLAR_COMPONENTS}")
    beams = []
    for name in components:
        if name in datasets.SOLAR_LINES:
            part = LineSpectrum(datasets.SOLAR_LINES[name])
        else:
            part = TabulatedSpectrum(*datasets.solar_spectrum(name, b8_spectrum=b8_spectrum))
        beams.append(Beam(name, "nue_solar", (part,), fluxes[name] * time_s))
    return tuple(beams)
