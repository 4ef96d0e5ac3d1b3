"""CEvNS cross sections dsigma/dT [cm^2/MeV] as polynomials in 1/E_nu.

Every cross section here has the form
    dsigma/dT (E, T) = c0(T) + c1(T) / E + c2(T) / E^2,
so the neutrino-energy integral of a rate only needs the flux moments
int f(E) E^-k dE, k = 0, 1, 2 (see :mod:`cevns_jax.spectra`). Functions return the
coefficient triple; :func:`evaluate` recombines it at a given E and applies the
kinematic end point.

- SM, paper 000 Eqs. (20)-(22): G_F^2 m_A/pi [Q_V^2 (1 - m_A T/2E^2) + Q_A^2 (1 + m_A T/2E^2)] F^2,
  radiatively corrected quark couplings (PDG 2018 values quoted below Eq. 22).
- SM, paper 004 Eqs. (2)-(3): G_F^2 m_A/pi (1 - m_A T/2E^2) (g_V^p Z + g_V^n N)^2 F^2,
  g_V^p = (1 - 4 sin^2 theta_W)/2, g_V^n = -1/2.
- Magnetic moment, paper 000 Eq. (25) = paper 004 Eq. (6):
  pi alpha^2 mu^2 Z^2 / m_e^2 (1/T - 1/E) F^2, mu in Bohr magnetons.
"""

from __future__ import annotations

import jax.numpy as jnp

from .. import constants as C
from .kinematics import e_nu_min

CROSS_SECTIONS = ("paper000", "paper004")

#: pi alpha^2 / m_e^2 (hbar c)^2 for mu = 1e-10 mu_B: the EM prefactor per unit library moment [cm^2].
EM_PREFACTOR_CM2 = (
    jnp.pi * C.ALPHA_EM**2 / C.M_ELECTRON**2 * C.HBARC2_MEV2_CM2 * C.MOMENT_UNIT_MU_B**2
)
#: G_F^2 / pi (hbar c)^2 [cm^2 / MeV^2]: multiplied by m_A it gives cm^2/MeV.
WEAK_PREFACTOR = C.G_FERMI**2 / jnp.pi * C.HBARC2_MEV2_CM2


def quark_couplings(sin2_theta_w):
    """(g_u^L, g_d^L, g_u^R, g_d^R) with radiative corrections, paper 000 Eq. (22)."""
    rho, kappa = C.RHO_NC_NU_N, C.KAPPA_NC_NU_N
    gul = rho * (0.5 - 2.0 / 3.0 * kappa * sin2_theta_w) + C.LAMBDA_U_L
    gdl = rho * (-0.5 + 1.0 / 3.0 * kappa * sin2_theta_w) + C.LAMBDA_D_L
    gur = rho * (-2.0 / 3.0 * kappa * sin2_theta_w) + C.LAMBDA_U_R
    gdr = rho * (1.0 / 3.0 * kappa * sin2_theta_w) + C.LAMBDA_D_R
    return gul, gdl, gur, gdr


def weak_charges(Z, N, delta_z, delta_n, sin2_theta_w, model="paper000"):
    """(Q_V, Q_A): paper 000 Eq. (21), or (g_V^p Z + g_V^n N, 0) for paper 004 Eq. (3)."""
    if model == "paper004":
        return 0.5 * (1.0 - 4.0 * sin2_theta_w) * Z - 0.5 * N, 0.0 * Z
    if model != "paper000":
        raise ValueError(f"unknown cross section {model!r}; expected one of {CROSS_SECTIONS}")
    gul, gdl, gur, gdr = quark_couplings(sin2_theta_w)
    gu_v, gd_v, gu_a, gd_a = gul + gur, gdl + gdr, gul - gur, gdl - gdr
    q_v = (2.0 * gu_v + gd_v) * Z + (gu_v + 2.0 * gd_v) * N
    q_a = (2.0 * gu_a + gd_a) * delta_z + (gu_a + 2.0 * gd_a) * delta_n
    return q_v, q_a


def sm_coefficients(recoil, nuclear_mass, q_v, q_a, form_factor_sq):
    """(c0, c1, c2) of the SM cross section, paper 000 Eq. (20):

    c0 = G_F^2 m_A/pi (Q_V^2 + Q_A^2) F^2,  c1 = 0,  c2 = -G_F^2 m_A/pi (Q_V^2 - Q_A^2) m_A T / 2 F^2.
    """
    norm = WEAK_PREFACTOR * nuclear_mass * form_factor_sq
    c0 = norm * (q_v**2 + q_a**2)
    c2 = -norm * (q_v**2 - q_a**2) * 0.5 * nuclear_mass * recoil
    return c0, jnp.zeros_like(c0), c2


def em_coefficients(recoil, Z, form_factor_sq):
    """(c0, c1, c2) of the magnetic-moment cross section for mu = 1e-10 mu_B, paper 000 Eq. (25):

    c0 = pi alpha^2 Z^2 / (m_e^2 T) F^2,  c1 = -pi alpha^2 Z^2 / m_e^2 F^2,  c2 = 0.
    """
    norm = EM_PREFACTOR_CM2 * Z**2 * form_factor_sq
    return norm / recoil, -norm, jnp.zeros_like(norm)


def evaluate(coefficients, e_nu, recoil, nuclear_mass, kinematics="exact"):
    """c0 + c1/E + c2/E^2 where T <= T_max(E), else 0."""
    c0, c1, c2 = coefficients
    allowed = e_nu >= e_nu_min(recoil, nuclear_mass, kinematics)
    value = c0 + c1 / e_nu + c2 / e_nu**2
    return jnp.where(allowed, value, 0.0)
