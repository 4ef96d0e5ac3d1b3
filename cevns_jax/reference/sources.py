"""Neutrino sources (reference implementation): SNS pi-DAR, reactor, solar.

Every source is turned into *beams*: ``Beam(name, norm, pieces)`` with the fluence
spectrum dPhi/dE = norm * f(E) [cm^-2 MeV^-1] for continuous pieces and a fluence
``norm`` [cm^-2] per unit-weight line (see :mod:`.spectra`).

* SNS (paper 000 Eq. 28): beams ``prompt`` (nu_mu line at (m_pi^2 - m_mu^2)/(2 m_pi)),
  ``delayed_nue`` and ``delayed_numubar`` (Michel spectra on [0, m_mu/2]), each with the
  fluence r N_POT / (4 pi L^2) per flavour.
* Reactor: beam ``nuebar``, dPhi/dE = P_th / (sum_i f_i E_i) * sum_i f_i S_i(E)
  / (4 pi L^2) * time.
* Solar (paper 004): one beam per component, flux(model) * spectrum * time; pep and the
  two 7Be lines are lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import constants as C
from .. import datasets
from ..units import parse_positive
from .spectra import AnalyticPiece, Line, LinearTable

SNS_BEAMS = ("prompt", "delayed_nue", "delayed_numubar")
REACTOR_ISOTOPES = ("U235", "U238", "Pu239", "Pu241")
#: Energy where the reactor spectrum switches from the low-energy model to the fit [MeV].
REACTOR_JUNCTION_MEV = 2.0
REACTOR_EMAX_DEFAULT_MEV = 10.0


@dataclass
class Beam:
    """One neutrino beam: fluence normalisation [cm^-2] and its spectral pieces."""

    name: str
    norm: float
    pieces: list

    @property
    def e_max(self) -> float:
        return max(p.hi for p in self.pieces)


# ---------------------------------------------------------------------------------------
# SNS
# ---------------------------------------------------------------------------------------


def _michel_nue(E):
    m = C.M_MUON
    return 192.0 * E * E / m**3 * (0.5 - E / m)


def _michel_numubar(E):
    m = C.M_MUON
    return 64.0 * E * E / m**3 * (0.75 - E / m)


def sns_spectrum(beam: str, E):
    """Normalised pi-DAR spectrum f(E) [MeV^-1] (paper 000 Eq. 28) of a delayed beam.

    ``delayed_nue``: 192 E^2/m_mu^3 (1/2 - E/m_mu); ``delayed_numubar``:
    64 E^2/m_mu^3 (3/4 - E/m_mu); both on [0, m_mu/2] (zero outside), unit integral.
    ``prompt`` is the line E = constants.E_NU_PROMPT and raises ValueError here.
    """
    E = np.asarray(E, dtype=float)
    inside = (E >= 0.0) & (E <= 0.5 * C.M_MUON)
    if beam == "delayed_nue":
        return np.where(inside, _michel_nue(E), 0.0)
    if beam == "delayed_numubar":
        return np.where(inside, _michel_numubar(E), 0.0)
    if beam == "prompt":
        raise ValueError(
            f"SNS beam 'prompt' is a mono-energetic line at E = {C.E_NU_PROMPT!r} MeV "
            "(constants.E_NU_PROMPT); it has no density"
        )
    raise ValueError(f"unknown SNS beam {beam!r}; expected one of {', '.join(SNS_BEAMS)}")


def sns_fluence(source: dict) -> float:
    """Fluence per flavour r N_POT / (4 pi L^2) [cm^-2] (paper 000 Sect. 4.2)."""
    pot = parse_positive(source.get("pot"), "source.pot", ("pot",)).value
    r = source.get("nu_per_flavor_per_pot")
    if isinstance(r, bool) or not isinstance(r, (int, float)) or not r > 0:
        raise ValueError(f"source.nu_per_flavor_per_pot must be a positive number, got {r!r}")
    L = parse_positive(source.get("baseline"), "source.baseline", ("length",)).value
    return float(r) * pot / (4.0 * math.pi * L * L)


def sns_beams(source: dict) -> list[Beam]:
    norm = sns_fluence(source)
    half = 0.5 * C.M_MUON
    return [
        Beam("prompt", norm, [Line(C.E_NU_PROMPT, "prompt")]),
        Beam("delayed_nue", norm, [AnalyticPiece(_michel_nue, 0.0, half, "delayed_nue")]),
        Beam("delayed_numubar", norm,
             [AnalyticPiece(_michel_numubar, 0.0, half, "delayed_numubar")]),
    ]


# ---------------------------------------------------------------------------------------
# reactor
# ---------------------------------------------------------------------------------------


def _energy_mev(value, what):
    """A positive energy given as '<number> <unit>' or as a bare number in MeV."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{what} must be a positive energy, got {value!r}")
        return float(value)
    return parse_positive(value, what, ("energy",)).value


def _fission_fractions(source: dict) -> dict[str, float]:
    ff = source.get("fission_fractions")
    if not isinstance(ff, dict) or not ff:
        raise ValueError(f"source.fission_fractions must be a mapping isotope -> fraction, got {ff!r}")
    out = {}
    for iso, f in ff.items():
        if iso not in REACTOR_ISOTOPES:
            raise ValueError(
                f"unknown fissioning isotope {iso!r} in source.fission_fractions; "
                f"expected {', '.join(REACTOR_ISOTOPES)}"
            )
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not f >= 0:
            raise ValueError(f"fission fraction of {iso} must be a number >= 0, got {f!r}")
        out[iso] = float(f)
    if not sum(out.values()) > 0:
        raise ValueError("source.fission_fractions are all zero")
    return out


def _spectrum_options(source: dict) -> tuple[str, str, float]:
    spec = source.get("spectrum") or {}
    high = spec.get("high_energy", "mueller2011")
    low = spec.get("low_energy", "vogel_engel")
    if high not in ("mueller2011", "huber2011"):
        raise ValueError(
            f"unknown source.spectrum.high_energy {high!r}; expected mueller2011 or huber2011"
        )
    if low not in ("vogel_engel", "kopeikin", "none"):
        raise ValueError(
            f"unknown source.spectrum.low_energy {low!r}; expected vogel_engel, kopeikin or none"
        )
    e_max = spec.get("e_max")
    e_max = REACTOR_EMAX_DEFAULT_MEV if e_max is None else _energy_mev(e_max, "source.spectrum.e_max")
    if not e_max > REACTOR_JUNCTION_MEV:
        raise ValueError(f"source.spectrum.e_max must exceed 2 MeV, got {e_max!r} MeV")
    return high, low, e_max


def _mueller_alphas(source: dict) -> list[tuple[float, np.ndarray]]:
    high, _, _ = _spectrum_options(source)
    out = []
    for iso, f in _fission_fractions(source).items():
        if f == 0.0:
            continue
        param = "mueller2011" if (high == "huber2011" and iso == "U238") else high
        out.append((f, np.asarray(datasets.mueller_coefficients(iso, param), dtype=float)))
    return out


def _high_energy_func(alphas):
    def func(E):
        E = np.asarray(E, dtype=float)
        total = np.zeros_like(E)
        for f, a in alphas:
            total = total + f * np.exp(np.polynomial.polynomial.polyval(E, a))
        return total
    return func


def _table_below(E, y, junction):
    """Restrict a table to [E[0], junction], adding the interpolated junction point."""
    E = np.asarray(E, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = E < junction
    E2 = np.append(E[keep], junction)
    y2 = np.append(y[keep], np.interp(junction, E, y))
    return E2, y2


def reactor_pieces(source: dict) -> list:
    """Spectral pieces of sum_i f_i S_i(E) [nu / MeV / fission]."""
    high, low, e_max = _spectrum_options(source)
    J = REACTOR_JUNCTION_MEV
    pieces = [AnalyticPiece(_high_energy_func(_mueller_alphas(source)), J, e_max,
                            f"reactor {high} 2-{e_max:g} MeV")]
    if low == "vogel_engel":
        fr = _fission_fractions(source)
        E_ref = None
        y_sum = None
        for iso, f in fr.items():
            E, y = datasets.reactor_low_energy_table(iso)
            if E_ref is None:
                E_ref, y_sum = np.asarray(E, float), np.zeros(len(E))
            elif not np.array_equal(E_ref, E):
                raise RuntimeError("Vogel-Engel tables of the isotopes are on different grids")
            y_sum = y_sum + f * np.asarray(y, float)
        Et, yt = _table_below(E_ref, y_sum, J)
        pieces.insert(0, LinearTable(Et, yt, "reactor vogel_engel < 2 MeV"))
    elif low == "kopeikin":
        E, y = datasets.kopeikin_reactor_spectrum()
        Et, yt = _table_below(E, y, J)
        pieces.insert(0, LinearTable(Et, yt, "reactor kopeikin < 2 MeV"))
    return pieces


def reactor_spectrum_per_fission(config_source: dict, E):
    """sum_i f_i S_i(E) [antineutrinos / MeV / fission] for a reactor ``source`` block.

    Above 2 MeV (to ``spectrum.e_max``, default 10 MeV): the exp-polynomial
    S_i = exp(sum_k alpha_k E^{k-1}) (Mueller 2011, or Huber 2011 with Mueller for U238).
    Below 2 MeV per ``spectrum.low_energy``: "vogel_engel" (per-isotope tables,
    piecewise-linear, zero below the first point), "kopeikin" (whole-reactor spectrum per
    fission, replacing the isotope sum) or "none". At exactly 2 MeV the fit is used.
    """
    E = np.asarray(E, dtype=float)
    total = np.zeros_like(E)
    for piece in reactor_pieces(config_source):
        val = piece(E)
        if isinstance(piece, LinearTable):  # the table stops just below the junction
            val = np.where(E < REACTOR_JUNCTION_MEV, val, 0.0)
        total = total + val
    return total


def reactor_energy_per_fission(source: dict) -> dict[str, float]:
    """E_i [MeV]: ``source.energy_per_fission`` (mapping or one value) or the datasets table."""
    given = source.get("energy_per_fission")
    table = datasets.energy_per_fission_mev()
    if given is None:
        return dict(table)
    if isinstance(given, dict):
        out = dict(table)
        for iso, v in given.items():
            if iso not in REACTOR_ISOTOPES:
                raise ValueError(f"unknown isotope {iso!r} in source.energy_per_fission")
            out[iso] = _energy_mev(v, f"source.energy_per_fission.{iso}")
        return out
    v = _energy_mev(given, "source.energy_per_fission")
    return {iso: v for iso in REACTOR_ISOTOPES}


def reactor_fission_rate(source: dict) -> float:
    """Fissions per second P_th / sum_i f_i E_i."""
    P = parse_positive(source.get("thermal_power"), "source.thermal_power", ("power",)).value
    fr = _fission_fractions(source)
    Ef = reactor_energy_per_fission(source)
    return P * C.MEV_PER_JOULE / sum(f * Ef[iso] for iso, f in fr.items())


def reactor_norm(source: dict) -> float:
    """Fluence per (nu / MeV / fission): fission rate * time / (4 pi L^2) [cm^-2]."""
    L = parse_positive(source.get("baseline"), "source.baseline", ("length",)).value
    t = parse_positive(source.get("time"), "source.time", ("time",)).value
    return reactor_fission_rate(source) * t / (4.0 * math.pi * L * L)


def reactor_total_flux(source: dict) -> float:
    """Total antineutrino flux [cm^-2 s^-1] at the detector (the spectrum integrated)."""
    L = parse_positive(source.get("baseline"), "source.baseline", ("length",)).value
    per_fission = sum(float(p.moments(0.0)[0]) for p in reactor_pieces(source))
    return reactor_fission_rate(source) * per_fission / (4.0 * math.pi * L * L)


def reactor_beams(source: dict) -> list[Beam]:
    return [Beam("nuebar", reactor_norm(source), reactor_pieces(source))]


# ---------------------------------------------------------------------------------------
# solar
# ---------------------------------------------------------------------------------------


def solar_beams(source: dict) -> list[Beam]:
    model = source.get("model", "BS05OP")
    comps = source.get("components")
    if comps is None:
        comps = list(datasets.SOLAR_COMPONENTS)
    if isinstance(comps, str):
        comps = [comps]
    unknown = [c for c in comps if c not in datasets.SOLAR_COMPONENTS]
    if unknown:
        raise ValueError(
            f"unknown solar component(s) {unknown!r}; expected {', '.join(datasets.SOLAR_COMPONENTS)}"
        )
    t = parse_positive(source.get("time"), "source.time", ("time",)).value
    fluxes = datasets.solar_total_fluxes(model)
    b8 = source.get("b8_spectrum", "winter2006")
    beams = []
    for comp in comps:
        norm = fluxes[comp] * t
        if comp in datasets.SOLAR_LINES:
            beams.append(Beam(comp, norm, [Line(datasets.SOLAR_LINES[comp], comp)]))
        else:
            E, y = datasets.solar_spectrum(comp, b8) if comp == "b8" else datasets.solar_spectrum(comp)
            beams.append(Beam(comp, norm, [LinearTable(E, y, f"solar {comp}")]))
    return beams


def source_beams(source: dict) -> list[Beam]:
    """Beams of a configuration's ``source`` block (type sns, reactor or solar)."""
    if not isinstance(source, dict):
        raise ValueError(f"source must be a mapping, got {source!r}")
    kind = source.get("type")
    if kind == "sns":
        return sns_beams(source)
    if kind == "reactor":
        return reactor_beams(source)
    if kind == "solar":
        return solar_beams(source)
    raise ValueError(f"unknown source type {kind!r}; expected sns, reactor or solar")
