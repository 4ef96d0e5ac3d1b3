"""COHERENT CsI[Na] full data set (PRL 129, 081801 (2022), arXiv:2110.07730): release files.

Plain NumPy, read once at set-up. Every reader checks what it reads against the release
(event counts, table lengths, bin spacing, PDF sums) and raises ``ValueError`` naming the file
and the problem, so a truncated or altered copy cannot pass silently. Each function takes an
optional ``path`` (a copy of the file) in place of the packaged one.

Files (``data/coherent_csi2021/``, provenance in its README.md):

- ``csi2021_events_beamOn_{C,AC}.csv``: unbinned (PE, t_rec [us]) events, coincidence (C) and
  anti-coincidence (AC, steady-state background) windows; 5142 C and 4890 AC events, of which
  1578 and 1295 lie in the cross-section region PE < 60, t_rec < 6 us.
- ``csi2021_{brn,nin}_{PE,trec}_pdf.csv``: beam-related and neutrino-induced neutron shapes,
  1-PE bins (0.5 ... 249.5) and 10-ns bins (-0.245 ... 6.245 us), arbitrary normalisation.
- ``csi2021_efficiency_coefficients.txt``: eff(x) = a / (1 + exp(-b (x - c))) + d, x in PE;
  nominal, +1 sigma, -1 sigma.
- ``csi2021_scintillation_response_coefficients.txt``: Eee = a x + b x^2 + c x^3 + d x^4
  (x in MeVnr, Eee in MeVee); nominal and two principal-component pairs (+1, -1 sigma).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ._io import _data_file, checked_rows

__all__ = ["ROI_PE_MAX", "ROI_T_MAX_US", "EVENT_COUNTS", "PDF_SUMS", "load_events",
           "load_neutron_pdf", "load_efficiency_coefficients",
           "load_scintillation_coefficients"]

DIRECTORY = "coherent_csi2021"
#: Cross-section region of the collaboration's fit (PRL 129, 081801).
ROI_PE_MAX = 60.0
ROI_T_MAX_US = 6.0
#: (total events, events with PE < 60 and t_rec < 6 us) per window (PROVENANCE section 2).
EVENT_COUNTS = {"C": (5142, 1578), "AC": (4890, 1295)}
#: Sums of the released shapes (arbitrary normalisation), as stated in the file headers.
PDF_SUMS = {("brn", "PE"): 1.498, ("brn", "trec"): 27.63, ("nin", "PE"): 1.334,
            ("nin", "trec"): 7.565}
_PDF_GRID = {"PE": (250, 0.5, 1.0), "trec": (650, -0.245, 0.01)}   # (rows, first centre, step)


def _text(name: str, path) -> tuple[str, str]:
    if path is None:
        return _data_file(DIRECTORY, name).read_text(encoding="utf-8"), f"data/{DIRECTORY}/{name}"
    return Path(path).read_text(encoding="utf-8"), str(path)


def load_events(window: str, path=None) -> np.ndarray:
    """(n, 2) array of (PE, t_rec [us]) of the beam-on ``window`` "C" or "AC".

    Checks: the release's event count, the count in the region PE < 60, t_rec < 6 us, and
    the release scope 0 < PE < 250, 0 <= t_rec < 12 us.
    """
    if window not in EVENT_COUNTS:
        raise ValueError(f"unknown CsI 2021 window {window!r}; expected one of {tuple(EVENT_COUNTS)}")
    text, where = _text(f"csi2021_events_beamOn_{window}.csv", path)
    events = checked_rows(text, where, 2, "PE,t_rec_us")
    total, in_roi = EVENT_COUNTS[window]
    if events.shape[0] != total:
        raise ValueError(f"{where}: {events.shape[0]} events, the release has {total}")
    pe, t = events[:, 0], events[:, 1]
    if np.any(pe <= 0) or np.any(pe >= 250) or np.any(t < 0) or np.any(t >= 12):
        raise ValueError(f"{where}: events outside the release scope 0 < PE < 250, 0 <= t < 12 us")
    n_roi = int(np.sum((pe < ROI_PE_MAX) & (t < ROI_T_MAX_US)))
    if n_roi != in_roi:
        raise ValueError(f"{where}: {n_roi} events with PE < 60 and t < 6 us, the release has {in_roi}")
    events.setflags(write=False)
    return events


def load_neutron_pdf(kind: str, axis: str, path=None) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, shape) of the BRN or NIN background (``kind`` "brn"/"nin") along
    ``axis`` "PE" (1-PE bins) or "trec" (10-ns bins, us); the shape keeps the release's
    arbitrary normalisation. Checks length, uniform grid, non-negativity and the sum."""
    if (kind, axis) not in PDF_SUMS:
        raise ValueError(f"unknown neutron PDF ({kind!r}, {axis!r}); expected kind in "
                         f"('brn', 'nin') and axis in ('PE', 'trec')")
    text, where = _text(f"csi2021_{kind}_{axis}_pdf.csv", path)
    header = "PE_bin_centre,pdf" if axis == "PE" else "t_rec_us,pdf"
    table = checked_rows(text, where, 2, header)
    n_rows, first, step = _PDF_GRID[axis]
    if table.shape[0] != n_rows:
        raise ValueError(f"{where}: {table.shape[0]} rows, expected {n_rows}")
    expected_centres = first + step * np.arange(n_rows)
    if not np.allclose(table[:, 0], expected_centres, atol=1e-9):
        raise ValueError(f"{where}: bin centres are not the uniform grid {first} + {step} k")
    if np.any(table[:, 1] < 0):
        raise ValueError(f"{where}: negative PDF values")
    total = float(table[:, 1].sum())
    if not math.isclose(total, PDF_SUMS[(kind, axis)], rel_tol=1e-3):
        raise ValueError(f"{where}: PDF sums to {total:.6g}, the release sums to "
                         f"{PDF_SUMS[(kind, axis)]}")
    centres, values = table[:, 0].copy(), table[:, 1].copy()
    centres.setflags(write=False)
    values.setflags(write=False)
    return centres, values


def _coefficient_sets(name: str, n_sets: int, path) -> np.ndarray:
    text, where = _text(name, path)
    sets = checked_rows(text, where, 4, None)
    if sets.shape[0] != n_sets:
        raise ValueError(f"{where}: {sets.shape[0]} coefficient sets, expected {n_sets}")
    sets.setflags(write=False)
    return sets


def load_efficiency_coefficients(path=None) -> dict[str, np.ndarray]:
    """PE efficiency coefficients (a, b, c, d): keys "nominal", "plus", "minus" (+-1 sigma).

    The release labels its third set "+1 sigma" a second time; it is the -1 sigma model
    (its threshold parameter c lies above the nominal by as much as the +1 sigma one lies
    below), which this reader checks."""
    sets = _coefficient_sets("csi2021_efficiency_coefficients.txt", 3, path)
    nominal, plus, minus = sets
    where = path or f"data/{DIRECTORY}/csi2021_efficiency_coefficients.txt"
    if not (plus[2] < nominal[2] < minus[2]):
        raise ValueError(f"{where}: expected c(+1 sigma) < c(nominal) < c(-1 sigma), got "
                         f"{plus[2]}, {nominal[2]}, {minus[2]}")
    return {"nominal": nominal, "plus": plus, "minus": minus}


def load_scintillation_coefficients(path=None) -> dict[str, np.ndarray]:
    """Scintillation response Eee(T_nr) coefficients (a, b, c, d): keys "nominal",
    "pc0_plus", "pc0_minus", "pc1_plus", "pc1_minus". Checks that every set gives a
    positive, increasing Eee on 1-50 keVnr (the range of CsI recoils at the SNS)."""
    sets = _coefficient_sets("csi2021_scintillation_response_coefficients.txt", 5, path)
    names = ("nominal", "pc0_plus", "pc0_minus", "pc1_plus", "pc1_minus")
    where = path or f"data/{DIRECTORY}/csi2021_scintillation_response_coefficients.txt"
    x = np.linspace(1e-3, 0.05, 200)
    for name, c in zip(names, sets):
        eee = c[0] * x + c[1] * x**2 + c[2] * x**3 + c[3] * x**4
        if np.any(eee <= 0) or np.any(np.diff(eee) <= 0):
            raise ValueError(f"{where}: set {name!r} is not positive and increasing on 1-50 keVnr")
    return dict(zip(names, sets))
