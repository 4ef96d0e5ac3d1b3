"""XENONnT 8B CEvNS data release: events, binning, templates, exposures.

Plain NumPy, run once at set-up; names are checked and unknown ones raise ``ValueError``."""

from __future__ import annotations

import functools
import math

import numpy as np

from ._io import _read_csv, _read_numeric, _readonly, _unknown

__all__ = [
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
