"""Lindhard quenching and the nuclear-recoil <-> electron-equivalent maps.

Paper 000 Eq. (27) / paper 004 Eq. (15): Q(T) = k g(eps) / (1 + k g(eps)),
g = 3 eps^0.15 + 0.7 eps^0.6 + eps, eps = 11.5 T[keV] Z^(-7/3),
k = 0.133 Z^(2/3) A^(-1/2) by default (Lindhard) or a given value (004 uses 0.162 for Ge).
T_ee = Q(T_nr) T_nr (004 Eq. 16); dR/dT_ee = dR/dT_nr / (Q + T dQ/dT) (004 Eq. 17).
Energies in MeV.
"""

import jax
import jax.numpy as jnp


def lindhard_kappa(Z, A):
    """Default Lindhard k = 0.133 Z^(2/3) A^(-1/2) (paper 000 below Eq. 27)."""
    return 0.133 * Z ** (2.0 / 3.0) * A ** (-0.5)


def lindhard(recoil_nr, Z, kappa):
    """Quenching factor Q(T_nr); T_nr in MeV, must be > 0."""
    eps = 11.5 * (recoil_nr * 1e3) * Z ** (-7.0 / 3.0)
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    return kappa * g / (1.0 + kappa * g)


def electron_equivalent(recoil_nr, Z, kappa):
    """T_ee = Q(T_nr) T_nr (paper 004 Eq. 16)."""
    return lindhard(recoil_nr, Z, kappa) * recoil_nr


def ee_jacobian(recoil_nr, Z, kappa):
    """dT_ee/dT_nr = Q + T dQ/dT (paper 004 Eq. 17), by forward-mode differentiation."""
    _, slope = jax.jvp(lambda t: electron_equivalent(t, Z, kappa), (recoil_nr,),
                       (jnp.ones_like(recoil_nr),))
    return slope


def nuclear_recoil_from_ee(recoil_ee, Z, kappa, iterations=60):
    """Invert T_ee = Q(T_nr) T_nr for T_nr.

    T_ee(T_nr) is strictly increasing, so bisection in log T_nr on [T_ee, T_ee / Q_min]
    converges; a last Newton step on the stopped-gradient root carries exact first
    derivatives with respect to T_ee, Z and kappa (implicit-function theorem).
    """
    shape = jnp.broadcast_shapes(jnp.shape(recoil_ee), jnp.shape(Z), jnp.shape(kappa))
    lo = jnp.broadcast_to(jnp.log(recoil_ee), shape)
    hi = lo + jnp.log(1e4)

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        too_small = electron_equivalent(jnp.exp(mid), Z, kappa) < recoil_ee
        return jnp.where(too_small, mid, lo), jnp.where(too_small, hi, mid)

    lo, hi = jax.lax.fori_loop(0, iterations, bisect, (lo, hi))
    root = jax.lax.stop_gradient(jnp.exp(0.5 * (lo + hi)))
    residual = electron_equivalent(root, Z, kappa) - recoil_ee
    return root - residual / jax.lax.stop_gradient(ee_jacobian(root, Z, kappa))
