"""COHERENT CENNS-10 liquid argon 2020 data release, Analysis A.

Release: Zenodo 10.5281/zenodo.3903810 (arXiv:2006.12659) for PRL 126, 012002 (2021),
arXiv:2003.10630. Every table is a 3-D histogram of 12 reconstructed-energy bins
(0-120 keVee, 10 keVee wide) x 8 F90 bins (0.5-0.9, 0.05 wide) x 10 trigger-time bins
(-0.1-4.9 us, 0.5 us wide), one row per bin with the bin centres and the value, energy
varying slowest. The loader checks every file (960 rows of 4 numbers, the bin centres of
that grid in that order, finite non-negative values, the stated totals) and raises
``ValueError`` naming the file and the problem.

Plain NumPy, run once at set-up.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ._io import _data_file

__all__ = ["LAr2020Release", "load_coherent_lar2020"]

ENERGY_EDGES_KEVEE = np.linspace(0.0, 120.0, 13)
F90_EDGES = np.linspace(0.5, 0.9, 9)
TIME_EDGES_US = np.linspace(-0.1, 4.9, 11)
SHAPE = (12, 8, 10)

#: Central tables: file name and the total the release states for it (PROVENANCE section 3).
TABLES = {
    "data": ("lar2020_datanobkgsub.txt", 3752.0),
    "steady_state": ("lar2020_bkgpdf.txt", 3152.0),
    "cevns": ("lar2020_cevnspdf.txt", 128.0),
    "brn_prompt": ("lar2020_brnpdf.txt", 497.0),
    "brn_delayed": ("lar2020_delbrnpdf.txt", 33.0),
}

#: Systematic variants (companion document Table 3): file under syst/.
SYSTEMATICS = {
    "brn_energy_up": "lar2020_brnpdf+1sigEnergy.txt",
    "brn_energy_down": "lar2020_brnpdf-1sigEnergy.txt",
    "brn_timing_mean_up": "lar2020_brnpdf+1sigBRNTimingMean.txt",
    "brn_timing_mean_down": "lar2020_brnpdf-1sigBRNTimingMean.txt",
    "brn_timing_width": "lar2020_brnpdfBRNTimingWidthSyst.txt",
    "cevns_f90_up": "lar2020_cevnspdf+1sigF90.txt",
    "cevns_f90_down": "lar2020_cevnspdf-1sigF90.txt",
    "cevns_timing_mean": "lar2020_cevnspdfCEvNSTimingMeanSyst.txt",
}

EFFICIENCY_FILE = "lar2020_CENNS10AnlAEfficiency.txt"
PARAMETER_FILE = "lar2020_parameters.csv"

# relative tolerance of the stated totals: the release prints 6 significant digits per bin,
# so 960 rounded values may drift by ~1e-6 relative; 1e-5 leaves room and still catches
# a single missing or altered bin (>= 1e-4 of any total)
_TOTAL_RTOL = 1e-5


@dataclasses.dataclass(frozen=True)
class LAr2020Release:
    """The checked release: arrays of shape :data:`SHAPE` (energy, F90, time) and tables.

    ``efficiency``: rows (E_keVee, E_keVnr, efficiency); ``parameters``: name -> (value,
    uncertainty) from ``lar2020_parameters.csv`` (uncertainty NaN where the release says
    "negligible")."""

    tables: dict
    systematics: dict
    efficiency: np.ndarray
    parameters: dict


def _centres(edges):
    return 0.5 * (edges[1:] + edges[:-1])


def _expected_centres() -> np.ndarray:
    e, f, t = np.meshgrid(_centres(ENERGY_EDGES_KEVEE), _centres(F90_EDGES),
                          _centres(TIME_EDGES_US), indexing="ij")
    return np.stack([e.ravel(), f.ravel(), t.ravel()], axis=1)


def _numeric_rows(text: str, name: str, n_columns: int) -> np.ndarray:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != n_columns:
            raise ValueError(f"{name}: line {number} has {len(fields)} fields, expected "
                             f"{n_columns}: {line!r}")
        try:
            rows.append([float(x) for x in fields])
        except ValueError:
            raise ValueError(f"{name}: line {number} is not numeric: {line!r}") from None
    return np.asarray(rows, dtype=np.float64).reshape(-1, n_columns)


def read_table(path, name: str | None = None, total: float | None = None) -> np.ndarray:
    """One 3-D table as an array of shape :data:`SHAPE`, checked against the release grid.

    ``total``: the stated sum of all bins (checked to :data:`_TOTAL_RTOL`)."""
    name = name or str(path)
    rows = _numeric_rows(path.read_text(encoding="utf-8"), name, 4)
    n_bins = math.prod(SHAPE)
    if rows.shape[0] != n_bins:
        raise ValueError(f"{name}: {rows.shape[0]} data rows, expected {n_bins} "
                         f"({SHAPE[0]} E x {SHAPE[1]} F90 x {SHAPE[2]} t); truncated file?")
    # bin centres are printed with up to 3 decimals: 1e-6 absolute is far below any spacing
    wrong = np.flatnonzero(np.any(np.abs(rows[:, :3] - _expected_centres()) > 1e-6, axis=1))
    if wrong.size:
        i = int(wrong[0])
        raise ValueError(f"{name}: row {i + 1} has bin centres {rows[i, :3].tolist()}, expected "
                         f"{_expected_centres()[i].tolist()} (bin edges inconsistent with the "
                         f"release grid)")
    values = rows[:, 3]
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{name}: values must be finite and >= 0")
    if total is not None and abs(values.sum() - total) > _TOTAL_RTOL * total:
        raise ValueError(f"{name}: bins sum to {values.sum():.6g}, the release states {total:g}")
    return values.reshape(SHAPE)


def _read_efficiency(path) -> np.ndarray:
    rows = _numeric_rows(path.read_text(encoding="utf-8"), EFFICIENCY_FILE, 3)
    if rows.shape[0] < 2 or np.any(np.diff(rows[:, 0]) <= 0) or np.any(np.diff(rows[:, 1]) <= 0):
        raise ValueError(f"{EFFICIENCY_FILE}: energies must increase, got {rows.shape[0]} rows")
    if np.any((rows[:, 2] < 0) | (rows[:, 2] > 1)):
        raise ValueError(f"{EFFICIENCY_FILE}: efficiencies must lie in [0, 1]")
    return rows


def _read_parameters(path) -> dict:
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines or lines[0].split(",")[:3] != ["name", "value", "uncertainty"]:
        raise ValueError(f"{PARAMETER_FILE}: header must start with name,value,uncertainty")
    out = {}
    for ln in lines[1:]:
        fields = [c.strip() for c in ln.split(",")]
        if len(fields) != 4:
            raise ValueError(f"{PARAMETER_FILE}: malformed row {ln!r}")
        try:
            unc = math.nan if fields[2] == "negligible" else float(fields[2])
            out[fields[0]] = (float(fields[1]), unc)
        except ValueError:
            raise ValueError(f"{PARAMETER_FILE}: non-numeric row {ln!r}") from None
    return out


def load_coherent_lar2020(directory=None) -> LAr2020Release:
    """Read and check the release (``directory``: a copy of ``data/coherent_lar2020``)."""
    base = _data_file("coherent_lar2020") if directory is None else directory
    tables = {key: read_table(base.joinpath(fname), fname, total)
              for key, (fname, total) in TABLES.items()}
    data = tables["data"]
    if np.any(data != np.round(data)):
        raise ValueError(f"{TABLES['data'][0]}: event counts must be integers")
    systematics = {key: read_table(base.joinpath("syst", fname), f"syst/{fname}")
                   for key, fname in SYSTEMATICS.items()}
    efficiency = _read_efficiency(base.joinpath(EFFICIENCY_FILE))
    parameters = _read_parameters(base.joinpath(PARAMETER_FILE))
    qf = parameters["qf_a"][0] + parameters["qf_b"][0] * efficiency[:, 1]
    # the table's keVnr column follows the release QF to 0.14 % (it drifts from 0 at 0.25
    # keVee to -0.13 % at 40 keVee, a slightly different slope); 0.5 % catches a wrong column
    if np.any(np.abs(qf * efficiency[:, 1] - efficiency[:, 0]) > 5e-3 * efficiency[:, 0]):
        raise ValueError(f"{EFFICIENCY_FILE}: keVee and keVnr columns disagree with the "
                         f"release quenching factor QF = qf_a + qf_b T[keVnr]")
    return LAr2020Release(tables, systematics, efficiency, parameters)
