"""Detector response: targets, energy scales, thresholds, bins and efficiencies.

Everything is mapped onto nuclear-recoil energy T_nr [MeV], isotope by isotope, because
the rate integrals run over T_nr:
- ``nr`` edges are used as they are;
- ``ee`` edges are inverted through Lindhard quenching (paper 000 Eq. 27) with each
  isotope's own Z and kappa, so a compound gets one T_nr threshold per isotope;
- ``PE`` edges use n_PE = (PE per keVnr) x T_nr/keV (paper 000 Eq. 29).
Efficiency curves are functions of T_nr with their discontinuities listed as
breakpoints, so the quadrature splits there and never integrates across a step.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from .materials import target_counts
from .physics.quenching import lindhard_kappa, nuclear_recoil_from_ee

#: Upper edge standing for "no upper bound" [MeV]; far above any CEvNS recoil.
OPEN_UPPER_EDGE_MEV = 1.0e3
ENERGY_SCALES = {"energy_nr": "nr", "energy_ee": "ee", "photoelectrons": "pe"}


@dataclass(frozen=True, eq=False)
class Target:
    """Isotope arrays of a detector: charges, masses, spin excesses, number of nuclei."""

    names: tuple
    Z: jnp.ndarray
    N: jnp.ndarray
    A: jnp.ndarray
    nuclear_mass: jnp.ndarray
    delta_z: jnp.ndarray
    delta_n: jnp.ndarray
    n_nuclei: jnp.ndarray

    @classmethod
    def from_material(cls, material, mass_kg: float) -> "Target":
        pairs = target_counts(material, mass_kg)
        col = lambda f: jnp.asarray(np.array([f(iso) for iso, _ in pairs], dtype=np.float64))
        return cls(
            names=tuple(iso.name for iso, _ in pairs),
            Z=col(lambda i: i.Z), N=col(lambda i: i.N), A=col(lambda i: i.A),
            nuclear_mass=col(lambda i: i.nuclear_mass_mev),
            delta_z=col(lambda i: i.delta_z), delta_n=col(lambda i: i.delta_n),
            n_nuclei=jnp.asarray(np.array([n for _, n in pairs], dtype=np.float64)),
        )

    def default_kappa(self, kappa=None):
        """Lindhard kappa per isotope: the given value, or 0.133 Z^(2/3) A^(-1/2)."""
        if kappa is None:
            return lindhard_kappa(self.Z, self.A)
        return jnp.full(self.Z.shape, float(kappa))


def to_recoil_nr(values, scale: str, Z, kappa, pe_per_kev_nr=None):
    """Map energies on ``scale`` (``nr``, ``ee`` [MeV] or ``pe`` [photoelectrons]) to T_nr [MeV]."""
    if scale == "nr":
        return values
    if scale == "ee":
        return nuclear_recoil_from_ee(values, Z, kappa)
    if scale == "pe":
        if pe_per_kev_nr is None:
            raise ValueError("a PE threshold or bin edge needs 'pe_per_keVnr' in the efficiency "
                             "or detector block (paper 000 Eq. 29 uses 1.17)")
        return values / pe_per_kev_nr * 1e-3
    raise ValueError(f"unknown energy scale {scale!r}; expected 'nr', 'ee' or 'pe'")


@dataclass(frozen=True)
class FlatEfficiency:
    """A constant detection efficiency (paper 000 Table I: 50% or 100%)."""

    value: float

    def __call__(self, recoil_nr):
        return jnp.full_like(recoil_nr, self.value)

    def breakpoints_nr(self):
        return ()


@dataclass(frozen=True)
class CoherentCsI2017Efficiency:
    """COHERENT CsI 2017 acceptance, paper 000 Eqs. (29)-(31):

    x = n_PE = pe_per_keVnr T_nr/keV,  A(x) = k1 / (1 + exp(-k2 (x - x0))) Theta(x),
    Theta = 0 (x < 5), 1/2 (5 <= x < 6), 1 (x >= 6).
    """

    k1: float = 0.6655
    k2: float = 0.4942
    x0: float = 10.8507
    pe_per_keVnr: float = 1.17

    def __call__(self, recoil_nr):
        x = self.pe_per_keVnr * recoil_nr * 1e3
        step = jnp.where(x < 5.0, 0.0, jnp.where(x < 6.0, 0.5, 1.0))
        return self.k1 / (1.0 + jnp.exp(-self.k2 * (x - self.x0))) * step

    def breakpoints_nr(self):
        return tuple(pe / self.pe_per_keVnr * 1e-3 for pe in (5.0, 6.0))


class TabulatedEfficiency:
    """Piecewise-linear efficiency through (``recoil_nr`` [MeV], ``values``), zero outside.

    The table knots are breakpoints of the recoil quadrature, so the kinks of the
    interpolant never fall inside a Gauss-Legendre panel.
    """

    def __init__(self, recoil_nr, values):
        recoil_nr = np.asarray(recoil_nr, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if recoil_nr.ndim != 1 or recoil_nr.shape != values.shape or recoil_nr.size < 2:
            raise ValueError("a tabulated efficiency needs two 1-D arrays of equal length >= 2")
        if np.any(np.diff(recoil_nr) <= 0) or recoil_nr[0] <= 0:
            raise ValueError("tabulated efficiency energies must be positive and increasing")
        if np.any((values < 0) | (values > 1)):
            raise ValueError("tabulated efficiency values must lie in [0, 1]")
        self.recoil_nr = recoil_nr
        self.values = values

    def __call__(self, recoil_nr):
        return jnp.interp(recoil_nr, jnp.asarray(self.recoil_nr), jnp.asarray(self.values),
                          left=0.0, right=0.0)

    def breakpoints_nr(self):
        return tuple(float(x) for x in self.recoil_nr)


def efficiency_from_config(block: dict):
    """Build an efficiency from its configuration block (``type`` flat, coherent_csi2017 or
    tabulated with ``energies`` (strings with a nuclear-recoil unit) and ``values``)."""
    kind = block.get("type")
    if kind == "flat":
        value = block.get("value")
        if not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
            raise ValueError(f"flat efficiency value must be in (0, 1], got {value!r}")
        return FlatEfficiency(float(value))
    if kind == "coherent_csi2017":
        keys = ("k1", "k2", "x0", "pe_per_keVnr")
        return CoherentCsI2017Efficiency(**{k: float(block[k]) for k in keys if k in block})
    if kind == "tabulated":
        from .units import parse_quantity

        energies = [parse_quantity(e, "efficiency.energies", ("energy_nr",)).value
                    for e in block.get("energies", [])]
        return TabulatedEfficiency(energies, block.get("values", []))
    raise ValueError(f"unknown efficiency type {kind!r}; "
                     "expected 'flat', 'coherent_csi2017' or 'tabulated'")


@dataclass(frozen=True, eq=False)
class Detector:
    """A target with an energy scale, bin edges on that scale and an efficiency in T_nr.

    ``edges`` are in internal units of ``scale`` (MeV, or photoelectrons for ``pe``); the
    last edge may be ``inf`` (open bin up to the kinematic end point).
    """

    target: Target
    scale: str
    edges: np.ndarray
    efficiency: object
    kappa: jnp.ndarray
    pe_per_kev_nr: float | None = None

    @property
    def n_bins(self) -> int:
        return self.edges.size - 1

    def edges_nr(self, kappa=None):
        """Bin edges in T_nr per isotope, shape (n_isotopes, n_bins + 1)."""
        kappa = self.kappa if kappa is None else kappa
        finite = np.isfinite(self.edges)
        values = jnp.asarray(np.where(finite, self.edges, 1.0))
        mapped = to_recoil_nr(values[None, :], self.scale, self.target.Z[:, None],
                              jnp.broadcast_to(kappa, self.target.Z.shape)[:, None],
                              self.pe_per_kev_nr)
        mapped = jnp.broadcast_to(mapped, (self.target.Z.size, self.edges.size))
        return jnp.where(jnp.asarray(finite)[None, :], mapped, OPEN_UPPER_EDGE_MEV)
