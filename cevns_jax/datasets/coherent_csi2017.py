"""COHERENT CsI[Na] 2017 data release (Science 357, 1123 (2017); Zenodo 10.5281/zenodo.1228631):
parameters, beam-on/off coincidence and anti-coincidence histograms, arrival-time PDFs and the
prompt-neutron PE spectrum.

Plain NumPy, run once at set-up; names are checked and unknown ones raise ``ValueError``; the
histogram and PDF readers check grids and the release's counts and raise ``ValueError``
naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._io import _data_file, _read_csv, checked_rows

__all__ = [
    "coherent_csi2017_parameters",
    "coherent_csi2017_parameter_uncertainties",
    "coherent_csi2017_histogram",
    "coherent_csi2017_arrival_pdfs",
    "coherent_csi2017_prompt_neutron_pe",
]

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
# Histograms and PDFs (read with checks; ``path`` replaces the packaged file)
# --------------------------------------------------------------------------------------------
#: (total, counts with 6 <= PE <= 30 and t < 6 us) of each histogram (PROVENANCE section 1);
#: None where the release documentation gives no total.
HISTOGRAM_COUNTS = {("coincidence", "beamOn"): (1207, 547),
                    ("anticoincidence", "beamOn"): (1032, 405),
                    ("coincidence", "beamOff"): (None, 209),
                    ("anticoincidence", "beamOff"): (None, 207)}
PE_VALUES = np.arange(1.0, 50.0, 2.0)          # 2-PE bins [0,2), [2,4), ... labelled 1, 3, ...
T_CENTRES_US = np.arange(0.25, 12.0, 0.5)      # 0.5-us bins


def _read_rows(name: str, path, n_columns: int, header: str) -> tuple[np.ndarray, str]:
    where = str(path) if path is not None else f"data/coherent_csi2017/{name}"
    text = (Path(path) if path is not None else _data_file("coherent_csi2017", name)).read_text(
        encoding="utf-8")
    return checked_rows(text, where, n_columns, header), where


def coherent_csi2017_histogram(window: str, beam: str, path=None) -> np.ndarray:
    """Counts (25 PE bins x 24 time bins) of ``window`` "coincidence"/"anticoincidence" and
    ``beam`` "beamOn"/"beamOff". Checks the grid, integer counts and the release totals."""
    key = (window, beam)
    if key not in HISTOGRAM_COUNTS:
        raise ValueError(f"unknown CsI 2017 histogram {key!r}; known: {list(HISTOGRAM_COUNTS)}")
    table, where = _read_rows(f"csi2017_data_{window}_{beam}.csv", path, 3, "PE,t_us,counts")
    if table.shape[0] != PE_VALUES.size * T_CENTRES_US.size:
        raise ValueError(f"{where}: {table.shape[0]} rows, expected "
                         f"{PE_VALUES.size * T_CENTRES_US.size} (25 PE x 24 time bins)")
    grid_pe = np.repeat(PE_VALUES, T_CENTRES_US.size)
    grid_t = np.tile(T_CENTRES_US, PE_VALUES.size)
    if not (np.allclose(table[:, 0], grid_pe) and np.allclose(table[:, 1], grid_t)):
        raise ValueError(f"{where}: rows are not the PE-major grid PE 1..49 x t 0.25..11.75 us")
    counts = table[:, 2]
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(f"{where}: counts must be non-negative integers")
    hist = counts.reshape(PE_VALUES.size, T_CENTRES_US.size)
    total, in_roi = HISTOGRAM_COUNTS[key]
    if total is not None and int(hist.sum()) != total:
        raise ValueError(f"{where}: {int(hist.sum())} counts in total, the release has {total}")
    roi = int(hist[(PE_VALUES >= 6) & (PE_VALUES <= 30)][:, T_CENTRES_US < 6].sum())
    if roi != in_roi:
        raise ValueError(f"{where}: {roi} counts with 6 <= PE <= 30, t < 6 us; the release "
                         f"has {in_roi}")
    hist.setflags(write=False)
    return hist


def coherent_csi2017_arrival_pdfs(path=None) -> dict[str, np.ndarray]:
    """Arrival-time PDFs per 0.5-us bin (24 bins): "prompt_neutrinos", "delayed_neutrinos",
    "prompt_neutrons". Checks the time grid, non-negativity and unit sums (to 1e-6)."""
    header = "t_us,prompt_neutrinos,delayed_neutrinos,prompt_neutrons"
    table, where = _read_rows("csi2017_arrival_time_pdfs.csv", path, 4, header)
    if table.shape[0] != T_CENTRES_US.size or not np.allclose(table[:, 0], T_CENTRES_US):
        raise ValueError(f"{where}: expected 24 rows at t = 0.25 ... 11.75 us")
    out = {}
    for i, name in enumerate(header.split(",")[1:], start=1):
        column = table[:, i].copy()
        if np.any(column < 0) or abs(column.sum() - 1.0) > 1e-6:
            raise ValueError(f"{where}: column {name!r} is not a PDF (sum {column.sum():.8g})")
        column.setflags(write=False)
        out[name] = column
    return out


def coherent_csi2017_prompt_neutron_pe(path=None) -> tuple[np.ndarray, np.ndarray]:
    """(1-PE bin centres 0.5 ... 49.5, prompt neutrons per GWhr) of the release."""
    table, where = _read_rows("csi2017_prompt_neutron_PE_pdf.txt", path, 2, None)
    if table.shape[0] != 50 or not np.allclose(table[:, 0], np.arange(50) + 0.5):
        raise ValueError(f"{where}: expected 50 rows at PE = 0.5 ... 49.5")
    if np.any(table[:, 1] < 0):
        raise ValueError(f"{where}: negative rates")
    centres, rate = table[:, 0].copy(), table[:, 1].copy()
    centres.setflags(write=False)
    rate.setflags(write=False)
    return centres, rate
