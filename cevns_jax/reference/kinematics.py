"""Two-body kinematics of elastic neutrino-nucleus scattering (reference implementation).

Energies in MeV. ``kinematics`` selects

* ``"exact"``: paper 004 Eq. (13)-(14),
  E_min(T) = T/2 (1 + sqrt(1 + 2 m_A / T)),  T_max(E) = 2 E^2 / (2 E + m_A);
* ``"approx"``: the heavy-nucleus limit used in paper 000 (text below Eq. 33),
  E_min(T) = sqrt(m_A T / 2),  T_max(E) = 2 E^2 / m_A.
"""

from __future__ import annotations

import numpy as np

from ..constants import AMU_MEV, M_ELECTRON

KINEMATICS = ("exact", "approx")


def _check(kinematics: str) -> str:
    if kinematics not in KINEMATICS:
        raise ValueError(
            f"unknown kinematics {kinematics!r}; expected one of {', '.join(KINEMATICS)}"
        )
    return kinematics


def nuclear_mass(isotope) -> float:
    """Nuclear mass m_A = M_atom - Z m_e [MeV] (electron binding neglected)."""
    return float(isotope.atomic_mass_u) * AMU_MEV - isotope.Z * M_ELECTRON


def e_min(T, m_A: float, kinematics: str = "exact"):
    """Minimum neutrino energy [MeV] giving a nuclear recoil T [MeV].

    exact: paper 004 Eq. (13); approx: paper 000 (below Eq. 33), sqrt(m_A T / 2).
    """
    _check(kinematics)
    T = np.asarray(T, dtype=float)
    if kinematics == "exact":
        # T/2 + sqrt(T^2/4 + m_A T/2): identical to Eq. (13), no cancellation for T > 0.
        return 0.5 * T + np.sqrt(0.25 * T * T + 0.5 * m_A * T)
    return np.sqrt(0.5 * m_A * T)


def t_max(E, m_A: float, kinematics: str = "exact"):
    """Maximum nuclear recoil energy [MeV] for neutrino energy E [MeV].

    exact: paper 004 Eq. (14), 2E^2/(2E + m_A); approx: 2E^2/m_A (paper 000).
    """
    _check(kinematics)
    E = np.asarray(E, dtype=float)
    if kinematics == "exact":
        return 2.0 * E * E / (2.0 * E + m_A)
    return 2.0 * E * E / m_A


def momentum_transfer(T, m_A: float):
    """|q| = sqrt(2 m_A T) [MeV] (paper 000 below Eq. 22)."""
    return np.sqrt(2.0 * m_A * np.asarray(T, dtype=float))
