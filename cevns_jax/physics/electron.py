"""Neutrino-electron elastic scattering: cross sections [cm^2/MeV per electron] as polynomials
in 1/E_nu, kinematics, and atomic-binding models.

Standard Model (tree level; B. Kayser, E. Fischbach, S.P. Rosen, H. Spivack, PRD 20, 87 (1979);
P. Vogel, J. Engel, PRD 39, 3378 (1989) Eq. 2; PDG "Electroweak model" review, nu-e section):

    dsigma/dT = 2 G_F^2 m_e / pi [g_L^2 + g_R^2 (1 - T/E)^2 - g_L g_R m_e T / E^2],

    nu_e (CC + NC):   g_L = 1/2 + s_W^2,  g_R = s_W^2
    nu_mu, nu_tau:    g_L = -1/2 + s_W^2, g_R = s_W^2
    antineutrinos:    g_L <-> g_R.

Written as c0 + c1/E + c2/E^2 (the tail-moment form of :mod:`cevns_jax.physics.cross_sections`):
    c0 = K (g_L^2 + g_R^2),  c1 = -2 K g_R^2 T,  c2 = K (g_R^2 T^2 - g_L g_R m_e T),
    K = 2 G_F^2 m_e / pi.
Radiative corrections (J.N. Bahcall, M. Kamionkowski, A. Sirlin, PRD 51, 6146 (1995); a 1-2 %
change) are not applied; s_W^2 is a parameter (default: the low-energy value of paper 004).

Magnetic moment (Vogel & Engel Eq. 3), per electron, mu in units of 1e-10 mu_B:
    dsigma/dT = pi alpha^2 mu^2 / m_e^2 (1/T - 1/E),   i.e. c0 = P/T, c1 = -P, c2 = 0.

Kinematics of a free electron at rest: T_max = 2 E^2 / (m_e + 2 E),
E_min(T) = (T + sqrt(T^2 + 2 m_e T)) / 2.

Atomic binding (per atom, multiplying the per-electron cross section):
- ``"free"``: Z electrons (free-electron approximation, FEA);
- ``"stepping"``: electrons of shell n count only when T > B_n (the stepping approximation,
  e.g. J.-W. Chen et al., PLB 731, 159 (2014); Hsieh et al., PRD 100, 073001 (2019)); the
  count is piecewise constant in T, so rate integrals split their T grid at the B_n (which do
  not depend on any fitted parameter) and stay smooth in every parameter;
- ``"tabulated"``: Z times a user-supplied factor R(T) (e.g. an RRPA / ab-initio ratio to the
  FEA), piecewise linear in T, held at its end values outside the table.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import constants as C
from .cross_sections import EM_PREFACTOR_CM2, WEAK_PREFACTOR

__all__ = ["BINDING_MODELS", "FLAVOURS", "SHELLS", "BindingModel", "couplings",
           "sm_coefficients", "em_coefficients", "recoil_max", "e_nu_min", "evaluate"]

#: neutrino species understood by :func:`couplings`
FLAVOURS = ("nue", "numu", "nutau", "nuebar", "numubar", "nutaubar")
BINDING_MODELS = ("free", "stepping", "tabulated")

#: Shell binding energies [eV] and occupancies. Inner shells: X-ray Data Booklet (LBNL,
#: 3rd ed. 2009, Table 1-1, "Electron binding energies", from Bearden & Burr, Rev. Mod.
#: Phys. 39, 125 (1967) and Cardona & Ley, Topics Appl. Phys. 26 (1978)). Outer (valence)
#: levels that the table leaves blank carry the first ionisation energy (NIST Atomic Spectra
#: Database): Ge 4s4p 7.90 eV, Si 3s3p 8.15 eV, Na 3s 5.14 eV, Cs 6s 3.89 eV.
SHELLS = {
    "Xe": (("K", 34561.0, 2), ("L1", 5453.0, 2), ("L2", 5107.0, 2), ("L3", 4786.0, 4),
           ("M1", 1148.7, 2), ("M2", 1002.1, 2), ("M3", 940.6, 4), ("M4", 689.0, 4),
           ("M5", 676.4, 6), ("N1", 213.2, 2), ("N2", 146.7, 2), ("N3", 145.5, 4),
           ("N4", 69.5, 4), ("N5", 67.5, 6), ("O1", 23.3, 2), ("O2", 13.4, 2),
           ("O3", 12.1, 4)),
    "I": (("K", 33169.0, 2), ("L1", 5188.0, 2), ("L2", 4852.0, 2), ("L3", 4557.0, 4),
          ("M1", 1072.0, 2), ("M2", 931.0, 2), ("M3", 875.0, 4), ("M4", 630.8, 4),
          ("M5", 619.3, 6), ("N1", 186.0, 2), ("N2", 123.0, 2), ("N3", 123.0, 4),
          ("N4", 50.6, 4), ("N5", 48.9, 6), ("O1", 13.6, 2), ("O2", 3.3, 2), ("O3", 3.3, 3)),
    "Cs": (("K", 35985.0, 2), ("L1", 5714.0, 2), ("L2", 5359.0, 2), ("L3", 5012.0, 4),
           ("M1", 1211.0, 2), ("M2", 1071.0, 2), ("M3", 1003.0, 4), ("M4", 740.5, 4),
           ("M5", 726.6, 6), ("N1", 232.3, 2), ("N2", 172.4, 2), ("N3", 161.3, 4),
           ("N4", 79.8, 4), ("N5", 77.5, 6), ("O1", 22.7, 2), ("O2", 14.2, 2),
           ("O3", 12.1, 4), ("P1", 3.89, 1)),
    "Ge": (("K", 11103.0, 2), ("L1", 1414.6, 2), ("L2", 1248.1, 2), ("L3", 1217.0, 4),
           ("M1", 180.1, 2), ("M2", 124.9, 2), ("M3", 120.8, 4), ("M4", 29.8, 4),
           ("M5", 29.2, 6), ("N", 7.90, 4)),
    "Ar": (("K", 3205.9, 2), ("L1", 326.3, 2), ("L2", 250.6, 2), ("L3", 248.4, 4),
           ("M1", 29.3, 2), ("M2", 15.9, 2), ("M3", 15.7, 4)),
    "Si": (("K", 1839.0, 2), ("L1", 149.7, 2), ("L2", 99.8, 2), ("L3", 99.2, 4),
           ("M", 8.15, 4)),
    "Na": (("K", 1070.8, 2), ("L1", 63.5, 2), ("L2", 30.65, 2), ("L3", 30.81, 4),
           ("M1", 5.14, 1)),
}
#: atomic numbers of the tabulated elements (the occupancies of SHELLS add up to them)
ATOMIC_NUMBER = {"Xe": 54, "I": 53, "Cs": 55, "Ge": 32, "Ar": 18, "Si": 14, "Na": 11}


def couplings(flavour: str, sin2_theta_w):
    """(g_L, g_R) of nu-e scattering for ``flavour`` (Vogel & Engel Eq. 2; antineutrinos swap)."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown neutrino flavour {flavour!r}; expected one of {FLAVOURS}")
    charged = flavour.startswith("nue")
    g_l = (0.5 if charged else -0.5) + sin2_theta_w
    g_r = sin2_theta_w + 0.0 * g_l
    return (g_r, g_l) if flavour.endswith("bar") else (g_l, g_r)


def sm_coefficients(recoil, flavour: str, sin2_theta_w):
    """(c0, c1, c2) [cm^2/MeV per electron] of the SM nu-e cross section (module docstring)."""
    g_l, g_r = couplings(flavour, sin2_theta_w)
    k = 2.0 * WEAK_PREFACTOR * C.M_ELECTRON
    c0 = k * (g_l**2 + g_r**2) + 0.0 * recoil
    c1 = -2.0 * k * g_r**2 * recoil
    c2 = k * (g_r**2 * recoil**2 - g_l * g_r * C.M_ELECTRON * recoil)
    return c0, c1, c2


def em_coefficients(recoil):
    """(c0, c1, c2) of pi alpha^2 mu^2 / m_e^2 (1/T - 1/E) per electron, mu = 1e-10 mu_B."""
    c0 = EM_PREFACTOR_CM2 / recoil
    return c0, -EM_PREFACTOR_CM2 + 0.0 * c0, 0.0 * c0


def recoil_max(e_nu):
    """T_max = 2 E^2 / (m_e + 2 E) [MeV] for an electron at rest."""
    return 2.0 * e_nu**2 / (C.M_ELECTRON + 2.0 * e_nu)


def e_nu_min(recoil):
    """E_min(T) = (T + sqrt(T^2 + 2 m_e T)) / 2 [MeV], the inverse of :func:`recoil_max`."""
    return 0.5 * (recoil + jnp.sqrt(recoil**2 + 2.0 * C.M_ELECTRON * recoil))


def evaluate(coefficients, e_nu, recoil):
    """c0 + c1/E + c2/E^2 where T <= T_max(E), else 0."""
    c0, c1, c2 = coefficients
    value = c0 + c1 / e_nu + c2 / e_nu**2
    return jnp.where(e_nu >= e_nu_min(recoil), value, 0.0)


class BindingModel:
    """Effective number of electrons per atom seen at recoil T, for one element.

    ``model``: "free", "stepping" or "tabulated" (module docstring). ``correction``:
    (T [keV], factor) for "tabulated" (strictly increasing T, finite non-negative factors).
    ``edges_mev``: the binding energies (the T values where "stepping" jumps).
    """

    def __init__(self, element: str, model: str = "stepping", correction=None):
        if element not in SHELLS:
            raise KeyError(f"no shell binding energies for element {element!r}; "
                           f"tabulated: {sorted(SHELLS)}")
        if model not in BINDING_MODELS:
            raise ValueError(f"unknown binding model {model!r}; expected one of "
                             f"{BINDING_MODELS}")
        if (model == "tabulated") != (correction is not None):
            raise ValueError("a correction table (T_keV, factor) is needed for, and only for, "
                             f"the 'tabulated' binding model (got model {model!r})")
        self.element, self.model = element, model
        self.Z = ATOMIC_NUMBER[element]
        energies = np.array([s[1] for s in SHELLS[element]]) * 1e-6
        counts = np.array([s[2] for s in SHELLS[element]], dtype=float)
        order = np.argsort(energies)
        self.edges_mev = tuple(float(e) for e in energies[order])
        self._counts = jnp.asarray(counts[order])
        if correction is not None:
            t_kev, factor = (np.asarray(a, dtype=float) for a in correction)
            if (t_kev.ndim != 1 or t_kev.shape != factor.shape or t_kev.size < 2
                    or np.any(np.diff(t_kev) <= 0) or not np.all(np.isfinite(factor))
                    or np.any(factor < 0)):
                raise ValueError("correction table needs strictly increasing T_keV (>= 2 "
                                 "points) and finite non-negative factors of the same length")
            self._table = (jnp.asarray(t_kev * 1e-3), jnp.asarray(factor))

    @property
    def lowest_binding_mev(self) -> float:
        return self.edges_mev[0]

    @property
    def breakpoints_mev(self) -> tuple:
        """T values where the electron count is not smooth (for splitting quadratures)."""
        return self.edges_mev if self.model == "stepping" else ()

    def electrons(self, recoil):
        """Effective electrons per atom at recoil ``recoil`` [MeV] (any shape)."""
        recoil = jnp.asarray(recoil, dtype=jnp.float64)
        if self.model == "free":
            return jnp.full(recoil.shape, float(self.Z))
        if self.model == "stepping":
            edges = jnp.asarray(self.edges_mev)
            return jnp.sum(jnp.where(recoil[..., None] > edges, self._counts, 0.0), axis=-1)
        t, factor = self._table
        return self.Z * jnp.interp(recoil, t, factor)
