"""Readers shared by the loaders: files under ``cevns_jax/data/`` located with
:mod:`importlib.resources` (works from a wheel or a checkout), parsed once and cached as
read-only arrays."""

from __future__ import annotations

import functools
import importlib.resources
import math

import numpy as np

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


def checked_rows(text: str, where: str, n_columns: int, header: str | None) -> np.ndarray:
    """Numeric rows of a '#'-commented file (comma or whitespace separated)."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if header is not None:
        if not lines or lines[0].replace(" ", "") != header:
            raise ValueError(f"{where}: expected the column header {header!r}, "
                             f"got {lines[0] if lines else 'an empty file'!r}")
        lines = lines[1:]
    rows = []
    for number, line in enumerate(lines, start=1):
        cells = line.replace(",", " ").split()
        if len(cells) != n_columns:
            raise ValueError(f"{where}: data row {number} has {len(cells)} columns, "
                             f"expected {n_columns}: {line!r}")
        try:
            values = [float(c) for c in cells]
        except ValueError:
            raise ValueError(f"{where}: data row {number} is not numeric: {line!r}") from None
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"{where}: data row {number} has a non-finite value: {line!r}")
        rows.append(values)
    return np.asarray(rows, dtype=np.float64).reshape(-1, n_columns)
