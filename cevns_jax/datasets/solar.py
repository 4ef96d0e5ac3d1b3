"""Solar-neutrino tables: SSM total fluxes, spectra and 7Be line shapes.

Plain NumPy, run once at set-up; names are checked and unknown ones raise ``ValueError``."""

from __future__ import annotations

import functools
import math

import numpy as np

from ._io import _read_csv, _read_numeric, _readonly, _trapezoid, _unknown

__all__ = [
    "SOLAR_COMPONENTS",
    "SOLAR_LINES",
    "BE7_BRANCHING",
    "solar_model_names",
    "solar_total_fluxes",
    "solar_flux_uncertainties",
    "solar_spectrum",
    "solar_be7_lineshape",
]

# --------------------------------------------------------------------------------------------
# Solar neutrinos
# --------------------------------------------------------------------------------------------
SOLAR_COMPONENTS = ("pp", "pep", "hep", "be7_384", "be7_862", "b8", "n13", "o15", "f17")

#: Energies of the solar neutrino lines [MeV] (laboratory values).
#: pep: 1.442 MeV (Bahcall; header of ssm_total_fluxes.csv).
#: 7Be: 0.8618 MeV (ground state) and 0.3843 MeV (0.4776 MeV 7Li state), the laboratory lines used by
#: Bahcall, PRD 49, 3923 (1994) (Q_EC(7Be) = 861.9 keV, AME).  The value 0.8613 found in some codes
#: comes from the header of Bahcall's 7belineshape.dat, which mis-prints 861.3 keV for 861.8 keV
#: (documented in thuxwr/SolarNu Solar/data/spectrum/README.md).  In the Sun both lines are
#: thermally broadened and shifted up by about 1.3 keV; see :func:`solar_be7_lineshape`.
SOLAR_LINES = {"pep": 1.442, "be7_384": 0.3843, "be7_862": 0.8618}

#: 7Be electron-capture branching: 10.44 % to the 0.384 MeV line, 89.56 % to the 0.862 MeV line.
BE7_BRANCHING = {"be7_384": 0.1044, "be7_862": 0.8956}

_SOLAR_FLUX_FILE = ("solar", "ssm_total_fluxes.csv")

# CSV "source" label -> component name (7Be is split with BE7_BRANCHING).
_SOLAR_SOURCE_MAP = {
    "pp": "pp",
    "pep": "pep",
    "hep": "hep",
    "8B": "b8",
    "13N": "n13",
    "15O": "o15",
    "17F": "f17",
}

_CONTINUOUS_SPECTRA = {
    "pp": ("solar", "spectrum_pp.csv"),
    "hep": ("solar", "spectrum_hep.csv"),
    "n13": ("solar", "spectrum_13N.csv"),
    "o15": ("solar", "spectrum_15O.csv"),
    "f17": ("solar", "spectrum_17F.csv"),
}
_B8_SPECTRA = {
    "winter2006": ("solar", "spectrum_8B_winter2006.csv"),
    "bahcall1996": ("solar", "spectrum_8B_bahcall1996.csv"),
}
_BE7_LINESHAPES = {
    "be7_862": ("solar", "be7_lineshape_ground.csv"),
    "be7_384": ("solar", "be7_lineshape_excited.csv"),
}


def _normalise_model_label(label: str) -> str:
    """Stable model name from a CSV row label: drop ``(``, ``)`` and ``,``.

    ``BS05(OP)`` -> ``BS05OP``, ``BS05(AGS,OP)`` -> ``BS05AGSOP``; ``B16-GS98``, ``B16-AGSS09met``,
    ``SFII-GS98`` and ``SFII-AGSS09`` are unchanged.
    """
    return label.replace("(", "").replace(")", "").replace(",", "")


@functools.lru_cache(maxsize=None)
def _solar_model_table() -> dict[str, tuple[str, dict[str, tuple[float, float]]]]:
    """normalised name -> (CSV label, {source: (flux, frac_unc or nan)}), file order."""
    # The label BS05(AGS,OP) contains an unquoted comma: split the rows from the right.
    header, rows = _read_csv(*_SOLAR_FLUX_FILE, first_column_has_commas=True)
    i_model, i_src = header.index("model"), header.index("source")
    i_flux, i_unc = header.index("flux_cm2_s"), header.index("frac_unc")
    table: dict[str, tuple[str, dict[str, tuple[float, float]]]] = {}
    for row in rows:
        name = _normalise_model_label(row[i_model])
        entry = table.setdefault(name, (row[i_model], {}))
        unc = float(row[i_unc]) if row[i_unc] else math.nan
        entry[1][row[i_src]] = (float(row[i_flux]), unc)
    return table


def solar_model_names() -> tuple[str, ...]:
    """Standard-solar-model names available in ``data/solar/ssm_total_fluxes.csv``.

    Names are the CSV row labels with ``(``, ``)`` and ``,`` removed:
    ``B16-GS98``, ``B16-AGSS09met`` (Vinyoles et al., ApJ 835, 202 (2017));
    ``BS05OP`` = ``BS05(OP)``, ``BS05AGSOP`` = ``BS05(AGS,OP)`` (Bahcall, Serenelli & Basu,
    ApJ 621, L85 (2005), Table 1); ``SFII-GS98``, ``SFII-AGSS09`` (Serenelli, Haxton &
    Pena-Garay, ApJ 743, 24 (2011)).  The solar-model functions also accept the raw CSV labels,
    case-insensitively.
    """
    return tuple(_solar_model_table())


def _resolve_solar_model(model) -> str:
    table = _solar_model_table()
    if isinstance(model, str):
        key = model.strip().casefold()
        for name, (label, _) in table.items():
            if key in (name.casefold(), label.casefold()):
                return name
    raise _unknown("solar model", model, table)


def solar_total_fluxes(model: str = "BS05OP") -> dict[str, float]:
    """Total solar neutrino fluxes at Earth [cm^-2 s^-1] for every name in ``SOLAR_COMPONENTS``.

    Source: ``data/solar/ssm_total_fluxes.csv`` (see :func:`solar_model_names` for the models and
    their papers).  The file gives only the 7Be total; it is split into ``be7_384`` (10.44 %) and
    ``be7_862`` (89.56 %), see ``BE7_BRANCHING``.
    """
    name = _resolve_solar_model(model)
    sources = _solar_model_table()[name][1]
    out: dict[str, float] = {}
    for comp in SOLAR_COMPONENTS:
        if comp.startswith("be7_"):
            out[comp] = sources["7Be"][0] * BE7_BRANCHING[comp]
        else:
            src = next(s for s, c in _SOLAR_SOURCE_MAP.items() if c == comp)
            out[comp] = float(sources[src][0])
    return out


def solar_flux_uncertainties(model: str) -> dict[str, float]:
    """Fractional 1-sigma model uncertainties of the total fluxes, per ``SOLAR_COMPONENTS`` name.

    Source: ``data/solar/ssm_total_fluxes.csv``, column ``frac_unc``.  Only the B16 rows carry
    uncertainties (Vinyoles et al. 2017, Table 6).  The two 7Be lines get the 7Be uncertainty
    (fully correlated).  BS05 and SFII rows have none in the file (the BS05 numbers come from the
    flux lines of the Bahcall model files, which give no errors): ``ValueError`` for those.
    """
    name = _resolve_solar_model(model)
    sources = _solar_model_table()[name][1]
    if any(math.isnan(unc) for _, unc in sources.values()):
        with_unc = [
            n for n, (_, s) in _solar_model_table().items()
            if not any(math.isnan(u) for _, u in s.values())
        ]
        raise ValueError(
            f"no flux uncertainties are tabulated for solar model {model!r} in "
            f"ssm_total_fluxes.csv; models with uncertainties: {', '.join(with_unc)}"
        )
    out: dict[str, float] = {}
    for comp in SOLAR_COMPONENTS:
        src = "7Be" if comp.startswith("be7_") else next(
            s for s, c in _SOLAR_SOURCE_MAP.items() if c == comp
        )
        out[comp] = float(sources[src][1])
    return out


def _clean_spectrum(E: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated energies, cut zeros after the end point (keeping one), unit-normalise."""
    E = np.asarray(E, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.concatenate(([True], np.diff(E) != 0.0))  # first of any repeated energy
    E, y = E[keep], y[keep]
    if np.any(np.diff(E) <= 0.0):
        raise RuntimeError(f"energies in {where} are not increasing")
    if np.any(y < 0.0) or not np.all(np.isfinite(y)):
        raise RuntimeError(f"negative or non-finite spectrum values in {where}")
    last = int(np.flatnonzero(y)[-1])
    end = min(last + 1, E.size - 1)  # keep the zero that marks the end point, if there is one
    E, y = E[: end + 1], y[: end + 1]
    raw = _trapezoid(y, E)
    if abs(raw - 1.0) > 0.01:
        raise RuntimeError(f"raw integral of {where} is {raw:.6f}, not within 1% of 1")
    return _readonly(E), _readonly(y / raw)


@functools.lru_cache(maxsize=None)
def _solar_spectrum_cached(component: str, b8_spectrum: str) -> tuple[np.ndarray, np.ndarray]:
    parts = _B8_SPECTRA[b8_spectrum] if component == "b8" else _CONTINUOUS_SPECTRA[component]
    header, data = _read_numeric(*parts)
    # Winter 2006: the normalised column (original 1e-3/MeV column / 1000); Bahcall 1996: central.
    return _clean_spectrum(data[:, 0], data[:, header.index("dNdE_per_MeV")], "/".join(parts))


def solar_spectrum(
    component: str, b8_spectrum: str = "winter2006"
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised solar neutrino spectrum: (E [MeV], dN/dE [MeV^-1]), trapezoid integral 1.

    Continuous components only: ``pp`` (Bahcall, PRC 56, 3391 (1997); ``spectrum_pp.csv``),
    ``hep`` (Bahcall 1997; ``spectrum_hep.csv``), ``n13``, ``o15``, ``f17`` (Bahcall & Ulrich,
    RMP 60, 297 (1988); ``spectrum_13N/15O/17F.csv``) and ``b8``: ``b8_spectrum="winter2006"``
    (Winter et al., PRC 73, 025503 (2006), 0.1-MeV steps; ``spectrum_8B_winter2006.csv``) or
    ``"bahcall1996"`` (Bahcall et al., PRC 54, 411 (1996), central column;
    ``spectrum_8B_bahcall1996.csv``).  Files are under ``data/solar/``.

    Energies are strictly increasing (repeated points dropped); zeros past the end point are cut
    so that the spectrum ends at the table's first zero after its last non-zero value.  The raw
    table integral must be within 1 % of 1 (it is within 2e-5 for all files) and is then
    renormalised.  Note: the Winter 2006 table is zero above 15.2 MeV (true end point ~16.5 MeV;
    about 2e-5 of the spectrum is missing), so it ends at 15.3 MeV here.

    Multiply by ``solar_total_fluxes(model)[component]`` for dPhi/dE [cm^-2 s^-1 MeV^-1].
    Line components (pep, be7_384, be7_862) raise ``ValueError``: use ``SOLAR_LINES``.
    """
    if b8_spectrum not in _B8_SPECTRA:
        raise _unknown("b8_spectrum", b8_spectrum, _B8_SPECTRA)
    if isinstance(component, str) and component in SOLAR_LINES:
        raise ValueError(
            f"solar component {component!r} is a mono-energetic line: use "
            f"SOLAR_LINES[{component!r}] = {SOLAR_LINES[component]} MeV for its energy and "
            "solar_total_fluxes() for its flux"
        )
    if not isinstance(component, str) or (
        component != "b8" and component not in _CONTINUOUS_SPECTRA
    ):
        raise _unknown("solar component", component, SOLAR_COMPONENTS)
    E, y = _solar_spectrum_cached(component, b8_spectrum)
    return E.copy(), y.copy()


@functools.lru_cache(maxsize=None)
def _be7_lineshape_cached(component: str) -> tuple[np.ndarray, np.ndarray]:
    parts = _BE7_LINESHAPES[component]
    header, data = _read_numeric(*parts)
    E, p = data[:, 0], data[:, header.index("profile")]
    return _readonly(E), _readonly(p / _trapezoid(p, E))


def solar_be7_lineshape(component: str) -> tuple[np.ndarray, np.ndarray]:
    """Thermally broadened 7Be line shape: (E [MeV], profile [MeV^-1]), trapezoid integral 1.

    Bahcall, PRD 49, 3923 (1994), via PEANUTS ``be7ground_shape.csv`` / ``be7excited_shape.csv``
    (``data/solar/be7_lineshape_ground.csv`` for ``be7_862``, ``..._excited.csv`` for ``be7_384``).
    Caveat: the mean energy of the ground-state table is 0.86258 MeV, 0.78 keV above the 0.8618 MeV
    laboratory line, whereas Bahcall's shift is 1.29 keV; the energy grid of that file was most
    likely built on the mis-printed 861.3 keV (see ``SOLAR_LINES``), i.e. it may sit 0.5 keV low.
    The excited-state mean (0.38554 MeV) is 1.24 keV above 0.3843 MeV, as expected.
    """
    if component not in _BE7_LINESHAPES:
        raise _unknown("7Be line", component, _BE7_LINESHAPES)
    E, p = _be7_lineshape_cached(component)
    return E.copy(), p.copy()
