"""Building blocks for neutrino spectra: analytic pieces, piecewise-linear tables, lines.

A beam's energy spectrum is a list of *pieces* that do not overlap (they may touch):

* :class:`AnalyticPiece`: a smooth density on [lo, hi] (Michel spectra, the Mueller
  exp-polynomials); moments by adaptive ``scipy.integrate.quad``;
* :class:`LinearTable`: piecewise-linear interpolation of a table; moments in closed form
  (exact for a piecewise-linear density, written to avoid cancellation);
* :class:`Line`: a mono-energetic line (delta function) of unit weight.

``moments(E_lo)`` returns (M_0, M_-1, M_-2), M_k = int_{E_lo}^{hi} f(E) E^k dE: every
cross section here is F^2 (a + b/E + c/E^2), so these three numbers give the inner
(neutrino-energy) integral exactly.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad

#: Relative tolerance of the inner adaptive integrals.
INNER_EPSREL = 1e-12


def quad_checked(func, lo, hi, epsrel, points=None, what="integral"):
    """``scipy.integrate.quad`` with epsabs = 0; returns (value, abs_error).

    Warnings are turned into a check: if QUADPACK reports a problem (ier != 0) and the
    error estimate is above 1e3 * epsrel of the value, RuntimeError is raised.
    """
    if not hi > lo:
        return 0.0, 0.0
    kw = {"epsabs": 0.0, "epsrel": epsrel, "full_output": 1}
    if points is not None and len(points):
        pts = [p for p in points if lo < p < hi]
        if pts:
            kw["points"] = pts
            kw["limit"] = max(200, 4 * len(pts) + 50)
        else:
            kw["limit"] = 200
    else:
        kw["limit"] = 200
    out = quad(func, lo, hi, **kw)
    value, err = out[0], out[1]
    ier = 0 if len(out) == 3 else 1
    if ier and not (err <= 1e3 * epsrel * abs(value) or value == 0.0):
        raise RuntimeError(
            f"quad failed for {what} on [{lo!r}, {hi!r}]: value {value!r}, error {err!r}: "
            f"{out[3] if len(out) > 3 else ''}"
        )
    return value, err


# ---------------------------------------------------------------------------------------
# stable helpers for the closed-form moments of a linear density
# ---------------------------------------------------------------------------------------


#: Below this r the two helpers use their Taylor series (20 terms: error < 0.05^21).
_SERIES_R = 0.05
_N_R_TERMS = 22
_C_R_MINUS_LOG1P = [(-1) ** n / n for n in range(2, _N_R_TERMS)]
_C_LOG1P_MINUS = [(-1) ** n * (n - 1) / n for n in range(2, _N_R_TERMS)]


def _horner_r2(coeffs, r):
    """r^2 * sum_j coeffs[j] r^j by Horner's rule."""
    acc = 0.0
    for c in reversed(coeffs):
        acc = acc * r + c
    return acc * r * r


def _r_minus_log1p(r: float) -> float:
    """r - log(1 + r) = sum_{n>=2} (-1)^n r^n / n, accurate for small r."""
    if r < _SERIES_R:
        return _horner_r2(_C_R_MINUS_LOG1P, r)
    return r - math.log1p(r)


def _log1p_minus_r_over_1pr(r: float) -> float:
    """log(1 + r) - r / (1 + r) = sum_{n>=2} (-1)^n (n-1) r^n / n, accurate for small r."""
    if r < _SERIES_R:
        return _horner_r2(_C_LOG1P_MINUS, r)
    return math.log1p(r) - r / (1.0 + r)


def linear_segment_moments(a: float, b: float, fa: float, fb: float):
    """(M_0, M_-1, M_-2) of the linear density through (a, fa), (b, fb) over [a, b], a > 0.

    With h = b - a, r = h/a, s = (fb - fa)/h and f = fa + s (E - a):
    M_0 = h (fa + fb)/2; M_-1 = fa log(1+r) + s a [r - log(1+r)];
    M_-2 = fa r / b + s [log(1+r) - r/(1+r)].
    """
    h = b - a
    if h <= 0.0:
        return 0.0, 0.0, 0.0
    r = h / a
    s = (fb - fa) / h
    L = math.log1p(r)
    m0 = 0.5 * h * (fa + fb)
    m1 = fa * L + s * a * _r_minus_log1p(r)
    m2 = fa * r / b + s * _log1p_minus_r_over_1pr(r)
    return m0, m1, m2


# ---------------------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------------------


class AnalyticPiece:
    """A smooth density ``func`` on [lo, hi] (zero outside)."""

    kind = "continuum"

    def __init__(self, func, lo: float, hi: float, name: str = ""):
        if not hi > lo:
            raise ValueError(f"empty spectrum piece {name!r}: [{lo}, {hi}]")
        self.func, self.lo, self.hi, self.name = func, float(lo), float(hi), name
        self.knots = np.array([self.lo, self.hi])
        self._cache = {}

    def __call__(self, E):
        E = np.asarray(E, dtype=float)
        inside = (E >= self.lo) & (E <= self.hi)
        return np.where(inside, self.func(np.where(inside, E, self.lo)), 0.0)

    def segments(self):
        """(lo, hi) arrays of the smooth segments."""
        return np.array([self.lo]), np.array([self.hi])

    def moments(self, E_lo: float):
        lo = max(float(E_lo), self.lo)
        if lo >= self.hi:
            return np.zeros(3)
        key = lo
        if key in self._cache:
            return self._cache[key]
        f = self.func
        out = np.array([
            quad_checked(lambda e: float(f(e)), lo, self.hi, INNER_EPSREL, what=self.name)[0],
            quad_checked(lambda e: float(f(e)) / e, lo, self.hi, INNER_EPSREL, what=self.name)[0]
            if lo > 0 else math.inf,
            quad_checked(lambda e: float(f(e)) / (e * e), lo, self.hi, INNER_EPSREL,
                         what=self.name)[0] if lo > 0 else math.inf,
        ])
        if len(self._cache) < 100000:
            self._cache[key] = out
        return out


class LinearTable:
    """Piecewise-linear interpolation of (E, y) on [E[0], E[-1]], zero outside."""

    kind = "continuum"

    def __init__(self, E, y, name: str = ""):
        E = np.asarray(E, dtype=float)
        y = np.asarray(y, dtype=float)
        if E.ndim != 1 or E.shape != y.shape or E.size < 2 or np.any(np.diff(E) <= 0):
            raise ValueError(f"table {name!r} needs >= 2 strictly increasing energies")
        if np.any(y < 0) or not np.all(np.isfinite(y)):
            raise ValueError(f"table {name!r} has negative or non-finite values")
        self.E, self.y, self.name = E, y, name
        self.lo, self.hi = float(E[0]), float(E[-1])
        self.knots = E
        # tail[i] = moments of the full segments i, i+1, ... (exact closed form)
        seg = np.array([linear_segment_moments(E[i], E[i + 1], y[i], y[i + 1])
                        if E[i] > 0 else (0.5 * (E[i + 1] - E[i]) * (y[i] + y[i + 1]),
                                          math.inf, math.inf)
                        for i in range(E.size - 1)])
        tail = np.zeros((E.size, 3))
        # summed from the top so that small high-energy segments are not lost
        tail[:-1] = np.cumsum(seg[::-1], axis=0)[::-1]
        self._tail = tail

    def __call__(self, E):
        E = np.asarray(E, dtype=float)
        return np.interp(E, self.E, self.y, left=0.0, right=0.0)

    def segments(self):
        return self.E[:-1].copy(), self.E[1:].copy()

    def moments(self, E_lo: float):
        E_lo = float(E_lo)
        if E_lo >= self.hi:
            return np.zeros(3)
        if E_lo <= self.lo:
            return self._tail[0].copy()
        i = int(np.searchsorted(self.E, E_lo, side="right")) - 1  # E[i] <= E_lo < E[i+1]
        f_lo = float(np.interp(E_lo, self.E, self.y))
        part = linear_segment_moments(E_lo, self.E[i + 1], f_lo, self.y[i + 1])
        return np.asarray(part) + self._tail[i + 1]


class Line:
    """A mono-energetic line at ``energy`` with unit weight."""

    kind = "line"

    def __init__(self, energy: float, name: str = ""):
        if not energy > 0:
            raise ValueError(f"line {name!r} needs a positive energy, got {energy!r}")
        self.energy, self.name = float(energy), name
        self.lo = self.hi = self.energy
        self.knots = np.array([self.energy])


def spectrum_max_energy(pieces) -> float:
    return max(p.hi for p in pieces)
