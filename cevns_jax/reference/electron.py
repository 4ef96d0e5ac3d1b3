"""Independent NumPy/SciPy neutrino-electron scattering (checks :mod:`cevns_jax.electron_rates`).

Written from the (g_V, g_A) form of Vogel & Engel, PRD 39, 3378 (1989) Eq. 2,

    dsigma/dT = G_F^2 m_e / (2 pi) [(g_V + g_A)^2 + (g_V - g_A)^2 (1 - T/E)^2
                                    + (g_A^2 - g_V^2) m_e T / E^2],

g_V = 2 s_W^2 + 1/2, g_A = 1/2 for nu_e; g_V = 2 s_W^2 - 1/2, g_A = -1/2 for nu_mu,tau;
g_A -> -g_A for antineutrinos; the magnetic term pi alpha^2 mu^2/m_e^2 (1/T - 1/E)
(Vogel & Engel Eq. 3). Integrals by adaptive ``scipy.integrate.quad``; no JAX.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

G_F = 1.1663787e-11          # MeV^-2 (PDG)
M_E = 0.51099895000          # MeV (CODATA 2018)
ALPHA = 1.0 / 137.035999084  # CODATA 2018
HBARC_CM = 197.3269804e-13   # MeV cm
MU_UNIT = 1e-10              # moments in 1e-10 mu_B


def vector_axial(flavour: str, s2w: float):
    """(g_V, g_A) of Vogel & Engel Eq. 2."""
    electron = flavour in ("nue", "nuebar")
    g_v = 2.0 * s2w + (0.5 if electron else -0.5)
    g_a = 0.5 if electron else -0.5
    return (g_v, -g_a) if flavour.endswith("bar") else (g_v, g_a)


def dsigma_sm(e_nu, recoil, flavour, s2w):
    """SM dsigma/dT [cm^2/MeV] per free electron, zero above T_max."""
    if recoil > t_max(e_nu):
        return 0.0
    g_v, g_a = vector_axial(flavour, s2w)
    y = recoil / e_nu
    value = ((g_v + g_a) ** 2 + (g_v - g_a) ** 2 * (1.0 - y) ** 2
             + (g_a**2 - g_v**2) * M_E * recoil / e_nu**2)
    return G_F**2 * M_E / (2.0 * math.pi) * value * HBARC_CM**2


def dsigma_mm(e_nu, recoil, mu=1.0):
    """Magnetic-moment dsigma/dT [cm^2/MeV] per free electron, mu in 1e-10 mu_B."""
    if recoil > t_max(e_nu):
        return 0.0
    return (math.pi * ALPHA**2 / M_E**2 * (mu * MU_UNIT) ** 2 * (1.0 / recoil - 1.0 / e_nu)
            * HBARC_CM**2)


def t_max(e_nu):
    """Largest recoil from 2-body kinematics: p_e = 2 E cos(theta) ... at theta = 0."""
    return 2.0 * e_nu**2 / (M_E + 2.0 * e_nu)


def e_min(recoil):
    """Smallest E reaching T: the positive root of 2 E^2 - 2 T E - m_e T = 0."""
    return (2.0 * recoil + math.sqrt(4.0 * recoil**2 + 8.0 * M_E * recoil)) / 4.0


def stepping_count(shells_ev, recoil_kev):
    """Electrons with binding energy below T, from (name, B [eV], occupancy) rows."""
    return sum(n for _, b, n in shells_ev if b < recoil_kev * 1e3)


def line_rate(e_nu, t_lo, t_hi, p_e, s2w, shells_ev=None, z=None, mu=0.0):
    """int_{t_lo}^{t_hi} Z_eff(T) [P_e ds_e + (1 - P_e) ds_mu + ds_mm(mu)] dT for a unit line
    (per atom, per unit fluence), stepping when ``shells_ev`` is given, else ``z`` electrons."""
    def f(t):
        count = stepping_count(shells_ev, t * 1e3) if shells_ev is not None else z
        sm = p_e * dsigma_sm(e_nu, t, "nue", s2w) + (1 - p_e) * dsigma_sm(e_nu, t, "numu", s2w)
        return count * (sm + (dsigma_mm(e_nu, t, mu) if mu else 0.0))

    points = [b * 1e-6 for _, b, _ in (shells_ev or ()) if t_lo < b * 1e-6 < t_hi]
    points += [t_max(e_nu)] if t_lo < t_max(e_nu) < t_hi else []
    value, _ = integrate.quad(f, t_lo, t_hi, points=points or None, limit=400,
                              epsabs=0.0, epsrel=1e-11)
    return value


def table_rate(energies, values, t_lo, t_hi, p_e, s2w, shells_ev, mu=0.0, antineutrino=False):
    """Same as :func:`line_rate` for a piecewise-linear spectrum (``energies``, ``values``):
    a nested quad, E inner on [E_min(T), E_max] split at the table knots."""
    energies = np.asarray(energies, dtype=float)
    values = np.asarray(values, dtype=float)
    e_lab, mu_lab = ("nuebar", "numubar") if antineutrino else ("nue", "numu")

    def inner(t):
        lo = e_min(t)
        if lo >= energies[-1]:
            return 0.0

        def g(e):
            flux = np.interp(e, energies, values)
            sm = p_e * dsigma_sm(e, t, e_lab, s2w) + (1 - p_e) * dsigma_sm(e, t, mu_lab, s2w)
            return flux * (sm + (dsigma_mm(e, t, mu) if mu else 0.0))

        knots = energies[(energies > lo) & (energies < energies[-1])]
        edges = np.concatenate([[lo], knots, [energies[-1]]])
        return sum(integrate.quad(g, a, b, epsabs=0.0, epsrel=1e-12, limit=100)[0]
                   for a, b in zip(edges[:-1], edges[1:]))

    def outer(t):
        return stepping_count(shells_ev, t * 1e3) * inner(t)

    points = sorted({b * 1e-6 for _, b, _ in shells_ev if t_lo < b * 1e-6 < t_hi}
                    | {t_max(e) for e in energies if t_lo < t_max(e) < t_hi})
    edges = [t_lo] + points + [t_hi]
    return sum(integrate.quad(outer, a, b, epsabs=0.0, epsrel=1e-10, limit=200)[0]
               for a, b in zip(edges[:-1], edges[1:]))
