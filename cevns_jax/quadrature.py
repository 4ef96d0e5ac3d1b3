"""Gauss-Legendre rules and the interval maps used by the rate integrals."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jax.numpy as jnp
import numpy as np


@lru_cache(maxsize=None)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    if n < 1:
        raise ValueError(f"number of Gauss-Legendre nodes must be >= 1, got {n}")
    nodes, weights = np.polynomial.legendre.leggauss(n)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


def gauss_legendre(n: int):
    """Nodes and weights of the n-point Gauss-Legendre rule on [-1, 1] (float64)."""
    nodes, weights = _legendre(n)
    return jnp.asarray(nodes), jnp.asarray(weights)


def linear_nodes(lo, hi, n: int):
    """Nodes x and weights w on [lo, hi] so that sum(w f(x)) ~ int_lo^hi f dx (lo, hi broadcast)."""
    t, w = gauss_legendre(n)
    half = 0.5 * (jnp.asarray(hi) - jnp.asarray(lo))[..., None]
    mid = 0.5 * (jnp.asarray(hi) + jnp.asarray(lo))[..., None]
    return mid + half * t, half * w


def log_nodes(lo, hi, n: int):
    """Nodes in log x on [lo, hi] (lo > 0): x = exp(u), dx = x du. Weights include the Jacobian x.

    A zero-length interval (lo == hi) gives zero weights, so empty ranges integrate to 0.
    """
    u, w = linear_nodes(jnp.log(lo), jnp.log(hi), n)
    x = jnp.exp(u)
    return x, w * x


@dataclass(frozen=True)
class QuadratureConfig:
    """Node counts: ``n_recoil`` per recoil sub-interval (log T), ``n_energy`` per analytic
    neutrino spectrum (E on [E_min(T), E_max]), ``n_piece`` per recoil piece between two
    knots of a tabulated spectrum (the integrand is smooth on each piece, so few suffice)."""

    n_recoil: int = 48
    n_energy: int = 48
    n_piece: int = 12

    def doubled(self) -> "QuadratureConfig":
        return QuadratureConfig(2 * self.n_recoil, 2 * self.n_energy, 2 * self.n_piece)
