"""Detector response: targets, energy scales, thresholds, bins and efficiencies.

Everything is mapped onto nuclear-recoil energy T_nr [MeV], isotope by isotope, because
the rate integrals run over T_nr:
- ``nr`` edges are used as they are;
- ``ee`` edges are inverted through the detector's quenching model
  (:mod:`cevns_jax.physics.quenching`; Lindhard, paper 000 Eq. 27, by default) with each
  isotope's own Z and kappa, so a compound gets one T_nr threshold per isotope;
- ``PE`` edges use n_PE = (PE per keVnr) x T_nr/keV (paper 000 Eq. 29).
Efficiency curves are functions of T_nr with their discontinuities listed as
breakpoints, so the quadrature splits there and never integrates across a step.

Every class here is a JAX pytree: numbers and arrays (isotope arrays, bin edges, kappa,
efficiency and resolution parameters, efficiency tables) are leaves, so they can be traced
by ``jit``, ``grad`` and ``vmap``; names, the energy scale, the quenching model and array
sizes are static structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .materials import target_counts
from jax.scipy.special import ndtr

from .physics.quenching import (LINDHARD, QuenchingModel, electron_equivalent, lindhard_kappa,
                                nuclear_recoil_from_ee)

#: Upper edge standing for "no upper bound" [MeV]; far above any CEvNS recoil.
OPEN_UPPER_EDGE_MEV = 1.0e3
ENERGY_SCALES = {"energy_nr": "nr", "energy_ee": "ee", "photoelectrons": "pe"}


@partial(jax.tree_util.register_dataclass,
         data_fields=["Z", "N", "A", "nuclear_mass", "delta_z", "delta_n", "n_nuclei", "mass_kg"],
         meta_fields=["names"])
@dataclass(frozen=True, eq=False)
class Target:
    """Isotope arrays of a detector: charges, masses, spin excesses, number of nuclei, and
    the detector mass [kg] they were counted for (``n_nuclei`` is proportional to it)."""

    names: tuple
    Z: jnp.ndarray
    N: jnp.ndarray
    A: jnp.ndarray
    nuclear_mass: jnp.ndarray
    delta_z: jnp.ndarray
    delta_n: jnp.ndarray
    n_nuclei: jnp.ndarray
    mass_kg: float

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
            mass_kg=float(mass_kg),
        )

    def default_kappa(self, kappa=None):
        """Lindhard kappa per isotope: the given value, or 0.133 Z^(2/3) A^(-1/2)."""
        if kappa is None:
            return lindhard_kappa(self.Z, self.A)
        return jnp.full(self.Z.shape, float(kappa))


def to_recoil_nr(values, scale: str, Z, kappa, pe_per_kev_nr=None,
                 quenching: QuenchingModel = LINDHARD):
    """Map energies on ``scale`` (``nr``, ``ee`` [MeV] or ``pe`` [photoelectrons]) to T_nr [MeV]."""
    if scale == "nr":
        return values
    if scale == "ee":
        return nuclear_recoil_from_ee(values, Z, kappa, model=quenching)
    if scale == "pe":
        if pe_per_kev_nr is None:
            raise ValueError("a PE threshold or bin edge needs 'pe_per_keVnr' in the efficiency "
                             "or detector block (paper 000 Eq. 29 uses 1.17)")
        return values / pe_per_kev_nr * 1e-3
    raise ValueError(f"unknown energy scale {scale!r}; expected 'nr', 'ee' or 'pe'")


def from_recoil_nr(recoil_nr, scale: str, Z, kappa, pe_per_kev_nr=None,
                   quenching: QuenchingModel = LINDHARD):
    """The observable of a nuclear recoil T_nr [MeV] on ``scale`` (inverse of :func:`to_recoil_nr`)."""
    if scale == "nr":
        return recoil_nr
    if scale == "ee":
        return electron_equivalent(recoil_nr, Z, kappa, quenching)
    if scale == "pe":
        return pe_per_kev_nr * recoil_nr * 1e3
    raise ValueError(f"unknown energy scale {scale!r}; expected 'nr', 'ee' or 'pe'")


@partial(jax.tree_util.register_dataclass, data_fields=["noise", "stochastic", "relative"],
         meta_fields=["reach"])
@dataclass(frozen=True)
class GaussianResolution:
    """Gaussian smearing of the observable E: sigma(E)^2 = noise^2 + stochastic E + (relative E)^2.

    ``noise`` and ``stochastic`` are in the internal units of the detector's scale (MeV, or
    photoelectrons); a bin of observed energy [lo, hi] collects a recoil with probability
    Phi((hi - E)/sigma) - Phi((lo - E)/sigma).
    """

    noise: float = 0.0
    stochastic: float = 0.0
    relative: float = 0.0

    #: integrate true energies down to this many sigma below the lowest bin edge
    reach: float = 6.0

    def sigma(self, energy):
        return jnp.sqrt(self.noise**2 + self.stochastic * energy + (self.relative * energy) ** 2)

    def lowest_true_energy(self, edge):
        """Where the integration over true observable energies starts for a lowest edge."""
        return jnp.maximum(edge - self.reach * self.sigma(edge), 1e-3 * edge)

    def response(self, energy, lo, hi):
        """Probability that true observable ``energy`` is seen in [lo, hi] (hi may be inf)."""
        width = self.sigma(energy)
        upper = jnp.where(jnp.isinf(hi), 1.0, ndtr((jnp.where(jnp.isinf(hi), 0.0, hi) - energy)
                                                    / width))
        return upper - ndtr((lo - energy) / width)


def resolution_from_config(block, scale: str):
    """``{"type": "gaussian", "noise": "30 eVee", "stochastic": "0.1 eVee", "relative": 0.02}``."""
    if block is None:
        return None
    if block.get("type") != "gaussian":
        raise ValueError(f"unknown resolution type {block.get('type')!r}; expected 'gaussian'")
    from .units import parse_quantity

    dims = {"nr": ("energy_nr",), "ee": ("energy_ee",), "pe": ("photoelectrons",)}[scale]
    values = {}
    for key in ("noise", "stochastic"):
        if key in block:
            q = parse_quantity(block[key], f"detector.resolution.{key}", dims)
            if q.value < 0:
                raise ValueError(f"detector.resolution.{key} must be >= 0, got {block[key]!r}")
            values[key] = q.value
    relative = block.get("relative", 0.0)
    if (isinstance(relative, bool) or not isinstance(relative, (int, float))
            or not 0 <= relative < np.inf):
        raise ValueError(f"detector.resolution.relative must be a number >= 0, got {relative!r}")
    resolution = GaussianResolution(values.get("noise", 0.0), values.get("stochastic", 0.0),
                                    float(relative))
    if resolution.noise == 0 and resolution.stochastic == 0 and resolution.relative == 0:
        raise ValueError("detector.resolution: at least one of noise, stochastic, relative "
                         "must be positive")
    return resolution


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class FlatEfficiency:
    """A constant detection efficiency (paper 000 Table I: 50% or 100%)."""

    value: float

    def __call__(self, recoil_nr):
        return jnp.full_like(recoil_nr, self.value)

    def breakpoints_nr(self):
        return np.zeros(0)


@jax.tree_util.register_dataclass
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
        return np.array([5.0, 6.0]) / self.pe_per_keVnr * 1e-3


@jax.tree_util.register_pytree_node_class
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
        if not np.all((values >= 0) & (values <= 1)):
            raise ValueError("tabulated efficiency values must lie in [0, 1]")
        self.recoil_nr = recoil_nr
        self.values = values

    def tree_flatten(self):
        return (self.recoil_nr, self.values), None

    @classmethod
    def tree_unflatten(cls, _, children):
        efficiency = object.__new__(cls)
        efficiency.recoil_nr, efficiency.values = children
        return efficiency

    def __call__(self, recoil_nr):
        return jnp.interp(recoil_nr, jnp.asarray(self.recoil_nr), jnp.asarray(self.values),
                          left=0.0, right=0.0)

    def breakpoints_nr(self):
        return self.recoil_nr


def efficiency_from_config(block: dict):
    """Build an efficiency from its configuration block (``type`` flat, coherent_csi2017 or
    tabulated with ``energies`` (strings with a nuclear-recoil unit) and ``values``)."""
    kind = block.get("type")
    if kind == "flat":
        value = block.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
            raise ValueError(f"flat efficiency value must be in (0, 1], got {value!r}")
        return FlatEfficiency(float(value))
    if kind == "coherent_csi2017":
        keys = ("k1", "k2", "x0", "pe_per_keVnr")
        params = {k: block[k] for k in keys if k in block}
        for k, v in params.items():
            if (isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v)
                    or v <= 0):
                raise ValueError(f"detector.efficiency.{k} must be a finite number > 0, "
                                 f"got {v!r}")
        return CoherentCsI2017Efficiency(**{k: float(v) for k, v in params.items()})
    if kind == "tabulated":
        from .units import parse_quantity

        energies = [parse_quantity(e, "efficiency.energies", ("energy_nr",)).value
                    for e in block.get("energies", [])]
        return TabulatedEfficiency(energies, block.get("values", []))
    raise ValueError(f"unknown efficiency type {kind!r}; "
                     "expected 'flat', 'coherent_csi2017' or 'tabulated'")


@partial(jax.tree_util.register_dataclass,
         data_fields=["target", "edges", "efficiency", "kappa", "pe_per_kev_nr", "resolution"],
         meta_fields=["scale", "quenching"])
@dataclass(frozen=True, eq=False)
class Detector:
    """A target with an energy scale, bin edges on that scale and an efficiency in T_nr.

    ``edges`` are in internal units of ``scale`` (MeV, or photoelectrons for ``pe``); the
    last edge may be ``inf`` (open bin up to the kinematic end point). The threshold is the
    lowest edge ``edges[0]``, on the same scale: it is mapped to T_nr per isotope inside the
    rate integral, so derivatives with respect to it pass through the quenching inversion.
    ``quenching`` maps ``ee`` energies to nuclear recoil (``kappa`` is its Lindhard parameter
    per isotope).
    """

    target: Target
    scale: str
    edges: np.ndarray
    efficiency: object
    kappa: jnp.ndarray
    pe_per_kev_nr: float | None = None
    resolution: GaussianResolution | None = None
    quenching: QuenchingModel = LINDHARD

    @property
    def n_bins(self) -> int:
        return self.edges.size - 1

    def observable(self, recoil_nr, Z, kappa):
        """The observable (on ``scale``) of recoils T_nr of an isotope with charge Z."""
        return from_recoil_nr(recoil_nr, self.scale, Z, kappa, self.pe_per_kev_nr,
                              self.quenching)

    def integration_edges_nr(self, kappa=None):
        """Recoil edges of the integration, per isotope: the bin edges without resolution;
        with resolution, one span from ``reach`` sigma below the lowest edge upwards, split
        at every bin edge (the bin responses then come from :meth:`bin_response`)."""
        if self.resolution is None:
            return self.edges_nr(kappa)
        kappa = self.kappa if kappa is None else kappa
        start = self.resolution.lowest_true_energy(jnp.asarray(self.edges)[0])
        low = to_recoil_nr(jnp.full(self.target.Z.shape, start), self.scale, self.target.Z,
                           jnp.broadcast_to(kappa, self.target.Z.shape), self.pe_per_kev_nr,
                           self.quenching)
        return jnp.stack([low, jnp.full_like(low, OPEN_UPPER_EDGE_MEV)], axis=1)

    def bin_response(self, recoil_nr, Z, kappa):
        """Weight of each bin for recoils T_nr of shape (1, ...): shape (n_bins, ...).

        Without resolution the recoils already lie inside their bin (weight 1); with it,
        the Gaussian probability of observing them in each bin."""
        if self.resolution is None:
            return jnp.ones_like(recoil_nr)
        energy = self.observable(recoil_nr, Z, kappa)  # leading axis: the single span
        shape = (-1,) + (1,) * (energy.ndim - 1)
        lo = jnp.asarray(self.edges[:-1]).reshape(shape)
        hi = jnp.asarray(self.edges[1:]).reshape(shape)
        return self.resolution.response(energy, lo, hi)

    def edges_nr(self, kappa=None):
        """Bin edges in T_nr per isotope, shape (n_isotopes, n_bins + 1)."""
        kappa = jnp.broadcast_to(self.kappa if kappa is None else kappa, self.target.Z.shape)
        edges = self.isotope_edges_nr(self.target.Z[:, None], kappa[:, None])
        return jnp.broadcast_to(edges, (self.target.Z.size, self.edges.size))

    def isotope_edges_nr(self, Z, kappa):
        """Bin edges in T_nr for charge(s) ``Z`` and Lindhard ``kappa`` (broadcast against the
        edges' axis); an infinite last edge maps to :data:`OPEN_UPPER_EDGE_MEV`."""
        edges = jnp.asarray(self.edges)
        finite = jnp.isfinite(edges)
        values = jnp.where(finite, edges, 1.0)
        mapped = to_recoil_nr(values, self.scale, Z, kappa, self.pe_per_kev_nr, self.quenching)
        mapped = jnp.broadcast_to(mapped, jnp.broadcast_shapes(jnp.shape(mapped), values.shape))
        return jnp.where(finite, mapped, OPEN_UPPER_EDGE_MEV)
