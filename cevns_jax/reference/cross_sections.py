"""Differential cross sections dsigma/dT [cm^2/MeV] (reference implementation).

E (neutrino energy) and T (nuclear recoil) in MeV; natural units are converted to cm^2
with ``HBARC2_MEV2_CM2``. Both functions broadcast E against T and are zero where
T > T_max(E) (equivalently E < E_min(T)) for the kinematics chosen in ``physics``.

``physics`` is the ``physics`` block of a configuration:

* ``cross_section``: "paper000" (default; paper 000 Eq. 20-22, vector + axial with the
  radiatively corrected quark couplings) or "paper004" (paper 004 Eq. 2-3, tree level,
  vector only);
* ``sin2_theta_w``: weak mixing angle (default 0.23120 for paper000, 0.23863 for paper004);
* ``form_factor``: see :mod:`.form_factors` (default "symmetrized_fermi");
* ``kinematics``: "exact" (default) or "approx" (see :mod:`.kinematics`);
* ``radius_scale``: optional multiplier of the form-factor radius (default 1).
"""

from __future__ import annotations

import math

import numpy as np

from .. import constants as C
from .form_factors import form_factor
from .kinematics import momentum_transfer, nuclear_mass, t_max

CROSS_SECTIONS = ("paper000", "paper004")


def _get(physics, key, default):
    if physics is None:
        return default
    value = physics.get(key, default)
    return default if value is None else value


def physics_options(physics) -> dict:
    """Resolved physics options with their defaults (validated).

    The result carries ``"_resolved": True`` and is returned unchanged when passed again.
    """
    if isinstance(physics, dict) and physics.get("_resolved") is True:
        return physics
    xs = _get(physics, "cross_section", "paper000")
    if xs not in CROSS_SECTIONS:
        raise ValueError(
            f"unknown cross_section {xs!r}; expected one of {', '.join(CROSS_SECTIONS)}"
        )
    default_s2 = C.SIN2_THETA_W_PAPER000 if xs == "paper000" else C.SIN2_THETA_W_PAPER004
    s2 = _get(physics, "sin2_theta_w", default_s2)
    if isinstance(s2, bool) or not isinstance(s2, (int, float)) or not 0.0 < s2 < 1.0:
        raise ValueError(f"sin2_theta_w must be a number in (0, 1), got {s2!r}")
    kin = _get(physics, "kinematics", "exact")
    if kin not in ("exact", "approx"):
        raise ValueError(f"unknown kinematics {kin!r}; expected one of exact, approx")
    ff = _get(physics, "form_factor", "symmetrized_fermi")
    form_factor(ff, 0.0, 1)  # validates the name
    rs = float(_get(physics, "radius_scale", 1.0))
    if not (math.isfinite(rs) and rs > 0):
        raise ValueError(f"radius_scale must be positive, got {rs!r}")
    return {"cross_section": xs, "sin2_theta_w": float(s2), "kinematics": kin,
            "form_factor": ff, "radius_scale": rs, "_resolved": True}


def quark_couplings(sin2_theta_w: float) -> dict:
    """Radiatively corrected NC quark couplings g_u^L, g_d^L, g_u^R, g_d^R (000 Eq. 22)."""
    rho, kap, s2 = C.RHO_NC_NU_N, C.KAPPA_NC_NU_N, sin2_theta_w
    return {
        "uL": rho * (0.5 - 2.0 / 3.0 * kap * s2) + C.LAMBDA_U_L,
        "dL": rho * (-0.5 + 1.0 / 3.0 * kap * s2) + C.LAMBDA_D_L,
        "uR": rho * (-2.0 / 3.0 * kap * s2) + C.LAMBDA_U_R,
        "dR": rho * (1.0 / 3.0 * kap * s2) + C.LAMBDA_D_R,
    }


def weak_charges(isotope, physics=None) -> tuple[float, float]:
    """(Q_V, Q_A) of paper 000 Eq. (21) for "paper000"; for "paper004" Q_V is
    g_V^p Z + g_V^n N (004 Eq. 2-3) and Q_A = 0."""
    opts = physics_options(physics)
    Z, N = isotope.Z, isotope.A - isotope.Z
    if opts["cross_section"] == "paper004":
        gp = 0.5 * (1.0 - 4.0 * opts["sin2_theta_w"])
        return gp * Z - 0.5 * N, 0.0
    g = quark_couplings(opts["sin2_theta_w"])
    vu, vd = g["uL"] + g["uR"], g["dL"] + g["dR"]
    au, ad = g["uL"] - g["uR"], g["dL"] - g["dR"]
    qv = (2.0 * vu + vd) * Z + (vu + 2.0 * vd) * N
    qa = (2.0 * au + ad) * isotope.delta_z + (au + 2.0 * ad) * isotope.delta_n
    return qv, qa


def form_factor_squared(T, isotope, physics=None):
    """F^2(q) at q = sqrt(2 m_A T) for the model and radius scale in ``physics``."""
    opts = physics_options(physics)
    q = momentum_transfer(T, nuclear_mass(isotope))
    return form_factor(opts["form_factor"], q, isotope.A, opts["radius_scale"]) ** 2


def sm_coefficients(T, isotope, physics=None):
    """(a, c) with dsigma_SM/dT = F^2 (a + c / E^2) [cm^2/MeV] below the end point.

    paper000: a = K (Q_V^2 + Q_A^2), c = -K (Q_V^2 - Q_A^2) m_A T / 2, K = G_F^2 m_A / pi;
    paper004: a = K Q_V^2, c = -K Q_V^2 m_A T / 2.
    """
    m = nuclear_mass(isotope)
    qv, qa = weak_charges(isotope, physics)
    K = C.G_FERMI**2 * m / math.pi * C.HBARC2_MEV2_CM2
    T = np.asarray(T, dtype=float)
    return K * (qv**2 + qa**2) + 0.0 * T, -K * (qv**2 - qa**2) * 0.5 * m * T


def em_prefactor(isotope, mu: float = 1.0) -> float:
    """pi alpha^2 mu^2 Z^2 / m_e^2 [cm^2] with mu in units of 1e-10 mu_B (000 Eq. 25)."""
    mu_bohr = float(mu) * C.MOMENT_UNIT_MU_B
    return (math.pi * C.ALPHA_EM**2 * mu_bohr**2 * isotope.Z**2 / C.M_ELECTRON**2
            * C.HBARC2_MEV2_CM2)


def _allowed(E, T, isotope, physics):
    opts = physics_options(physics)
    E = np.asarray(E, dtype=float)
    T = np.asarray(T, dtype=float)
    tm = t_max(E, nuclear_mass(isotope), opts["kinematics"])
    return (T <= tm) & (T > 0.0) & (E > 0.0)


def dsigma_sm(E, T, isotope, physics=None):
    """SM CEvNS cross section dsigma/dT [cm^2/MeV].

    paper000 (000 Eq. 20): G_F^2 m_A / pi [Q_V^2 (1 - m_A T / 2E^2)
    + Q_A^2 (1 + m_A T / 2E^2)] F^2(q); paper004 (004 Eq. 2): G_F^2 m_A / pi
    (1 - m_A T / 2E^2) [g_V^p Z + g_V^n N]^2 F^2. Zero for T > T_max(E).
    """
    E = np.asarray(E, dtype=float)
    T = np.asarray(T, dtype=float)
    m = nuclear_mass(isotope)
    qv, qa = weak_charges(isotope, physics)
    K = C.G_FERMI**2 * m / math.pi * C.HBARC2_MEV2_CM2
    ok = _allowed(E, T, isotope, physics)
    Es = np.where(ok, E, 1.0)
    r = m * T / (2.0 * Es * Es)
    f2 = form_factor_squared(np.where(T > 0.0, T, 0.0), isotope, physics)  # F^2 on T's shape
    val = K * (qv**2 * (1.0 - r) + qa**2 * (1.0 + r)) * f2
    return np.where(ok, val, 0.0)


def dsigma_em(E, T, isotope, mu: float = 1.0, physics=None):
    """Magnetic-moment cross section dsigma/dT [cm^2/MeV] (000 Eq. 25, 004 Eq. 6).

    pi alpha^2 mu^2 Z^2 / m_e^2 (1/T - 1/E) F^2(q), mu in units of 1e-10 mu_B
    (mu_B^2 -> 1e-20 mu^2). Zero for T > T_max(E).
    """
    E = np.asarray(E, dtype=float)
    T = np.asarray(T, dtype=float)
    ok = _allowed(E, T, isotope, physics)
    Es = np.where(ok, E, 1.0)
    Ts = np.where(ok, T, 1.0)
    f2 = form_factor_squared(np.where(T > 0.0, T, 0.0), isotope, physics)  # F^2 on T's shape
    val = em_prefactor(isotope, mu) * (1.0 / Ts - 1.0 / Es) * f2
    return np.where(ok, val, 0.0)
