"""Lindhard quenching (reference implementation), paper 000 Eq. (27), paper 004 Eq. (15)-(17).

Q(T) = kappa g(eps) / (1 + kappa g(eps)),  g = 3 eps^0.15 + 0.7 eps^0.6 + eps,
eps = 11.5 T[keV] Z^{-7/3},  kappa = 0.133 Z^{2/3} A^{-1/2} unless given (004 uses 0.162
for Ge).  T_ee = Q(T_nr) T_nr; the inverse is found by Brent's method.
Energies in MeV.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq


def lindhard_kappa(Z, A, kappa=None) -> float:
    """kappa = 0.133 Z^{2/3} A^{-1/2} (000 Eq. 27), or ``kappa`` when given."""
    if kappa is not None:
        if not (np.isfinite(kappa) and kappa > 0):
            raise ValueError(f"Lindhard kappa must be positive, got {kappa!r}")
        return float(kappa)
    return 0.133 * float(Z) ** (2.0 / 3.0) / np.sqrt(float(A))


def _eps(T_nr, Z):
    return 11.5 * 1e3 * np.asarray(T_nr, dtype=float) * float(Z) ** (-7.0 / 3.0)


def lindhard_quenching(T_nr, Z, A, kappa=None):
    """Quenching factor Q(T_nr) (dimensionless); T_nr in MeV. Q(0) = 0."""
    k = lindhard_kappa(Z, A, kappa)
    eps = _eps(np.maximum(T_nr, 0.0), Z)
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    return k * g / (1.0 + k * g)


def lindhard_tee(T_nr, Z, A, kappa=None):
    """Electron-equivalent energy T_ee = Q(T_nr) T_nr [MeV] (004 Eq. 16)."""
    T_nr = np.asarray(T_nr, dtype=float)
    return lindhard_quenching(T_nr, Z, A, kappa) * T_nr


def lindhard_dtee_dtnr(T_nr, Z, A, kappa=None):
    """dT_ee/dT_nr = Q + T dQ/dT (the bracket of 004 Eq. 17); T_nr > 0 in MeV."""
    k = lindhard_kappa(Z, A, kappa)
    T_nr = np.asarray(T_nr, dtype=float)
    eps = _eps(T_nr, Z)
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    dg = 0.45 * eps**-0.85 + 0.42 * eps**-0.4 + 1.0
    Q = k * g / (1.0 + k * g)
    dQ_deps = k * dg / (1.0 + k * g) ** 2
    # T dQ/dT = eps dQ/deps since eps is proportional to T
    return Q + eps * dQ_deps


def lindhard_inverse(T_ee, Z, A, kappa=None):
    """Nuclear-recoil energy T_nr [MeV] with Q(T_nr) T_nr = T_ee (root of 004 Eq. 16).

    Bracket: Q < 1 gives T_nr > T_ee; Q increasing gives T_nr <= T_ee / Q(T_ee).
    """
    k = lindhard_kappa(Z, A, kappa)
    T_ee = np.asarray(T_ee, dtype=float)
    if np.any(~np.isfinite(T_ee)) or np.any(T_ee < 0):
        raise ValueError(f"T_ee must be finite and >= 0, got {T_ee!r}")
    out = np.empty_like(T_ee)
    flat_in, flat_out = T_ee.reshape(-1), out.reshape(-1)
    for i, tee in enumerate(flat_in):
        if tee == 0.0:
            flat_out[i] = 0.0
            continue
        lo = tee
        hi = tee / float(lindhard_quenching(tee, Z, A, k))
        f = lambda t: float(lindhard_tee(t, Z, A, k)) - tee  # noqa: E731
        flat_out[i] = brentq(f, lo, hi * (1.0 + 1e-12), xtol=1e-300, rtol=8.9e-16, maxiter=500)
    return out if out.ndim else float(out)
