"""Neutrino energy spectra and their tail moments.

Every cross section is c0 + c1/E + c2/E^2 (see :mod:`cevns_jax.physics.cross_sections`),
so for a recoil T the neutrino-energy integral of paper 000 Eq. (33) is
    int_{E_min(T)}^{E_max} f(E) dsigma/dT dE = sum_k c_k(T) M_k(E_min(T)),
    M_k(e) = int_{max(e, E_lo)}^{E_hi} E^-k f(E) dE,   k = 0, 1, 2.
Three kinds of spectrum provide M_k:

- :class:`LineSpectrum`: f = delta(E - E0): M_k = E0^-k [e <= E0], exact (SNS prompt nu_mu,
  solar 7Be and pep lines).
- :class:`AnalyticSpectrum`: a smooth callable f; M_k by an n-point Gauss-Legendre rule on
  [max(e, E_lo), E_hi] (SNS Michel spectra, reactor exp-polynomials).
- :class:`TabulatedSpectrum`: piecewise-linear interpolation of a table; M_k exact for
  that interpolant from closed-form segment integrals (solar tables, reactor low-energy
  tables), so kinks at the knots cost no accuracy.

A beam is a tuple of parts whose moments add. ``e_max`` of a part bounds the recoil range
that part can reach, so rate integrals stop exactly at its kinematic end point; ``knots``
lists the energies where a part's moments are only piecewise smooth (table knots), so the
recoil quadrature can split at T_max(knot).

The three classes are JAX pytrees: line energies and table arrays are leaves (traced under
``jit``/``grad``/``vmap``); an analytic density and its support [e_lo, e_hi] are static
structure, so two spectra share compiled code when their densities compare equal (a
module-level function or a frozen dataclass, never a fresh closure).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .quadrature import linear_nodes


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class LineSpectrum:
    """A monochromatic line of unit intensity at ``energy`` [MeV]."""

    energy: float

    @property
    def e_max(self) -> float:
        return self.energy

    #: energies where the tail moments are not smooth (none inside the support of a line)
    knots = ()

    def tail_moments(self, e_min, n_energy: int):
        above = e_min <= self.energy
        return tuple(jnp.where(above, self.energy ** (-k), 0.0) for k in range(3))


@partial(jax.tree_util.register_dataclass, data_fields=[],
         meta_fields=["density", "e_lo", "e_hi"])
@dataclass(frozen=True)
class AnalyticSpectrum:
    """A smooth spectrum ``density(E)`` [per MeV] on [e_lo, e_hi] [MeV] (all three static)."""

    density: Callable
    e_lo: float
    e_hi: float

    @property
    def e_max(self) -> float:
        return self.e_hi

    @property
    def knots(self) -> tuple:
        """The lower end of the support: below it the moments stop changing (a kink)."""
        return (self.e_lo,) if self.e_lo > 0 else ()

    def tail_moments(self, e_min, n_energy: int):
        lo = jnp.clip(e_min, self.e_lo, self.e_hi)
        energy, weight = linear_nodes(lo, self.e_hi, n_energy)
        weighted = weight * self.density(energy)
        return tuple(jnp.sum(weighted * energy ** (-k), axis=-1) for k in range(3))


def _segment_moments(e_lo, e_hi, intercept, slope):
    """int_{e_lo}^{e_hi} E^-k (intercept + slope E) dE for k = 0, 1, 2 (closed forms)."""
    width = e_hi - e_lo
    log_ratio = jnp.log(e_hi / e_lo)
    m0 = intercept * width + 0.5 * slope * width * (e_hi + e_lo)
    m1 = intercept * log_ratio + slope * width
    m2 = intercept * width / (e_hi * e_lo) + slope * log_ratio
    return m0, m1, m2


@jax.tree_util.register_pytree_node_class
class TabulatedSpectrum:
    """Piecewise-linear spectrum through (``energies``, ``values``); zero outside the table.

    The tail moments of whole segments are accumulated once at construction; a query
    adds the partial segment containing e_min in closed form. The table and the
    accumulated moments are the pytree leaves.
    """

    def __init__(self, energies, values):
        energies = np.asarray(energies, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if energies.ndim != 1 or energies.shape != values.shape or energies.size < 2:
            raise ValueError("a tabulated spectrum needs two 1-D arrays of equal length >= 2")
        if np.any(np.diff(energies) <= 0):
            raise ValueError("tabulated spectrum energies must be strictly increasing")
        if np.any(values < 0) or not np.all(np.isfinite(values)):
            raise ValueError("tabulated spectrum values must be finite and non-negative")
        # The first knot may sit at E = 0 (pp, 13N, ...): E^-k moments of the first
        # segment are then only ever evaluated from e_min > 0; keep the table finite.
        lower = np.maximum(energies[:-1], 1e-12)
        slope = np.diff(values) / np.diff(energies)
        intercept = values[:-1] - slope * energies[:-1]
        whole = np.stack(_segment_moments(lower, energies[1:], intercept, slope))
        tail = np.concatenate([np.cumsum(whole[:, ::-1], axis=1)[:, ::-1],
                               np.zeros((3, 1))], axis=1)
        # NumPy leaves: inside a function that closes over the spectrum they stay concrete,
        # so the knots can still place quadrature breakpoints there.
        for array in (energies, values, slope, intercept, tail):
            array.setflags(write=False)
        self.energies, self.values = energies, values
        self._slope, self._intercept, self._tail = slope, intercept, tail

    def tree_flatten(self):
        return (self.energies, self.values, self._slope, self._intercept, self._tail), None

    @classmethod
    def tree_unflatten(cls, _, children):
        spectrum = object.__new__(cls)
        (spectrum.energies, spectrum.values, spectrum._slope, spectrum._intercept,
         spectrum._tail) = children
        return spectrum

    @property
    def e_max(self):
        return self.energies[-1]

    @property
    def knots(self):
        """Interior table energies: the tail moments are piecewise smooth between them."""
        return self.energies[1:-1]

    def density(self, energy):
        return jnp.interp(energy, self.energies, self.values, left=0.0, right=0.0)

    def tail_moments(self, e_min, n_energy: int):
        energies = jnp.asarray(self.energies)
        e = jnp.clip(e_min, energies[0], energies[-1])
        last = energies.size - 2
        seg = jnp.clip(jnp.searchsorted(energies, e, side="right") - 1, 0, last)
        upper = energies[seg + 1]
        piece = _segment_moments(jnp.maximum(e, 1e-12), upper, jnp.asarray(self._intercept)[seg],
                                 jnp.asarray(self._slope)[seg])
        tail = jnp.asarray(self._tail)
        return tuple(piece[k] + tail[k, seg + 1] for k in range(3))


def integrate_density(spectrum, n_energy: int = 64) -> float:
    """Total intensity int f dE of a spectrum part (its zeroth tail moment from E = 0)."""
    return spectrum.tail_moments(jnp.asarray(1e-12), n_energy)[0]
