"""Nuclear form factors F(q) (reference implementation, plain NumPy).

``q`` is the momentum transfer |q| = sqrt(2 m_A T) in MeV; it is converted to fm^-1 with
``HBARC_MEV_FM``. Every model is exactly 1 at q = 0. Near q = 0 the closed forms lose
digits by cancellation (relative error ~ eps / (qR)^2), so below a cutoff
(qR)^2 < ``SERIES_CUT2`` they are replaced by their Taylor series in q^2, which is
accurate to ~1e-16 there; at the cutoff both branches agree to ~1e-14.

Models (``model`` argument):

* ``"symmetrized_fermi"``: paper 000 Eq. (23)-(24), c = 1.23 A^{1/3} - 0.60 fm,
  a = 0.52 fm.  ``radius_scale`` multiplies c.
* ``"helm"``: Lewin & Smith, Astropart. Phys. 6 (1996) 87, Eq. (4.7)-(4.11):
  F = 3 j1(q R0)/(q R0) exp(-q^2 s^2 / 2), s = 0.9 fm,
  R0^2 = c^2 + (7/3) pi^2 a^2 - 5 s^2 with the same c, a.  ``radius_scale`` multiplies R0.
* ``"klein_nystrand"``: Klein & Nystrand, PRC 60 (1999) 014903:
  F = 3 j1(q R_A)/(q R_A) / (1 + q^2 a_k^2), R_A = 1.2 A^{1/3} fm, a_k = 0.7 fm.
  ``radius_scale`` multiplies R_A.
* ``"none"`` (alias ``"unity"``): F = 1 (point nucleus; for tests).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import bernoulli

from ..constants import HBARC_MEV_FM

FORM_FACTOR_MODELS = ("symmetrized_fermi", "helm", "klein_nystrand", "none", "unity")

#: Series branch used where (q R)^2 < SERIES_CUT2 (R = the model's length scale).
SERIES_CUT2 = 0.25
#: Number of terms (powers of q^2) kept in the series; the first neglected term is
#: below 1e-20 relative at the cutoff.
N_SERIES = 14

#: Fermi-distribution parameters (paper 000 Eq. 24) shared by SF and Helm [fm].
SF_C0, SF_C1, SF_A = 1.23, 0.60, 0.52
#: Helm skin thickness s [fm] (Lewin & Smith 1996).
HELM_S = 0.9
#: Klein-Nystrand radius coefficient and Yukawa range [fm].
KN_R0, KN_AK = 1.2, 0.7


def _check_model(model) -> str:
    if model not in FORM_FACTOR_MODELS:
        raise ValueError(
            f"unknown form factor model {model!r}; expected one of "
            f"{', '.join(FORM_FACTOR_MODELS)}"
        )
    return model


# ---------------------------------------------------------------------------------------
# 3 j1(x)/x, shared by Helm and Klein-Nystrand
# ---------------------------------------------------------------------------------------

#: Taylor coefficients of 3 j1(x)/x = sum_n (-1)^n 6 (n+1) x^{2n} / (2n+3)!.
_J1_COEFFS = np.array(
    [(-1) ** n * 6.0 * (n + 1) / math.factorial(2 * n + 3) for n in range(N_SERIES)]
)


def j1_ratio_series(x):
    """3 j1(x)/x from its Taylor series (accurate for x^2 < SERIES_CUT2)."""
    u = np.asarray(x, dtype=float) ** 2
    return np.polynomial.polynomial.polyval(u, _J1_COEFFS)


def j1_ratio_direct(x):
    """3 j1(x)/x = 3 (sin x - x cos x) / x^3 (closed form; loses digits as x -> 0)."""
    x = np.asarray(x, dtype=float)
    return 3.0 * (np.sin(x) - x * np.cos(x)) / x**3


def j1_ratio(x):
    """3 j1(x)/x, series below the cutoff and closed form above."""
    x = np.asarray(x, dtype=float)
    small = x * x < SERIES_CUT2
    safe = np.where(small, 1.0, x)
    return np.where(small, j1_ratio_series(np.where(small, x, 0.0)), j1_ratio_direct(safe))


# ---------------------------------------------------------------------------------------
# symmetrized Fermi
# ---------------------------------------------------------------------------------------


def _x_over_sinh(y):
    """y / sinh(y) without overflow (1 at y = 0)."""
    y = np.abs(np.asarray(y, dtype=float))
    safe = np.where(y > 0.0, y, 1.0)
    val = 2.0 * safe * np.exp(-safe) / -np.expm1(-2.0 * safe)
    return np.where(y > 0.0, val, 1.0)


def _x_coth(y):
    """y coth(y) without overflow (1 at y = 0)."""
    y = np.abs(np.asarray(y, dtype=float))
    safe = np.where(y > 0.0, y, 1.0)
    val = safe * (1.0 + np.exp(-2.0 * safe)) / -np.expm1(-2.0 * safe)
    return np.where(y > 0.0, val, 1.0)


def sf_series_coefficients(c: float, a: float, n_terms: int = N_SERIES) -> np.ndarray:
    """Coefficients g_k of F_SF(q) / [y/sinh y] = sum_k g_k q^{2k} (q in fm^-1).

    With x = q c and y = pi q a, the bracket of Eq. (23) is
    N = y coth(y) sin(x) - x cos(x) = q c [B(u) S(u) - C(u)], u = q^2, where
    y coth y = sum_n 2^{2n} B_{2n} (pi a)^{2n} u^n / (2n)!,
    sin(x)/x = sum_m (-1)^m c^{2m} u^m / (2m+1)!, cos x = sum_m (-1)^m c^{2m} u^m / (2m)!.
    The u^0 term cancels exactly, and 3 N / (x (x^2 + y^2)) = 3/(c^2 + pi^2 a^2) P(u)/u.
    """
    m = n_terms + 1
    B2n = bernoulli(2 * m)[0 : 2 * m : 2]  # B_0, B_2, B_4, ...
    pa2 = (math.pi * a) ** 2
    b = np.array([2.0 ** (2 * n) * B2n[n] * pa2**n / math.factorial(2 * n) for n in range(m)])
    s = np.array([(-1) ** k * c ** (2 * k) / math.factorial(2 * k + 1) for k in range(m)])
    co = np.array([(-1) ** k * c ** (2 * k) / math.factorial(2 * k) for k in range(m)])
    P = np.convolve(b, s)[:m] - co
    # P[0] == 0 exactly (1*1 - 1)
    return 3.0 * P[1:] / (c * c + pa2)


def sf_series(q_fm, c: float, a: float):
    """Symmetrized-Fermi F from the series (accurate for q^2 (c^2 + pi^2 a^2) < cut)."""
    q = np.asarray(q_fm, dtype=float)
    g = sf_series_coefficients(c, a)
    return np.polynomial.polynomial.polyval(q * q, g) * _x_over_sinh(math.pi * a * q)


def sf_direct(q_fm, c: float, a: float):
    """Symmetrized-Fermi F, paper 000 Eq. (23), evaluated as written (q > 0)."""
    q = np.asarray(q_fm, dtype=float)
    x = q * c
    y = math.pi * q * a
    return (
        3.0 / (x * (x * x + y * y)) * _x_over_sinh(y) * (_x_coth(y) * np.sin(x) - x * np.cos(x))
    )


def _sf(q_fm, c, a):
    q = np.abs(np.asarray(q_fm, dtype=float))
    scale2 = c * c + (math.pi * a) ** 2
    small = q * q * scale2 < SERIES_CUT2
    q_small = np.where(small, q, 0.0)
    q_big = np.where(small, 1.0, q)
    return np.where(small, sf_series(q_small, c, a), sf_direct(q_big, c, a))


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


def fermi_c(A) -> float:
    """Half-density radius c = 1.23 A^{1/3} - 0.60 fm (paper 000 Eq. 24)."""
    return SF_C0 * float(A) ** (1.0 / 3.0) - SF_C1


def helm_r0(A) -> float:
    """Helm box radius R0 = sqrt(c^2 + 7/3 pi^2 a^2 - 5 s^2) [fm] (Lewin & Smith 1996)."""
    c = fermi_c(A)
    return math.sqrt(c * c + 7.0 / 3.0 * math.pi**2 * SF_A**2 - 5.0 * HELM_S**2)


def kn_radius(A) -> float:
    """Klein-Nystrand hard-sphere radius R_A = 1.2 A^{1/3} fm."""
    return KN_R0 * float(A) ** (1.0 / 3.0)


def form_factor(model: str, q_mev, A, radius_scale: float = 1.0):
    """Nuclear form factor F(q) for momentum transfer ``q_mev`` [MeV] and mass number A.

    ``model``: "symmetrized_fermi" (paper 000 Eq. 23-24), "helm" (Lewin & Smith 1996),
    "klein_nystrand", or "none". ``radius_scale`` multiplies the model's radius
    (c, R0 or R_A respectively). Returns an array of the shape of ``q_mev``.
    """
    _check_model(model)
    if not (np.isfinite(radius_scale) and radius_scale > 0):
        raise ValueError(f"radius_scale must be a positive number, got {radius_scale!r}")
    if not (A is not None and float(A) >= 1):
        raise ValueError(f"mass number A must be >= 1, got {A!r}")
    q_fm = np.abs(np.asarray(q_mev, dtype=float)) / HBARC_MEV_FM
    if model in ("none", "unity"):
        return np.ones_like(q_fm)
    if model == "symmetrized_fermi":
        return _sf(q_fm, radius_scale * fermi_c(A), SF_A)
    if model == "helm":
        r0 = radius_scale * helm_r0(A)
        return j1_ratio(q_fm * r0) * np.exp(-0.5 * (q_fm * HELM_S) ** 2)
    # klein_nystrand
    ra = radius_scale * kn_radius(A)
    return j1_ratio(q_fm * ra) / (1.0 + (q_fm * KN_AK) ** 2)
