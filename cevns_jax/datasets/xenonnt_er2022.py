"""XENONnT electronic-recoil search, SR0 (PRL 129, 161805 (2022), arXiv:2207.11330): the 433
events in 1-30 keV, the total efficiency and the best-fit background model B0.

Plain NumPy. Each loader takes an optional ``path`` (default: the packaged copy under
``cevns_jax/data/xenonnt_er2022/``, provenance in its README) and checks what it reads;
a malformed file raises ``ValueError`` naming the file and the problem.
"""

from __future__ import annotations

import numpy as np

from ._io import _data_file, _readonly

__all__ = ["XENONNT_ER_EXPOSURE_T_Y", "XENONNT_ER_EVENTS", "XENONNT_ER_RANGE_KEV",
           "xenonnt_er_events", "xenonnt_er_efficiency", "xenonnt_er_background"]

#: SR0 exposure [tonne year] (PRL 129, 161805 abstract)
XENONNT_ER_EXPOSURE_T_Y = 1.16
#: events in the 1-30 keV search region (PRL 129, 161805 Fig. 5; the data file)
XENONNT_ER_EVENTS = 433
XENONNT_ER_RANGE_KEV = (1.0, 30.0)
_DIR = "xenonnt_er2022"
_FILES = {"events": "xenonnt_er2022_events_1to30keV.csv",
          "efficiency": "xenonnt_er2022_efficiency.csv",
          "background": "xenonnt_er2022_background_model_B0.csv"}


def _columns(kind: str, path, n_columns: int) -> np.ndarray:
    source = _data_file(_DIR, _FILES[kind]) if path is None else path
    name = str(path) if path is not None else f"data/{_DIR}/{_FILES[kind]}"
    lines = [ln.strip() for ln in source.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if len(lines) < 2:
        raise ValueError(f"{name}: no data rows")
    rows = []
    for k, line in enumerate(lines[1:], start=1):
        fields = line.split(",")
        try:
            values = [float(f) for f in fields]
        except ValueError:
            raise ValueError(f"{name}: row {k} is not numeric: {line!r}") from None
        if len(values) != n_columns or not all(np.isfinite(values)):
            raise ValueError(f"{name}: row {k} needs {n_columns} finite numbers, got {line!r}")
        rows.append(values)
    return np.asarray(rows, dtype=float), name


def xenonnt_er_events(path=None) -> np.ndarray:
    """Reconstructed energies [keV] of the 433 events in 1-30 keV (sorted)."""
    data, name = _columns("events", path, 1)
    energies = np.sort(data[:, 0])
    if energies.size != XENONNT_ER_EVENTS:
        raise ValueError(f"{name}: expected {XENONNT_ER_EVENTS} events, found {energies.size}")
    lo, hi = XENONNT_ER_RANGE_KEV
    if energies[0] < lo or energies[-1] > hi:
        raise ValueError(f"{name}: events outside [{lo}, {hi}] keV "
                         f"({energies[0]:.4g} .. {energies[-1]:.4g})")
    return _readonly(energies)


def xenonnt_er_efficiency(path=None) -> tuple[np.ndarray, np.ndarray]:
    """(reconstructed energy [keV], total efficiency) of Fig. 1, 0.1 to ~30 keV."""
    data, name = _columns("efficiency", path, 2)
    energy, eff = data[:, 0], data[:, 1]
    if np.any(np.diff(energy) <= 0):
        raise ValueError(f"{name}: efficiency energies are not strictly increasing")
    if np.any(eff < 0) or np.any(eff > 1):
        raise ValueError(f"{name}: efficiency values outside [0, 1]")
    if energy[0] > XENONNT_ER_RANGE_KEV[0] or energy[-1] < 29.0:
        raise ValueError(f"{name}: efficiency covers {energy[0]:.3g}-{energy[-1]:.3g} keV, "
                         "not the 1-30 keV search region")
    return _readonly(energy), _readonly(eff)


def xenonnt_er_background(path=None) -> tuple[np.ndarray, np.ndarray]:
    """(0.1-keV bin centres [keV], B0 [events/(t yr keV)]), efficiency included.

    Checked: uniform 0.1-keV grid, non-negative rates, and 1.16 t yr x B0 over 1-30 keV
    within 2 % of the 433 observed events (426.5 for the release)."""
    data, name = _columns("background", path, 2)
    centre, rate = data[:, 0], data[:, 1]
    if not np.allclose(np.diff(centre), 0.1, rtol=0, atol=1e-9):
        raise ValueError(f"{name}: B0 is not on a uniform 0.1-keV grid")
    if np.any(rate < 0):
        raise ValueError(f"{name}: negative background rate")
    lo, hi = XENONNT_ER_RANGE_KEV
    inside = (centre > lo) & (centre < hi)
    total = XENONNT_ER_EXPOSURE_T_Y * 0.1 * rate[inside].sum()
    if abs(total / XENONNT_ER_EVENTS - 1.0) > 0.02:
        raise ValueError(f"{name}: B0 over 1-30 keV gives {total:.1f} events, not within 2 % "
                         f"of the {XENONNT_ER_EVENTS} observed")
    return _readonly(centre), _readonly(rate)
