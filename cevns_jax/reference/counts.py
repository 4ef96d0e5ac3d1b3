"""Differential rates and expected counts (reference implementation), paper 000 Eq. (33).

N = sum_beams sum_isotopes N_x * norm * int_{T_th,x}^{T_max} dT A(T)
    int_{E_min(T)}^{E_max} dE f(E) dsigma_x/dT(E, T).

Two independent ways to do the double integral:

* ``method="adaptive"``: nested ``scipy.integrate.quad`` (epsabs = 0). The outer
  integral runs over u = ln T (the magnetic term goes as 1/T) with ``points`` at every
  kink: efficiency steps and T_max(E_knot) for each spectrum knot (table points, the
  2 MeV reactor junction). Every cross section is F^2(T) (a(T) + b(T)/E + c(T)/E^2), so
  the inner integral is a(T) M_0 + b(T) M_-1 + c(T) M_-2 with the spectral moments
  M_k(E_min(T)) = int_{E_min}^{E_max} f(E) E^k dE, computed by ``quad`` on each smooth
  piece (Michel and exp-polynomial spectra) and in closed form on piecewise-linear
  tables (exact there). Lines are integrated exactly: dsigma(E_line, T) up to
  T_max(E_line).
* ``method="fixed"``: vectorised Gauss-Legendre product rule: log-T panels split at the
  kinks, and for each T node Gauss-Legendre nodes on every spectrum segment clipped to
  [E_min(T), E_max] (static shapes; the cross sections are evaluated on the broadcast
  (T, segment, E) grid with :func:`dsigma_sm` / :func:`dsigma_em`).
"""

from __future__ import annotations

import math

import numpy as np

from .cross_sections import (
    dsigma_em, dsigma_sm, em_prefactor, form_factor_squared, physics_options, sm_coefficients,
)
from .detector import parse_detector, quenching_kappa
from .kinematics import e_min, nuclear_mass, t_max
from .quenching import lindhard_dtee_dtnr, lindhard_inverse
from .sources import source_beams
from .spectra import LinearTable, Line, quad_checked

#: Relative tolerance of the outer adaptive integral over ln T.
OUTER_EPSREL = 1e-10
#: In the fixed method, T panels are split at T_max(E_knot) only for spectra with at most
#: this many knots (reactor tables); long solar tables use one panel per efficiency region.
MAX_T_SPLITS = 64
#: Gauss-Legendre nodes per piecewise-linear table segment in the fixed method (at most).
N_TABLE_SEGMENT = 8


class Setup:
    """A configuration resolved into arrays: physics options, detector, beams."""

    def __init__(self, config: dict):
        if not isinstance(config, dict):
            raise ValueError(f"config must be a mapping, got {config!r}")
        for key in ("source", "detector"):
            if key not in config:
                raise ValueError(f"config has no {key!r} block")
        self.physics = physics_options(config.get("physics"))
        self.detector = parse_detector(config["detector"])
        self.beams = source_beams(config["source"])
        self.kappa = quenching_kappa(config["detector"])

    def items(self):
        d = self.detector
        return list(zip(d.isotopes, d.n_targets, d.thresholds))


# ---------------------------------------------------------------------------------------
# the inner integral as a function of T (scalar T), per beam and isotope
# ---------------------------------------------------------------------------------------


def _continuum_moments(pieces, E_lo):
    total = np.zeros(3)
    for p in pieces:
        if not isinstance(p, Line):
            total = total + p.moments(E_lo)
    return total


class _Kernel:
    """Per-(isotope, physics) constants of the factorised cross sections."""

    def __init__(self, iso, physics):
        self.iso, self.physics = iso, physics_options(physics)
        self.m = nuclear_mass(iso)
        a, c_over_T = sm_coefficients(1.0, iso, self.physics)
        self.a_sm, self.c_sm_per_T = float(a), float(c_over_T)  # c(T) = c_sm_per_T * T
        self.k_em = em_prefactor(iso, 1.0)
        self.kin = self.physics["kinematics"]


def _inner(beam, kernel, T):
    """(int dE f dsigma_SM/dT, int dE f dsigma_EM/dT at mu = 1) per unit norm at scalar T.

    Continuum: F^2 [a M_0 + c M_-2] (SM) and F^2 K_em [M_0 / T - M_-1] (EM) with the
    moments at E_min(T); lines: the cross sections at the line energy.
    """
    iso, physics = kernel.iso, kernel.physics
    sm, em = 0.0, 0.0
    has_continuum = False
    for p in beam.pieces:
        if isinstance(p, Line):
            sm += float(dsigma_sm(p.energy, T, iso, physics))
            em += float(dsigma_em(p.energy, T, iso, 1.0, physics))
        else:
            has_continuum = True
    if has_continuum:
        E_lo = float(e_min(T, kernel.m, kernel.kin))
        M0, M1, M2 = _continuum_moments(beam.pieces, E_lo)
        f2 = float(form_factor_squared(T, iso, physics))
        sm += f2 * (kernel.a_sm * M0 + kernel.c_sm_per_T * T * M2)
        em += f2 * kernel.k_em * (M0 / T - M1)
    return sm, em


def _knots(beam):
    ks = []
    for p in beam.pieces:
        if not isinstance(p, Line):
            ks.extend(np.asarray(p.knots, dtype=float).tolist())
    return np.unique(np.array(ks, dtype=float))


def _t_kinks(beam, iso, T_lo, T_hi, physics, efficiency, with_knots=True):
    """Recoil energies in (T_lo, T_hi) where the T integrand is not smooth."""
    m = nuclear_mass(iso)
    kin = physics["kinematics"]
    pts = [k for k in efficiency.kinks]
    if with_knots:
        pts += t_max(_knots(beam), m, kin).tolist() if len(_knots(beam)) else []
        pts += [float(t_max(p.energy, m, kin)) for p in beam.pieces if isinstance(p, Line)]
    pts = sorted({float(p) for p in pts if T_lo < p < T_hi})
    return pts


def _t_end(beam, iso, physics):
    return float(t_max(beam.e_max, nuclear_mass(iso), physics["kinematics"]))


# ---------------------------------------------------------------------------------------
# adaptive
# ---------------------------------------------------------------------------------------


def _adaptive_one(beam, iso, T_th, physics, efficiency):
    T_end = _t_end(beam, iso, physics)
    if not T_th < T_end:
        return 0.0, 0.0
    kinks = _t_kinks(beam, iso, T_th, T_end, physics, efficiency)
    u_pts = [math.log(t) for t in kinks]
    eff = efficiency
    kernel = _Kernel(iso, physics)

    memo = {}  # the SM and EM integrals share most of their nodes

    def g(u, which):
        if u not in memo:
            T = math.exp(u)
            A = float(eff(T))
            memo[u] = (0.0, 0.0) if A == 0.0 else tuple(T * A * v for v in _inner(beam, kernel, T))
        return memo[u][which]

    what = f"{beam.name} on {iso.name}"
    sm = quad_checked(lambda u: g(u, 0), math.log(T_th), math.log(T_end), OUTER_EPSREL,
                      points=u_pts, what=what + " (SM)")[0]
    em = quad_checked(lambda u: g(u, 1), math.log(T_th), math.log(T_end), OUTER_EPSREL,
                      points=u_pts, what=what + " (EM)")[0]
    return sm, em


# ---------------------------------------------------------------------------------------
# fixed (vectorised Gauss-Legendre)
# ---------------------------------------------------------------------------------------


def _log_nodes(bounds, n):
    """Gauss-Legendre nodes in ln T on consecutive panels; returns (T, weight dT)."""
    u = np.log(np.asarray(bounds, dtype=float))
    x, w = np.polynomial.legendre.leggauss(n)
    lo, hi = u[:-1, None], u[1:, None]
    U = 0.5 * (lo + hi) + 0.5 * (hi - lo) * x[None, :]
    W = 0.5 * (hi - lo) * w[None, :]
    T = np.exp(U).ravel()
    return T, W.ravel() * T


def _fixed_one(beam, iso, T_th, physics, efficiency, n_T, n_E):
    T_end = _t_end(beam, iso, physics)
    if not T_th < T_end:
        return 0.0, 0.0
    m = nuclear_mass(iso)
    kin = physics["kinematics"]
    sm_total, em_total = 0.0, 0.0
    lines = [p for p in beam.pieces if isinstance(p, Line)]
    conts = [p for p in beam.pieces if not isinstance(p, Line)]
    for p in lines:
        T_top = float(t_max(p.energy, m, kin))
        if not T_th < T_top:
            continue
        bounds = [T_th] + _t_kinks(beam, iso, T_th, T_top, physics, efficiency, False) + [T_top]
        T, WT = _log_nodes(bounds, n_T)
        A = efficiency(T)
        sm_total += float(np.sum(WT * A * dsigma_sm(p.energy, T, iso, physics)))
        em_total += float(np.sum(WT * A * dsigma_em(p.energy, T, iso, 1.0, physics)))
    if conts:
        with_knots = len(_knots(beam)) <= MAX_T_SPLITS
        bounds = [T_th] + _t_kinks(beam, iso, T_th, T_end, physics, efficiency,
                                   with_knots) + [T_end]
        T, WT = _log_nodes(bounds, n_T)
        A = efficiency(T)
        Emin = e_min(T, m, kin)[:, None]
        I_sm = np.zeros_like(T)
        I_em = np.zeros_like(T)
        for p in conts:
            lo, hi = p.segments()
            keep = hi > Emin.min()
            lo, hi = lo[keep], hi[keep]
            if lo.size == 0:
                continue
            nE = min(n_E, N_TABLE_SEGMENT) if isinstance(p, LinearTable) else n_E
            x, w = np.polynomial.legendre.leggauss(nE)
            a = np.maximum(Emin, lo[None, :])                   # (nT, nseg)
            h = np.clip(hi[None, :] - a, 0.0, None)
            E = a[..., None] + 0.5 * h[..., None] * (x + 1.0)  # (nT, nseg, nE)
            W = 0.5 * h[..., None] * w
            fW = p(E) * W
            Tb = T[:, None, None]
            I_sm += np.sum(fW * dsigma_sm(E, Tb, iso, physics), axis=(1, 2))
            I_em += np.sum(fW * dsigma_em(E, Tb, iso, 1.0, physics), axis=(1, 2))
        sm_total += float(np.sum(WT * A * I_sm))
        em_total += float(np.sum(WT * A * I_em))
    return sm_total, em_total


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


def _parse_nodes(n_nodes):
    if isinstance(n_nodes, (tuple, list)) and len(n_nodes) == 2:
        n_T, n_E = n_nodes
    else:
        n_T = n_E = n_nodes
    for n in (n_T, n_E):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n_nodes must be a positive int or a pair of them, got {n_nodes!r}")
    return int(n_T), int(n_E)


def expected_counts(config: dict, method: str = "adaptive", n_nodes=48) -> dict:
    """Expected events per beam: {beam: (n_SM, n_EM at mu = 1e-10 mu_B)} (000 Eq. 33).

    ``method``: "adaptive" (nested scipy quad, relative accuracy ~1e-10) or "fixed"
    (vectorised Gauss-Legendre with ``n_nodes`` per panel and per segment; an int or a
    pair (n_T, n_E)). The EM count scales as mu^2 (mu in units of 1e-10 mu_B).
    """
    if method not in ("adaptive", "fixed"):
        raise ValueError(f"unknown method {method!r}; expected 'adaptive' or 'fixed'")
    setup = Setup(config)
    if method == "fixed":
        n_T, n_E = _parse_nodes(n_nodes)
    out = {}
    for beam in setup.beams:
        sm_sum, em_sum = 0.0, 0.0
        for iso, n_x, T_th in setup.items():
            if not T_th > 0:
                raise ValueError(
                    f"threshold {config['detector'].get('threshold')!r} gives T_nr = 0 for "
                    f"{iso.name}: the magnetic-moment rate diverges as 1/T; use a threshold > 0"
                )
            if method == "adaptive":
                sm, em = _adaptive_one(beam, iso, T_th, setup.physics, setup.detector.efficiency)
            else:
                sm, em = _fixed_one(beam, iso, T_th, setup.physics, setup.detector.efficiency,
                                    n_T, n_E)
            sm_sum += n_x * beam.norm * sm
            em_sum += n_x * beam.norm * em
        out[beam.name] = (sm_sum, em_sum)
    return out


def _rates_isotope(setup, beam, iso, n_x, T_th, T, apply_threshold):
    sm = np.empty_like(T)
    em = np.empty_like(T)
    kernel = _Kernel(iso, setup.physics)
    for i, t in enumerate(T):
        sm[i], em[i] = _inner(beam, kernel, float(t))
    A = setup.detector.efficiency(T)
    scale = n_x * beam.norm * A
    if apply_threshold:
        scale = np.where(T >= T_th, scale, 0.0)
    return scale * sm, scale * em


def _check_T(T, what):
    T = np.asarray(T, dtype=float)
    if np.any(~np.isfinite(T)) or np.any(T <= 0):
        raise ValueError(f"{what} must be finite and > 0 (MeV), got {T!r}")
    return T


def differential_rate(config: dict, T_nr, apply_threshold: bool = False) -> dict:
    """dR/dT_nr per beam: {beam: (dR_SM/dT, dR_EM/dT at mu = 1)} [events / MeV].

    Summed over isotopes, including targets, fluence and efficiency A(T_nr). The
    threshold is an integration limit and is applied only if ``apply_threshold`` (then
    each isotope is cut at its own T_nr threshold). ``T_nr`` in MeV (> 0).
    """
    T = _check_T(T_nr, "T_nr")
    shape = T.shape
    T = T.reshape(-1)
    setup = Setup(config)
    out = {}
    for beam in setup.beams:
        sm = np.zeros_like(T)
        em = np.zeros_like(T)
        for iso, n_x, T_th in setup.items():
            s, e = _rates_isotope(setup, beam, iso, n_x, T_th, T, apply_threshold)
            sm += s
            em += e
        out[beam.name] = (sm.reshape(shape), em.reshape(shape))
    return out


def differential_rate_ee(config: dict, T_ee) -> dict:
    """dR/dT_ee per beam [events / MeV_ee] (paper 004 Eq. 17), summed over isotopes.

    Each isotope maps T_ee to its own T_nr with the Lindhard inverse (kappa from
    ``detector.quenching``) and contributes dR/dT_nr / (Q + T dQ/dT). No threshold cut.
    """
    Tee = _check_T(T_ee, "T_ee")
    shape = Tee.shape
    Tee = Tee.reshape(-1)
    setup = Setup(config)
    out = {}
    for beam in setup.beams:
        sm = np.zeros_like(Tee)
        em = np.zeros_like(Tee)
        for iso, n_x, T_th in setup.items():
            Tnr = np.asarray(lindhard_inverse(Tee, iso.Z, iso.A, setup.kappa), dtype=float)
            s, e = _rates_isotope(setup, beam, iso, n_x, T_th, Tnr, False)
            jac = lindhard_dtee_dtnr(Tnr, iso.Z, iso.A, setup.kappa)
            sm += s / jac
            em += e / jac
        out[beam.name] = (sm.reshape(shape), em.reshape(shape))
    return out
