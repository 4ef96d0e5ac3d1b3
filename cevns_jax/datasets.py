"""Loaders for the public data tables shipped in ``cevns_jax/data/``.

Plain NumPy (no JAX): these functions run once at set-up time; convert the returned arrays with
``jnp.asarray`` where needed.  Every file keeps its ``#`` header lines, which name the source
repository, commit, paper and units; ``cevns_jax/data/PROVENANCE.md`` has one line per file.

Files are located with :mod:`importlib.resources`, so the installed package needs nothing outside
itself.  Parsed tables are cached (``functools.lru_cache``) as read-only arrays; every public
function returns fresh copies (or new dicts of Python floats), so callers cannot alter the cache.

Names accepted by the loaders are checked; an unknown name raises ``ValueError`` that repeats the
bad value and lists the accepted ones.
"""

from __future__ import annotations

import functools
import importlib.resources
import math

import numpy as np

__all__ = [
    "SOLAR_COMPONENTS",
    "SOLAR_LINES",
    "BE7_BRANCHING",
    "solar_model_names",
    "solar_total_fluxes",
    "solar_flux_uncertainties",
    "solar_spectrum",
    "solar_be7_lineshape",
    "reactor_isotopes",
    "mueller_coefficients",
    "mueller_coefficient_uncertainties",
    "huber2011_table",
    "reactor_low_energy_table",
    "kopeikin_reactor_spectrum",
    "energy_per_fission_mev",
    "coherent_csi2017_parameters",
    "coherent_csi2017_parameter_uncertainties",
    "BOREXINO_PHASE2_EXPOSURE_DAY_100T",
    "borexino_phase2_spectrum",
    "XENONNT_RUNS",
    "XENONNT_NUISANCE_GRID",
    "xenonnt_exposures",
    "xenonnt_observed_events",
    "xenonnt_events",
    "xenonnt_binning",
    "xenonnt_nr_efficiency",
    "xenonnt_nr_templates_nominal",
    "xenonnt_background_templates",
    "xenonnt_background_expectation",
]

_PACKAGE = "cevns_jax"


# --------------------------------------------------------------------------------------------
# Generic readers
# --------------------------------------------------------------------------------------------
def _data_file(*parts: str):
    """Traversable for ``cevns_jax/data/<parts>`` (works from a wheel, a zip or a checkout)."""
    return importlib.resources.files(_PACKAGE).joinpath("data", *parts)


@functools.lru_cache(maxsize=None)
def _read_csv(
    *parts: str, first_column_has_commas: bool = False
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """(header, rows) of a comma-separated file; lines starting with ``#`` and blank lines skipped.

    ``first_column_has_commas``: split from the right, so that an unquoted comma in the first
    column (``BS05(AGS,OP)`` in ssm_total_fluxes.csv) stays in that column.
    """
    text = _data_file(*parts).read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    header = tuple(c.strip() for c in lines[0].split(","))
    maxsplit = len(header) - 1 if first_column_has_commas else -1
    rows = tuple(tuple(c.strip() for c in ln.rsplit(",", maxsplit)) for ln in lines[1:])
    for row in rows:
        if len(row) != len(header):
            raise RuntimeError(f"malformed row {row!r} in data/{'/'.join(parts)}")
    return header, rows


def _readonly(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=None)
def _read_numeric(*parts: str) -> tuple[tuple[str, ...], np.ndarray]:
    """(header, read-only float array) of an all-numeric CSV (empty cells -> NaN)."""
    header, rows = _read_csv(*parts)
    data = [[float(c) if c else math.nan for c in row] for row in rows]
    return header, _readonly(data)


@functools.lru_cache(maxsize=None)
def _read_whitespace_numeric(*parts: str) -> np.ndarray:
    """Read-only array of a whitespace-separated numeric file; ``#`` lines skipped."""
    text = _data_file(*parts).read_text(encoding="utf-8")
    data = [
        [float(c) for c in ln.split()]
        for ln in text.splitlines()
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    return _readonly(data)


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoid rule (kept local: ``np.trapz`` is deprecated, ``np.trapezoid`` needs NumPy 2)."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))


def _unknown(kind: str, value, known) -> ValueError:
    return ValueError(f"unknown {kind} {value!r}; known: {', '.join(map(str, known))}")


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


# --------------------------------------------------------------------------------------------
# COHERENT CsI[Na] 2017
# --------------------------------------------------------------------------------------------
def coherent_csi2017_parameters() -> dict[str, float]:
    """Central values from ``data/coherent_csi2017/csi2017_parameters.csv``.

    CONVERTED from the release's ``coherent_parameters.yaml`` (Zenodo 10.5281/zenodo.1228631,
    md5 identical; Science 357, 1123 (2017)).  Keys and units: beam_exposure [GWhr],
    distance_to_target [m], csi_quenching_factor, csi_light_yield [PE/keVee],
    neutrinos_per_proton_per_flavor, prompt_neutron_normalization (relative),
    acceptance_a, acceptance_k [1/PE], acceptance_x_0 [PE].
    """
    header, rows = _read_csv("coherent_csi2017", "csi2017_parameters.csv")
    i_name, i_val = header.index("name"), header.index("value")
    return {row[i_name]: float(row[i_val]) for row in rows}


def coherent_csi2017_parameter_uncertainties() -> dict[str, tuple[float, float]]:
    """(upper, lower) 1-sigma uncertainties from ``csi2017_parameters.csv`` (same keys/units)."""
    header, rows = _read_csv("coherent_csi2017", "csi2017_parameters.csv")
    i_name = header.index("name")
    i_hi, i_lo = header.index("uncertainty_or_hi"), header.index("uncertainty_lo")
    return {row[i_name]: (float(row[i_hi]), float(row[i_lo])) for row in rows}


# --------------------------------------------------------------------------------------------
# Borexino Phase II
# --------------------------------------------------------------------------------------------
#: Exposure of the TFC-subtracted Phase-II spectrum [day x 100 t] (rate x exposure = integer counts).
BOREXINO_PHASE2_EXPOSURE_DAY_100T = 582.326


def borexino_phase2_spectrum() -> dict[str, np.ndarray]:
    """Borexino Phase-II TFC-subtracted spectrum, Nature 562, 505 (2018), Fig. 2a (open data).

    Source: ``data/borexino/borexino_phase2_nature2018_fig2a.csv`` (VERBATIM, pyCEvNS mirror).
    Keys: ``N_h`` (hits, 92..950, one bin per hit), ``E_keV`` (bin centre), ``dE_keV`` (bin
    width), ``rate`` [counts / (day x 100 t) per N_h bin], ``rate_err`` (same unit),
    ``residual`` ((data - Borexino fit)/error), ``best_fit`` = rate - residual * rate_err.
    Counts = rate * ``BOREXINO_PHASE2_EXPOSURE_DAY_100T``.  Caveat: in the first row
    (N_h = 92) the residual equals the rate (19.7054), which looks like a transcription artefact.
    """
    header, d = _read_numeric("borexino", "borexino_phase2_nature2018_fig2a.csv")
    col = {name: d[:, header.index(name)] for name in header}
    out = {
        "N_h": col["N_h"].copy(),
        "E_keV": col["E_keV"].copy(),
        "dE_keV": col["dE_keV"].copy(),
        "rate": col["rate_cpd100t"].copy(),
        "rate_err": col["rate_err"].copy(),
        "residual": col["residual_sigma"].copy(),
    }
    out["best_fit"] = out["rate"] - out["residual"] * out["rate_err"]
    return out


# --------------------------------------------------------------------------------------------
# XENONnT 8B CEvNS data release
# --------------------------------------------------------------------------------------------
XENONNT_RUNS = ("sr0", "sr1", "sr2")
#: Grid of the light-yield (tly) and charge-yield (tqy) nuisances, in sigma units.
XENONNT_NUISANCE_GRID = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
_XE_DIR = "xenonnt_8b"
_XE_AXES = ("cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score")
_XE_BACKGROUNDS = {"ac": "ac", "er": "er", "neutron": "rg"}  # returned key -> file component


def _resolve_run(run) -> str:
    if isinstance(run, str) and run.strip().lower() in XENONNT_RUNS:
        return run.strip().lower()
    raise _unknown("XENONnT science run", run, XENONNT_RUNS)


def _resolve_nuisance(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if v not in XENONNT_NUISANCE_GRID:
        raise ValueError(
            f"{name}={value!r} is not on the XENONnT nuisance grid {XENONNT_NUISANCE_GRID}"
        )
    return v


def xenonnt_exposures() -> dict[str, float]:
    """Exposure per science run [tonne x year]: sr0 1.1744, sr1 2.3426, sr2 3.2497.

    Source: ``data/xenonnt_8b/xenonnt_exposures.csv`` (XENONnT/cevns_data_release @ 60d230dd,
    ``plot.ipynb`` "livetimes", which multiply the per-t-y templates; SR0+SR1 = 3.517 t y,
    consistent with the 3.51 t y of PRL 133, 191002 (2024)).
    """
    header, rows = _read_csv(_XE_DIR, "xenonnt_exposures.csv")
    return {r[header.index("science_run")]: float(r[header.index("exposure_t_y")]) for r in rows}


def xenonnt_events(run: str) -> dict[str, np.ndarray]:
    """Observed post-selection events of one science run: observable name -> values.

    Source: ``data/xenonnt_8b/xenonnt_observed_events_<run>.csv`` (VERBATIM ``data/sr*.csv``).
    Keys: ``cs2`` [PE], ``s2_shadow_s2_time_shadow_quantile``, ``s1_bdt_score``,
    ``s2_bdt_score`` (dimensionless).
    """
    r = _resolve_run(run)
    header, d = _read_numeric(_XE_DIR, f"xenonnt_observed_events_{r}.csv")
    return {ax: d[:, header.index(ax)].copy() for ax in _XE_AXES}


def xenonnt_observed_events(run: str) -> int:
    """Number of observed events in a science run (9, 28, 25 for sr0, sr1, sr2)."""
    r = _resolve_run(run)
    _, d = _read_numeric(_XE_DIR, f"xenonnt_observed_events_{r}.csv")
    return int(d.shape[0])


def xenonnt_binning(run: str) -> dict[str, np.ndarray]:
    """Analysis bin edges (4 edges, 3 bins per axis) of a science run, axis name -> edges.

    Source: ``data/xenonnt_8b/xenonnt_binning.csv`` (CONVERTED from ``binning/sr*.yaml``).  Axis
    order (also the template index order): cs2 [PE], s2_shadow_s2_time_shadow_quantile,
    s1_bdt_score, s2_bdt_score.
    """
    r = _resolve_run(run)
    header, rows = _read_csv(_XE_DIR, "xenonnt_binning.csv")
    iedge = [header.index(f"edge{k}") for k in range(4)]
    return {
        row[1]: np.array([float(row[i]) for i in iedge])
        for row in rows
        if row[0] == r
    }


@functools.lru_cache(maxsize=None)
def _xe_efficiency_table(run: str, tly: float, tqy: float) -> tuple[np.ndarray, np.ndarray]:
    header, rows = _read_csv(_XE_DIR, "xenonnt_mono_nr_efficiency_all_nuisances.csv")
    pts = sorted(
        (float(row[1]), float(row[4]))
        for row in rows
        if row[0] == run and float(row[2]) == tly and float(row[3]) == tqy
    )
    return _readonly([p[0] for p in pts]), _readonly([p[1] for p in pts])


def xenonnt_nr_efficiency(run: str, tly: float = 0, tqy: float = 0) -> tuple[np.ndarray, np.ndarray]:
    """Total NR detection efficiency vs true recoil energy: (E_nr [keVnr], efficiency).

    Source: ``data/xenonnt_8b/xenonnt_mono_nr_efficiency_all_nuisances.csv``: sum over the 81
    analysis bins of each mono-energetic NR template (E_nr = 0.5..5.0 keV, 0.1-keV steps), for
    light-/charge-yield nuisances ``tly``, ``tqy`` on the grid -3..3 (sigma units; nominal 0).
    Nominal SR0: 0.0073 at 1 keV, 0.069 at 2 keV, 0.136 at 3 keV.
    """
    r = _resolve_run(run)
    E, eff = _xe_efficiency_table(r, _resolve_nuisance("tly", tly), _resolve_nuisance("tqy", tqy))
    return E.copy(), eff.copy()


@functools.lru_cache(maxsize=None)
def _xe_nominal_templates(run: str) -> tuple[np.ndarray, np.ndarray]:
    header, rows = _read_csv(_XE_DIR, "xenonnt_mono_nr_templates_nominal_4d.csv")
    energies = sorted({float(row[1]) for row in rows if row[0] == run})
    index = {e: i for i, e in enumerate(energies)}
    t = np.zeros((len(energies), 3, 3, 3, 3))
    for row in rows:
        if row[0] == run:
            t[(index[float(row[1])],) + tuple(int(c) for c in row[2:6])] = float(row[6])
    return _readonly(energies), _readonly(t)


def xenonnt_nr_templates_nominal(run: str) -> tuple[np.ndarray, np.ndarray]:
    """Nominal (tly = tqy = 0) mono-energetic NR templates: (E_nr [keV], P[E, i_cs2, i_shadow, i_s1bdt, i_s2bdt]).

    Source: ``data/xenonnt_8b/xenonnt_mono_nr_templates_nominal_4d.csv`` (CONVERTED from HDF5).
    Each entry is the probability that a recoil of true energy E lands in that analysis bin; the
    sum over bins is the efficiency.  Expected signal per bin:
    exposure [t y] * sum_E dR/dE [/t/y/keV] * 0.1 keV * P[E, bin].
    """
    E, t = _xe_nominal_templates(_resolve_run(run))
    return E.copy(), t.copy()


@functools.lru_cache(maxsize=None)
def _xe_background_templates(run: str, tly: float, tqy: float) -> dict[str, np.ndarray]:
    header, rows = _read_csv(_XE_DIR, "xenonnt_background_templates.csv")
    out = {}
    for key, comp in _XE_BACKGROUNDS.items():
        t = np.full((3, 3, 3, 3), math.nan)
        for row in rows:
            if row[0] != run or row[1] != comp:
                continue
            if comp == "rg" and (float(row[2]) != tly or float(row[3]) != tqy):
                continue
            t[tuple(int(c) for c in row[4:8])] = float(row[8])
        if np.isnan(t).any():
            raise RuntimeError(f"incomplete {comp} template for {run} in xenonnt_background_templates.csv")
        out[key] = _readonly(t)
    return out


def xenonnt_background_templates(run: str, tly: float = 0, tqy: float = 0) -> dict[str, np.ndarray]:
    """Background templates [events / (tonne year) per analysis bin], shape (3, 3, 3, 3) each.

    Source: ``data/xenonnt_8b/xenonnt_background_templates.csv`` (CONVERTED from HDF5).  Keys:
    ``ac`` (accidental coincidences), ``er`` (electronic recoils), ``neutron`` (radiogenic
    neutrons, file component ``rg``; the only one that depends on ``tly``/``tqy``).  Index order
    (i_cs2, i_shadow, i_s1bdt, i_s2bdt).
    """
    r = _resolve_run(run)
    t = _xe_background_templates(r, _resolve_nuisance("tly", tly), _resolve_nuisance("tqy", tqy))
    return {k: v.copy() for k, v in t.items()}


def xenonnt_background_expectation(run: str, tly: float = 0, tqy: float = 0) -> dict[str, float]:
    """Expected background events in a science run: template sum [/t/y] x exposure [t y].

    Keys ``ac``, ``er``, ``neutron`` (see :func:`xenonnt_background_templates`).  Nominal AC gives
    7.48, 17.77, 14.86 events for sr0, sr1, sr2 (PROVENANCE: 7.5, 17.8, 14.9; observed 9, 28, 25).
    """
    r = _resolve_run(run)
    exposure = xenonnt_exposures()[r]
    t = _xe_background_templates(r, _resolve_nuisance("tly", tly), _resolve_nuisance("tqy", tqy))
    return {k: float(v.sum()) * exposure for k, v in t.items()}
