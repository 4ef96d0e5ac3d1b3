"""Quenching: the nuclear-recoil -> electron-equivalent map T_ee = Q(T_nr) T_nr.

Models (:class:`QuenchingModel`, one per name of ``detector.quenching.model``):

- ``"lindhard"``: paper 000 Eq. (27) / paper 004 Eq. (15):
  Q = k g(eps) / (1 + k g(eps)), g = 3 eps^0.15 + 0.7 eps^0.6 + eps, eps = 11.5 T[keV] Z^(-7/3),
  k = 0.133 Z^(2/3) A^(-1/2) by default (Lindhard) or a given value (004 uses 0.162 for Ge).
- ``"modified_lindhard"``: Lindhard times the adiabatic correction of Scholz et al.,
  PRD 94, 122003 (2016), Eq. (5): Q = Q_L(k) (1 - exp(-T/xi)); their Ge fit (Table I) is
  k = 0.1789, xi = 0.16 keVnr, the defaults here.
- ``"fef"`` / ``"ybe"``: the Ge curves of Collar, Kavner, Lewis, PRD 103, 122003 (2021)
  (iron-filtered neutrons / 88Y-Be photoneutrons), tabulated on a 10-eV grid in T_nr from 0 to
  4.5 keVnr. Q is interpolated piecewise-linearly in T_nr (the Fef curve is itself linear
  below 1.13 keVnr, so the interpolation is exact there), held at its last value above the
  table. The table mixture Q_w = w Q_Fef + (1 - w) Q_YBe (``fef_weight`` w in [0, 1]) is a
  continuous parameter between the two calibrations (w = 1: Fef, w = 0: YBe); both are
  measurements of the same response, so intermediate w spans the calibration spread.
  Note: T_ee(T_nr) of the Fef table is not monotonic between 1.13 and 1.35 keVnr (T_ee falls
  from 0.2475 to 0.2403 keVee): there the inverse map is not unique, and dT_ee/dT_nr
  vanishes at 1.13 keVnr, so dR/dT_ee has an integrable spike at 0.2475 keVee. Binned rates
  with energy resolution integrate over T_nr with the forward map and are unaffected.

T_ee = Q T (004 Eq. 16); dR/dT_ee = dR/dT_nr / (Q + T dQ/dT) (004 Eq. 17). Energies in MeV.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

QUENCHING_MODELS = ("lindhard", "modified_lindhard", "fef", "ybe")
#: Scholz et al. (2016) Table I: Lindhard k and adiabatic scale xi [MeV] fitted to Ge.
SCHOLZ2016_KAPPA = 0.1789
SCHOLZ2016_XI_MEV = 0.16e-3


def lindhard_kappa(Z, A):
    """Default Lindhard k = 0.133 Z^(2/3) A^(-1/2) (paper 000 below Eq. 27)."""
    return 0.133 * Z ** (2.0 / 3.0) * A ** (-0.5)


def lindhard(recoil_nr, Z, kappa):
    """Quenching factor Q(T_nr); T_nr in MeV, must be > 0."""
    eps = 11.5 * (recoil_nr * 1e3) * Z ** (-7.0 / 3.0)
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    return kappa * g / (1.0 + kappa * g)


def adiabatic_lindhard(recoil_nr, Z, kappa, xi):
    """Q_L(T) (1 - exp(-T/xi)), Scholz et al. PRD 94, 122003 (2016) Eq. (5); T, xi in MeV."""
    return lindhard(recoil_nr, Z, kappa) * -jnp.expm1(-recoil_nr / xi)


def tabulated(recoil_nr, energies, values):
    """Piecewise-linear Q through (``energies`` [MeV], ``values``), constant beyond the ends."""
    return jnp.interp(recoil_nr, jnp.asarray(energies), jnp.asarray(values))


@dataclass(frozen=True)
class QuenchingModel:
    """A quenching model: its ``name`` (one of :data:`QUENCHING_MODELS`) and static inputs.

    ``xi``: adiabatic scale [MeV] of ``modified_lindhard``. ``energies`` [MeV], ``fef``,
    ``ybe``: the Collar et al. (2021) table (tuples, so the model is hashable) and
    ``fef_weight`` the mixture weight of the two curves. The Lindhard ``kappa`` is not stored:
    it is a differentiable parameter of the rates, passed per isotope.
    """

    name: str = "lindhard"
    xi: float = SCHOLZ2016_XI_MEV
    energies: tuple = ()
    fef: tuple = ()
    ybe: tuple = ()
    fef_weight: float = 1.0

    def __post_init__(self):
        if self.name not in QUENCHING_MODELS:
            raise ValueError(f"unknown quenching model {self.name!r}; expected one of "
                             f"{QUENCHING_MODELS}")
        if self.name == "modified_lindhard" and not self.xi > 0:
            raise ValueError(f"modified_lindhard: xi must be positive, got {self.xi!r}")
        if self.name in ("fef", "ybe"):
            if not (len(self.energies) >= 2 and len(self.energies) == len(self.fef)
                    == len(self.ybe)):
                raise ValueError(f"{self.name}: the table needs >= 2 energies with one Fef "
                                 "and one YBe value each")
            if not 0.0 <= self.fef_weight <= 1.0:
                raise ValueError(f"fef_weight must lie in [0, 1], got {self.fef_weight!r}")

    @property
    def table_values(self):
        """Q of the tabulated mixture at the table energies."""
        w = self.fef_weight
        return tuple(w * f + (1.0 - w) * y for f, y in zip(self.fef, self.ybe))

    def factor(self, recoil_nr, Z, kappa):
        """Q(T_nr) for charge Z and Lindhard kappa (ignored by the tabulated models)."""
        if self.name == "lindhard":
            return lindhard(recoil_nr, Z, kappa)
        if self.name == "modified_lindhard":
            return adiabatic_lindhard(recoil_nr, Z, kappa, self.xi)
        return tabulated(recoil_nr, self.energies, self.table_values) + 0.0 * Z


LINDHARD = QuenchingModel("lindhard")


def collar2021(energies_mev, fef, ybe, fef_weight: float) -> QuenchingModel:
    """The tabulated Ge model with mixture weight ``fef_weight`` (1: "fef", 0: "ybe")."""
    name = "fef" if fef_weight >= 0.5 else "ybe"
    return QuenchingModel(name, energies=tuple(map(float, energies_mev)),
                          fef=tuple(map(float, fef)), ybe=tuple(map(float, ybe)),
                          fef_weight=float(fef_weight))


def quenching_factor(recoil_nr, Z, kappa, model: QuenchingModel = LINDHARD):
    """Q(T_nr) of ``model`` (default: Lindhard)."""
    return model.factor(recoil_nr, Z, kappa)


def electron_equivalent(recoil_nr, Z, kappa, model: QuenchingModel = LINDHARD):
    """T_ee = Q(T_nr) T_nr (paper 004 Eq. 16)."""
    return model.factor(recoil_nr, Z, kappa) * recoil_nr


def ee_jacobian(recoil_nr, Z, kappa, model: QuenchingModel = LINDHARD):
    """dT_ee/dT_nr = Q + T dQ/dT (paper 004 Eq. 17), by forward-mode differentiation."""
    _, slope = jax.jvp(lambda t: electron_equivalent(t, Z, kappa, model), (recoil_nr,),
                       (jnp.ones_like(recoil_nr),))
    return slope


#: Smallest |dT_ee/dT_nr| used in the implicit-function step (guards turning points).
_MIN_SLOPE = 1e-6


def nuclear_recoil_from_ee(recoil_ee, Z, kappa, iterations=60,
                           model: QuenchingModel = LINDHARD):
    """Invert T_ee = Q(T_nr) T_nr for T_nr.

    Bisection in log T_nr on [T_ee, 1e4 T_ee] (Q >= 1e-4 for every model here) finds the
    crossing (the lowest one is not guaranteed where T_ee(T_nr) is not monotonic: the Fef
    table, see the module docstring); a last Newton step on the stopped-gradient root carries
    exact first derivatives with respect to T_ee, Z and kappa (implicit-function theorem),
    with the slope kept away from zero so gradients stay finite at turning points.
    """
    shape = jnp.broadcast_shapes(jnp.shape(recoil_ee), jnp.shape(Z), jnp.shape(kappa))
    lo = jnp.broadcast_to(jnp.log(recoil_ee), shape)
    hi = lo + jnp.log(1e4)

    def bisect(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        too_small = electron_equivalent(jnp.exp(mid), Z, kappa, model) < recoil_ee
        return jnp.where(too_small, mid, lo), jnp.where(too_small, hi, mid)

    lo, hi = jax.lax.fori_loop(0, iterations, bisect, (lo, hi))
    root = jax.lax.stop_gradient(jnp.exp(0.5 * (lo + hi)))
    residual = electron_equivalent(root, Z, kappa, model) - recoil_ee
    slope = jax.lax.stop_gradient(ee_jacobian(root, Z, kappa, model))
    slope = jnp.where(jnp.abs(slope) > _MIN_SLOPE, slope, _MIN_SLOPE)
    return root - residual / slope
