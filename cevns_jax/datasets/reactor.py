"""Reactor antineutrino tables: Mueller/Huber coefficients, Huber tables, low-energy spectra.

Plain NumPy, run once at set-up; names are checked and unknown ones raise ``ValueError``."""

from __future__ import annotations

import functools
import math

import numpy as np

from ._io import _read_csv, _read_numeric, _read_whitespace_numeric, _readonly, _unknown

__all__ = [
    "reactor_isotopes",
    "mueller_coefficients",
    "mueller_coefficient_uncertainties",
    "huber2011_table",
    "reactor_low_energy_table",
    "kopeikin_reactor_spectrum",
    "energy_per_fission_mev",
]

# --------------------------------------------------------------------------------------------
# Reactor antineutrinos
# --------------------------------------------------------------------------------------------
_REACTOR_ISOTOPES = ("U235", "U238", "Pu239", "Pu241")
_COEFF_FILE = ("reactor", "mueller2011_huber2011_coefficients.csv")
_PARAMETRISATIONS = {"mueller2011": "Mueller2011", "huber2011": "Huber2011"}


def reactor_isotopes() -> tuple[str, ...]:
    """The four fissioning isotopes: ``("U235", "U238", "Pu239", "Pu241")``."""
    return _REACTOR_ISOTOPES


def _resolve_isotope(isotope) -> str:
    if isinstance(isotope, str):
        for name in _REACTOR_ISOTOPES:
            if isotope.strip().casefold() == name.casefold():
                return name
    raise _unknown("reactor isotope", isotope, _REACTOR_ISOTOPES)


@functools.lru_cache(maxsize=None)
def _coefficient_rows() -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    header, rows = _read_csv(*_COEFF_FILE)
    ia = [header.index(f"a{k}") for k in range(1, 7)]
    ida = [header.index(f"da{k}") for k in range(1, 7)]
    out = {}
    for row in rows:
        a = _readonly([float(row[i]) for i in ia])
        da = _readonly([float(row[i]) if row[i] else math.nan for i in ida])
        out[(row[header.index("model")], row[header.index("isotope")])] = (a, da)
    return out


def mueller_coefficients(isotope: str, parametrisation: str = "mueller2011") -> np.ndarray:
    """Coefficients alpha_1..alpha_6 (shape (6,)) of dN/dE = exp(sum_k alpha_k E^(k-1)).

    dN/dE in antineutrinos per MeV per fission, E in MeV; valid about 2-8 MeV.  Source:
    ``data/reactor/mueller2011_huber2011_coefficients.csv`` (TRANSCRIBED).
    ``"mueller2011"``: Mueller et al., PRC 83, 054615 (2011), Table VI, all four isotopes.
    ``"huber2011"``: Huber, PRC 84, 024617 (2011), 5th-order polynomial (6 coefficients) for
    U235, Pu239, Pu241 only; U238 raises ``ValueError`` (use ``"mueller2011"``, the usual
    Huber-Mueller combination).
    """
    iso = _resolve_isotope(isotope)
    key = parametrisation.strip().casefold() if isinstance(parametrisation, str) else None
    if key not in _PARAMETRISATIONS:
        raise _unknown("reactor parametrisation", parametrisation, _PARAMETRISATIONS)
    rows = _coefficient_rows()
    model = _PARAMETRISATIONS[key]
    if (model, iso) not in rows:
        raise ValueError(
            f"Huber 2011 gives no {iso} spectrum (parametrisation {parametrisation!r}); "
            f"use parametrisation='mueller2011' for {iso}"
        )
    return rows[(model, iso)][0].copy()


def mueller_coefficient_uncertainties(isotope: str) -> np.ndarray:
    """1-sigma uncertainties (shape (6,)) of the Mueller 2011 alpha_1..alpha_6 (Table VI).

    Source: ``data/reactor/mueller2011_huber2011_coefficients.csv``.  No correlations are given.
    """
    iso = _resolve_isotope(isotope)
    return _coefficient_rows()[("Mueller2011", iso)][1].copy()


def huber2011_table(isotope: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Huber's tabulated spectrum: (E [MeV], dN/dE [MeV^-1 fission^-1], total rel. 1-sigma error).

    Huber, PRC 84, 024617 (2011), 2-8 MeV in 0.25-MeV steps; ``data/reactor/huber2011_<iso>_250keV.dat``
    (VERBATIM, author's file).  The error returned is the symmetrised total,
    (|column 13| + column 14)/2, relative to the spectrum.  U235, Pu239, Pu241 only.
    """
    iso = _resolve_isotope(isotope)
    if iso == "U238":
        raise ValueError("Huber 2011 gives no U238 table; use mueller_coefficients('U238')")
    d = _read_whitespace_numeric("reactor", f"huber2011_{iso}_250keV.dat")
    return d[:, 0].copy(), d[:, 1].copy(), 0.5 * (np.abs(d[:, 12]) + d[:, 13])


def reactor_low_energy_table(isotope: str) -> tuple[np.ndarray, np.ndarray]:
    """Isotope spectrum on the Vogel-Engel grid 1/128-8 MeV: (E [MeV], dN/dE [MeV^-1 fission^-1]).

    Source: ``data/reactor/lowE_isotope_spectra_vogel_engel_grid.csv`` (MERGED from
    LeireLarizgoitia/Reactor_CEnuNS).  Below 2 MeV probably Vogel & Engel, PRD 39, 3378 (1989)
    or Kopeikin: origin NOT verified.  Trapezoid integrals 5.72 (U235), 6.79 (U238),
    5.13 (Pu239), 5.91 (Pu241) per fission.  Above 2 MeV the values scatter by a few percent
    (up to ~9 %) around the Mueller 2011 fit; they are not the fit itself.
    """
    iso = _resolve_isotope(isotope)
    header, data = _read_numeric("reactor", "lowE_isotope_spectra_vogel_engel_grid.csv")
    return data[:, 0].copy(), data[:, header.index(iso)].copy()


def kopeikin_reactor_spectrum() -> tuple[np.ndarray, np.ndarray]:
    """Whole-reactor antineutrino spectrum per fission: (E [MeV], dN/dE [MeV^-1 fission^-1]).

    Source: ``data/reactor/kopeikin_reactor_spectrum_0to9MeV.csv`` (joejohnston203/
    ricochet_cevns_spectra ``kopeikin_spectrum.txt``), 0.01-9 MeV, attributed to V.I. Kopeikin
    (probably Phys. At. Nucl. 75, 143 (2012); exact table NOT verified).  Column 2 of the file is
    returned; it includes low-energy beta branches (pairs of close energies make the steps) and
    neutron-capture products.  Trapezoid integral 6.67 per fission (1.86 above 1.8 MeV).  The
    file's third column (probably percent uncertainty, unverified) is not returned.
    """
    _, data = _read_numeric("reactor", "kopeikin_reactor_spectrum_0to9MeV.csv")
    return data[:, 0].copy(), data[:, 1].copy()


def energy_per_fission_mev() -> dict[str, float]:
    """Energy released per fission [MeV]: Kopeikin, Mikaelyan & Sinev, Phys. At. Nucl. 67, 1892 (2004).

    U235 201.92, U238 205.52, Pu239 209.99, Pu241 213.60 MeV (constants, not read from a file).
    """
    return {"U235": 201.92, "U238": 205.52, "Pu239": 209.99, "Pu241": 213.60}
