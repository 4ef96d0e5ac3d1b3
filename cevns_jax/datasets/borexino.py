"""Borexino Phase-II spectrum (Nature 562, 505 (2018), Fig. 2a).

Plain NumPy, run once at set-up; names are checked and unknown ones raise ``ValueError``."""

from __future__ import annotations


import numpy as np

from ._io import _read_numeric

__all__ = [
    "BOREXINO_PHASE2_EXPOSURE_DAY_100T",
    "borexino_phase2_spectrum",
]

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
