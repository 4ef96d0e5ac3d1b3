"""Nuclear form factors F(q), q in MeV, written with cancellation-free kernels.

- Symmetrized Fermi, paper 000 Eqs. (23)-(24) (Sprung & Martorell, J. Phys. A 30, 6525):
  c = 1.23 A^{1/3} - 0.60 fm, a = 0.52 fm.
- Helm (used by paper 004; Lewin & Smith, Astropart. Phys. 6, 87, Eq. 4.11):
  F = 3 j1(q R0)/(q R0) exp(-q^2 s^2 / 2), R0^2 = c^2 + 7/3 pi^2 a^2 - 5 s^2, s = 0.9 fm.
- Klein-Nystrand (Phys. Rev. C 60, 014903): F = 3 j1(q R_A)/(q R_A) / (1 + q^2 a_k^2),
  R_A = 1.2 A^{1/3} fm, a_k = 0.7 fm.

Each form factor takes a ``radius_scale`` multiplying its size parameter (c, R0, R_A), so
a nuclear-radius nuisance enters differentiably. Small arguments use Taylor series (the
direct formulas cancel catastrophically as q -> 0), so values *and* gradients are finite
and accurate at q = 0.
"""

import jax.numpy as jnp

from ..constants import HBARC_MEV_FM

FORM_FACTORS = ("symmetrized_fermi", "helm", "klein_nystrand", "unity")

#: Below this argument the Taylor branches (through x^10) are used: their truncation error
#: is < 1e-19 there, while the direct forms lose ~ eps/x^2 ~ 6e-15 to cancellation at it.
_SERIES_CUTOFF = 0.2


def _poly(x, coefficients):
    """sum_k coefficients[k] x^k by Horner's rule."""
    total = 0.0
    for c in reversed(coefficients):
        total = total * x + c
    return total


def _safe(x, small):
    """Argument for the direct branch that never reaches the singular point (double-where)."""
    return jnp.where(small, 1.0, x)


def j1_over_x(x):
    """j1(x)/x = (sin x - x cos x)/x^3, -> 1/3 at x = 0."""
    small = jnp.abs(x) < _SERIES_CUTOFF
    xs = _safe(x, small)
    direct = (jnp.sin(xs) - xs * jnp.cos(xs)) / xs**3
    x2 = x * x
    series = _poly(x2, (1 / 3, -1 / 30, 1 / 840, -1 / 45360, 1 / 3991680, -1 / 518918400))
    return jnp.where(small, series, direct)


def _sinc(x):
    """sin(x)/x."""
    small = jnp.abs(x) < _SERIES_CUTOFF
    xs = _safe(x, small)
    x2 = x * x
    series = _poly(x2, (1.0, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800))
    return jnp.where(small, series, jnp.sin(xs) / xs)


def _y_over_sinh(y):
    """y/sinh(y)."""
    small = jnp.abs(y) < _SERIES_CUTOFF
    ys = _safe(y, small)
    y2 = y * y
    series = _poly(y2, (1.0, -1 / 6, 7 / 360, -31 / 15120, 127 / 604800, -73 / 3421440))
    return jnp.where(small, series, ys / jnp.sinh(ys))


def _coth_excess(y):
    """(y coth y - 1)/y^2, -> 1/3 at y = 0."""
    small = jnp.abs(y) < _SERIES_CUTOFF
    ys = _safe(y, small)
    y2 = y * y
    series = _poly(y2, (1 / 3, -1 / 45, 2 / 945, -1 / 4725, 2 / 93555, -1382 / 638512875))
    return jnp.where(small, series, (ys / jnp.tanh(ys) - 1.0) / ys**2)


def fermi_parameters(mass_number, radius_scale=1.0):
    """(c, a) in fm of paper 000 Eq. (24), c scaled by ``radius_scale``."""
    return radius_scale * (1.23 * mass_number ** (1.0 / 3.0) - 0.60), 0.52


def symmetrized_fermi(q, mass_number, radius_scale=1.0):
    """Paper 000 Eq. (23) with x = qc, y = pi q a, rearranged without cancellation:

    F = 3 (y/sinh y) [j1(x)/x + sinc(x) r^2 (y coth y - 1)/y^2] / (1 + r^2),  r = pi a / c,
    which equals 3/(x (x^2 + y^2)) (y/sinh y) [y sin(x)/tanh(y) - x cos(x)].
    """
    c, a = fermi_parameters(mass_number, radius_scale)
    q_fm = q / HBARC_MEV_FM
    x, y = q_fm * c, jnp.pi * q_fm * a
    r2 = (jnp.pi * a / c) ** 2
    return 3.0 * _y_over_sinh(y) * (j1_over_x(x) + _sinc(x) * r2 * _coth_excess(y)) / (1.0 + r2)


def helm(q, mass_number, radius_scale=1.0, skin=0.9):
    """Helm form factor (Lewin & Smith 1996, Eq. 4.11); ``skin`` s in fm."""
    c, a = fermi_parameters(mass_number)
    r0 = radius_scale * jnp.sqrt(c**2 + 7.0 / 3.0 * jnp.pi**2 * a**2 - 5.0 * skin**2)
    q_fm = q / HBARC_MEV_FM
    return 3.0 * j1_over_x(q_fm * r0) * jnp.exp(-0.5 * (q_fm * skin) ** 2)


def klein_nystrand(q, mass_number, radius_scale=1.0, range_fm=0.7):
    """Klein-Nystrand form factor: hard sphere R_A = 1.2 A^{1/3} fm folded with a Yukawa."""
    r_a = radius_scale * 1.2 * mass_number ** (1.0 / 3.0)
    q_fm = q / HBARC_MEV_FM
    return 3.0 * j1_over_x(q_fm * r_a) / (1.0 + (q_fm * range_fm) ** 2)


def form_factor(model: str, q, mass_number, radius_scale=1.0):
    """Dispatch on ``model`` (one of :data:`FORM_FACTORS`)."""
    if model == "symmetrized_fermi":
        return symmetrized_fermi(q, mass_number, radius_scale)
    if model == "helm":
        return helm(q, mass_number, radius_scale)
    if model == "klein_nystrand":
        return klein_nystrand(q, mass_number, radius_scale)
    if model == "unity":
        return jnp.ones_like(q)
    raise ValueError(f"unknown form factor {model!r}; expected one of {FORM_FACTORS}")
