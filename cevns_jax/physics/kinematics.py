"""Elastic-scattering kinematics of a neutrino on a nucleus of mass m_A (all in MeV).

Exact forms: paper 004 Eqs. (13)-(14). The approximations used in paper 000 (below
Eq. 33), E_min = sqrt(m_A T / 2) and T_max = 2 E^2 / m_A, drop terms of order T/m_A and
are available as ``kinematics="approx"``.
"""

import jax.numpy as jnp

KINEMATICS = ("exact", "approx")


def check_kinematics(kinematics: str) -> str:
    if kinematics not in KINEMATICS:
        raise ValueError(f"unknown kinematics {kinematics!r}; expected one of {KINEMATICS}")
    return kinematics


def e_nu_min(recoil, nuclear_mass, kinematics="exact"):
    """Smallest neutrino energy giving recoil T: T/2 (1 + sqrt(1 + 2 m_A / T)) (004 Eq. 13).

    Written as T/2 + sqrt(T^2/4 + m_A T / 2), finite with a finite gradient for T > 0.
    """
    if check_kinematics(kinematics) == "approx":
        return jnp.sqrt(0.5 * nuclear_mass * recoil)
    return 0.5 * recoil + jnp.sqrt(0.25 * recoil**2 + 0.5 * nuclear_mass * recoil)


def recoil_max(e_nu, nuclear_mass, kinematics="exact"):
    """Largest recoil energy for neutrino energy E: 2 E^2 / (2 E + m_A) (004 Eq. 14)."""
    if check_kinematics(kinematics) == "approx":
        return 2.0 * e_nu**2 / nuclear_mass
    return 2.0 * e_nu**2 / (2.0 * e_nu + nuclear_mass)


def momentum_transfer(recoil, nuclear_mass):
    """|q| = sqrt(2 m_A T) [MeV] (paper 000, above Eq. 23)."""
    return jnp.sqrt(2.0 * nuclear_mass * recoil)
