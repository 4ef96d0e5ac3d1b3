"""Test statistics: paper 000 Eqs. (34)-(35), paper 004 Eq. (18), and the Poisson deviance.

Every Gaussian nuisance here enters its chi^2 quadratically, so it is profiled in closed form:

- Eq. (34) (COHERENT CsI, two nuisances a1, a2) and Eq. (35) (one nuisance a) are
  ``(d - u.a)^2 / V + a^T P a`` with ``d`` the residual at a = 0. The minimum over ``a`` is
  ``d^2 / (V + u^T P^-1 u)`` at ``a* = P^-1 u d / (V + u^T P^-1 u)`` (the 2x2 normal
  equations solved by Sherman-Morrison), which equals the chi^2 with the nuisance folded into
  the variance.
- Eq. (18) (pull method, n_pulls pulls over n_bins bins) is linear least squares in the
  pulls xi: ``(I + C W C^T) xi* = C W y`` with ``W = diag(Delta^-2)``, solved by a Cholesky
  factorisation of the small n_pulls x n_pulls matrix; the chi^2 is then evaluated as the sum
  of squares at xi*, which stays non-negative and accurate when the fit is perfect.

All functions are pure, float64 and differentiable (gradients are finite at the profiled
minimum and, for :func:`poisson_deviance`, at zero observed counts). None is jitted: jit at the
call site. Argument checks run on concrete values only (inside ``jit`` they are skipped).

Units: counts are events; magnetic-moment templates follow :mod:`cevns_jax.rates`, where the
EM template is for mu = 1e-10 mu_B, so ``mu2`` below is in (1e-10 mu_B)^2.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "DENOMINATORS",
    "chi2_coherent_csi",
    "chi2_coherent_csi_nuisance",
    "chi2_pull",
    "chi2_pull_nuisance",
    "chi2_single_nuisance",
    "chi2_single_nuisance_unprofiled",
    "expected_counts",
    "poisson_deviance",
    "profile_coherent_csi_nuisances",
    "profile_pulls",
    "profile_single_nuisance",
    "single_nuisance_variance",
]

#: Readings of the Eq. (35) denominator accepted by :func:`single_nuisance_variance`.
DENOMINATORS = ("printed", "poisson_plus_fractional", "fractional")

#: sigma_stat = sigma_sys of Eq. (35) per setup (paper 000 below Eq. 35).
EQ35_SIGMA = {"current": 0.2, "future": 0.1}


def paper000_statistic(name: str, setup: str) -> str:
    """Which chi^2 paper 000 uses: "eq34" (the COHERENT 2017 CsI data, N_meas = 142) for
    COHERENT CsI current, "eq35" (one nuisance, Asimov data) for every other setup."""
    return "eq34" if (name, setup) == ("COHERENT-CsI", "current") else "eq35"


# --------------------------------------------------------------------------------------
# argument checks (concrete values only)
# --------------------------------------------------------------------------------------
def _concrete(x):
    """``x`` as a NumPy array, or None when it is a tracer (checks are then skipped)."""
    if isinstance(x, jax.core.Tracer):
        return None
    return np.asarray(x, dtype=float)


def _check(name, x, *, positive=False, nonnegative=False):
    value = _concrete(x)
    if value is None:
        return
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not np.all(value > 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and not np.all(value >= 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")


# --------------------------------------------------------------------------------------
# expected counts
# --------------------------------------------------------------------------------------
def expected_counts(sm, em, mu2):
    """Expected counts per bin, ``N = sum_b (S_b + mu2_b E_b)`` (paper 000 Eqs. 26 and 33).

    The SM and EM cross sections add incoherently (Eq. 26), so with per-beam templates
    ``sm``, ``em`` of shape (n_beams, n_bins) from :func:`cevns_jax.rates.binned_templates`
    (EM template at mu = 1e-10 mu_B) and effective moments squared ``mu2`` of shape
    (n_beams,) in (1e-10 mu_B)^2, the counts are linear in ``mu2``. Returns shape (n_bins,).
    """
    sm = jnp.asarray(sm)
    em = jnp.asarray(em)
    mu2 = jnp.asarray(mu2)
    if sm.shape != em.shape:
        raise ValueError(f"sm and em templates differ in shape: {sm.shape} vs {em.shape}")
    if sm.ndim != 2:
        raise ValueError(f"templates must have shape (n_beams, n_bins), got {sm.shape}")
    if mu2.shape not in ((), (sm.shape[0],)):
        raise ValueError(
            f"mu2 must be a scalar or have shape ({sm.shape[0]},) (one per beam), got {mu2.shape}"
        )
    mu2 = jnp.broadcast_to(mu2, (sm.shape[0],))
    return jnp.sum(sm + mu2[:, None] * em, axis=0)


# --------------------------------------------------------------------------------------
# paper 000 Eq. (34): COHERENT CsI, two nuisances
# --------------------------------------------------------------------------------------
def _csi_sigma2(n_meas, b_0n, b_ss):
    """sigma_stat^2 = N_meas + B_0n + 2 B_ss (paper 000, text after Eq. 34)."""
    return n_meas + b_0n + 2.0 * b_ss


def _check_csi(n_meas, b_0n, b_ss, sigma_a1, sigma_a2):
    _check("n_meas", n_meas, nonnegative=True)
    _check("b_0n", b_0n, nonnegative=True)
    _check("b_ss", b_ss, nonnegative=True)
    _check("sigma_a1", sigma_a1, positive=True)
    _check("sigma_a2", sigma_a2, positive=True)
    values = [_concrete(v) for v in (n_meas, b_0n, b_ss)]
    if all(v is not None for v in values) and not np.all(_csi_sigma2(*values) > 0):
        raise ValueError(
            "sigma_stat^2 = n_meas + b_0n + 2 b_ss must be > 0, got "
            f"n_meas={values[0]!r}, b_0n={values[1]!r}, b_ss={values[2]!r}"
        )


def chi2_coherent_csi_nuisance(n_theor, a1, a2, n_meas=142.0, b_0n=6.0, b_ss=405.0,
                               sigma_a1=0.28, sigma_a2=0.25):
    """Unprofiled COHERENT CsI chi^2, the bracket of paper 000 Eq. (34).

        chi2 = (N_meas - N_theor (1 + a1) - B_0n (1 + a2))^2 / sigma_stat^2
               + (a1 / sigma_a1)^2 + (a2 / sigma_a2)^2,
        sigma_stat = sqrt(N_meas + B_0n + 2 B_ss).

    Defaults are the values quoted with Eq. (34): N_meas = 142, B_0n = 6, B_ss = 405,
    sigma_a1 = 0.28 (signal), sigma_a2 = 0.25 (prompt-neutron background). Broadcasts over
    ``n_theor``, ``a1``, ``a2``.
    """
    _check_csi(n_meas, b_0n, b_ss, sigma_a1, sigma_a2)
    residual = n_meas - n_theor * (1.0 + a1) - b_0n * (1.0 + a2)
    return (residual**2 / _csi_sigma2(n_meas, b_0n, b_ss)
            + (a1 / sigma_a1) ** 2 + (a2 / sigma_a2) ** 2)


def profile_coherent_csi_nuisances(n_theor, n_meas=142.0, b_0n=6.0, b_ss=405.0,
                                   sigma_a1=0.28, sigma_a2=0.25):
    """Best-fit nuisances ``(a1*, a2*)`` of paper 000 Eq. (34), in closed form.

    With d = N_meas - N_theor - B_0n the chi^2 is (d - N_theor a1 - B_0n a2)^2 / sigma^2 +
    a1^2/s1^2 + a2^2/s2^2. Its normal equations (a 2x2 linear system) have the solution
        a1* = s1^2 N_theor d / D,   a2* = s2^2 B_0n d / D,
        D = sigma_stat^2 + s1^2 N_theor^2 + s2^2 B_0n^2.
    """
    _check_csi(n_meas, b_0n, b_ss, sigma_a1, sigma_a2)
    d = n_meas - n_theor - b_0n
    denom = (_csi_sigma2(n_meas, b_0n, b_ss)
             + (sigma_a1 * n_theor) ** 2 + (sigma_a2 * b_0n) ** 2)
    return sigma_a1**2 * n_theor * d / denom, sigma_a2**2 * b_0n * d / denom


def chi2_coherent_csi(n_theor, n_meas=142.0, b_0n=6.0, b_ss=405.0, sigma_a1=0.28,
                      sigma_a2=0.25):
    """COHERENT CsI chi^2 of paper 000 Eq. (34) with a1, a2 profiled analytically.

    The bracket of Eq. (34) is quadratic in (a1, a2); its minimum is
        chi2(S) = (N_meas - N_theor - B_0n)^2
                  / (sigma_stat^2 + (sigma_a1 N_theor)^2 + (sigma_a2 B_0n)^2),
    i.e. the nuisances add their variances to sigma_stat^2 = N_meas + B_0n + 2 B_ss.
    This equals :func:`chi2_coherent_csi_nuisance` at :func:`profile_coherent_csi_nuisances`;
    it is smooth in ``n_theor`` everywhere (the denominator is >= sigma_stat^2 > 0).
    """
    _check_csi(n_meas, b_0n, b_ss, sigma_a1, sigma_a2)
    d = n_meas - n_theor - b_0n
    denom = (_csi_sigma2(n_meas, b_0n, b_ss)
             + (sigma_a1 * n_theor) ** 2 + (sigma_a2 * b_0n) ** 2)
    return d**2 / denom


# --------------------------------------------------------------------------------------
# paper 000 Eq. (35): one nuisance
# --------------------------------------------------------------------------------------
def single_nuisance_variance(n_meas, sigma_stat, denominator="printed"):
    """Variance in the denominator of paper 000 Eq. (35), under a chosen reading.

    Eq. (35) prints the denominator as ``(1 + sigma_stat) N_meas`` with sigma_stat = 0.2
    (current) or 0.1 (future), a fractional number. Read literally it is the Poisson
    variance N_meas inflated by the factor 1 + sigma_stat, so a "20 % statistical
    uncertainty" would add only 20 % to the variance (about 10 % to the error) whatever
    N_meas is. A fractional uncertainty normally enters as (sigma_stat N_meas)^2, which
    dominates the Poisson term once N_meas >> 1 / sigma_stat^2 (25 events for 0.2, true for
    every reactor setup of Table I). Readings:

    - ``"printed"`` (default): ``V = (1 + sigma_stat) N_meas``, literally as printed.
    - ``"poisson_plus_fractional"``: ``V = N_meas + (sigma_stat N_meas)^2``
      = N_meas (1 + sigma_stat^2 N_meas): Poisson variance plus a fractional uncertainty in
      quadrature (the dimensionally standard reading).
    - ``"fractional"``: ``V = (sigma_stat N_meas)^2``: the fractional uncertainty alone.

    The readings give very different limits for large N_meas; which one reproduces the
    published numbers is a question for the validation against Table II, not settled here.
    """
    if denominator not in DENOMINATORS:
        raise ValueError(
            f"denominator must be one of {DENOMINATORS}, got {denominator!r}"
        )
    _check("n_meas", n_meas, nonnegative=True)
    _check("sigma_stat", sigma_stat, nonnegative=True)
    if denominator == "printed":
        return (1.0 + sigma_stat) * n_meas
    if denominator == "poisson_plus_fractional":
        return n_meas + (sigma_stat * n_meas) ** 2
    return (sigma_stat * n_meas) ** 2


def chi2_single_nuisance_unprofiled(n_theor, a, n_meas, sigma_stat, sigma_sys,
                                    denominator="printed"):
    """Unprofiled one-nuisance chi^2, the bracket of paper 000 Eq. (35).

        chi2 = (N_meas - N_theor (1 + a))^2 / V + (a / sigma_sys)^2,

    with V from :func:`single_nuisance_variance` (``denominator`` selects the reading of
    the printed ``(1 + sigma_stat) N_meas``). Broadcasts over ``n_theor``, ``a``.
    """
    _check("sigma_sys", sigma_sys, positive=True)
    variance = single_nuisance_variance(n_meas, sigma_stat, denominator)
    return (n_meas - n_theor * (1.0 + a)) ** 2 / variance + (a / sigma_sys) ** 2


def profile_single_nuisance(n_theor, n_meas, sigma_stat, sigma_sys, denominator="printed"):
    """Best-fit nuisance of paper 000 Eq. (35): ``a* = s^2 N_theor d / (V + s^2 N_theor^2)``.

    ``d = N_meas - N_theor``, ``s = sigma_sys``, V as in :func:`single_nuisance_variance`.
    """
    _check("sigma_sys", sigma_sys, positive=True)
    variance = single_nuisance_variance(n_meas, sigma_stat, denominator)
    d = n_meas - n_theor
    return sigma_sys**2 * n_theor * d / (variance + (sigma_sys * n_theor) ** 2)


def chi2_single_nuisance(n_theor, n_meas, sigma_stat, sigma_sys, denominator="printed"):
    """One-nuisance chi^2 of paper 000 Eq. (35) with ``a`` profiled analytically.

        chi2(S) = min_a [(N_meas - N_theor (1 + a))^2 / V + (a / sigma_sys)^2]
                = (N_meas - N_theor)^2 / (V + (sigma_sys N_theor)^2),

    V being the Eq. (35) denominator under the reading ``denominator`` (default
    ``"printed"``: V = (1 + sigma_stat) N_meas; see :func:`single_nuisance_variance` for
    ``"poisson_plus_fractional"`` and ``"fractional"``). Paper 000 uses sigma_stat =
    sigma_sys = 0.2 (current) and 0.1 (future setups). V + (sigma_sys N_theor)^2 must be
    > 0, i.e. not both N_meas = 0 and N_theor = 0.
    """
    _check("sigma_sys", sigma_sys, positive=True)
    variance = single_nuisance_variance(n_meas, sigma_stat, denominator)
    d = n_meas - n_theor
    return d**2 / (variance + (sigma_sys * n_theor) ** 2)


# --------------------------------------------------------------------------------------
# paper 004 Eq. (18): pull method
# --------------------------------------------------------------------------------------
def _pull_inputs(r_obs, r_exp, background, delta, pull_shapes):
    r_obs = jnp.asarray(r_obs)
    r_exp = jnp.asarray(r_exp)
    if r_obs.ndim != 1:
        raise ValueError(f"r_obs must be 1-D (n_bins,), got shape {r_obs.shape}")
    n_bins = r_obs.shape[0]
    if r_exp.shape != (n_bins,):
        raise ValueError(f"r_exp must have shape ({n_bins},) like r_obs, got {r_exp.shape}")
    background = jnp.broadcast_to(jnp.asarray(background, dtype=r_obs.dtype), (n_bins,))
    delta = jnp.broadcast_to(jnp.asarray(delta, dtype=r_obs.dtype), (n_bins,))
    _check("delta (per-bin uncertainty Delta^i)", delta, positive=True)
    shapes = jnp.asarray(pull_shapes, dtype=r_obs.dtype)
    if shapes.ndim == 1:
        shapes = shapes[None, :]
    if shapes.ndim != 2 or shapes.shape[1] != n_bins:
        raise ValueError(
            f"pull_shapes must have shape (n_pulls, {n_bins}) (c_j^i, one row per pull), "
            f"got {jnp.shape(pull_shapes)}"
        )
    return r_obs - r_exp - background, delta, shapes


def chi2_pull_nuisance(r_obs, r_exp, background, delta, pull_shapes, xi):
    """Unprofiled pull chi^2 of paper 004 Eq. (18) at pulls ``xi`` (shape (n_pulls,)).

        chi2 = sum_i ((R_obs^i - R_exp^i - B - sum_j xi_j c_j^i) / Delta^i)^2 + sum_j xi_j^2.

    ``pull_shapes`` is c_j^i with shape (n_pulls, n_bins): the shift of bin i for a one-sigma
    pull j (e.g. flux uncertainty times the bin rate of that flux). ``background`` is a
    scalar or per-bin array; ``delta`` (Delta^i) is per-bin or scalar.
    """
    y, delta, shapes = _pull_inputs(r_obs, r_exp, background, delta, pull_shapes)
    xi = jnp.asarray(xi)
    if xi.shape != (shapes.shape[0],):
        raise ValueError(f"xi must have shape ({shapes.shape[0]},), got {xi.shape}")
    residual = (y - xi @ shapes) / delta
    return jnp.sum(residual**2) + jnp.sum(xi**2)


def profile_pulls(r_obs, r_exp, background, delta, pull_shapes):
    """Best-fit pulls of paper 004 Eq. (18): ``xi* = (I + C W C^T)^-1 C W y``.

    ``y = R_obs - R_exp - B``, ``C`` = ``pull_shapes`` (n_pulls, n_bins),
    ``W = diag(1 / Delta^2)``. The n_pulls x n_pulls system is symmetric positive definite
    (the identity comes from the pull penalty), solved by Cholesky.
    """
    y, delta, shapes = _pull_inputs(r_obs, r_exp, background, delta, pull_shapes)
    scaled = shapes / delta  # C W^(1/2)
    normal = jnp.eye(shapes.shape[0], dtype=y.dtype) + scaled @ scaled.T
    rhs = scaled @ (y / delta)
    factor = jax.scipy.linalg.cho_factor(normal)
    return jax.scipy.linalg.cho_solve(factor, rhs)


def chi2_pull(r_obs, r_exp, background, delta, pull_shapes):
    """Pull chi^2 of paper 004 Eq. (18) with all pulls xi_j profiled analytically.

    The chi^2 is quadratic in xi, so min_xi is a linear least-squares problem solved by
    :func:`profile_pulls`; the value is the sum of squares at xi* (equivalently
    y^T (diag(Delta^2) + C^T C)^-1 y). Vectorised over bins; vmap for batches.
    """
    xi = profile_pulls(r_obs, r_exp, background, delta, pull_shapes)
    return chi2_pull_nuisance(r_obs, r_exp, background, delta, pull_shapes, xi)


# --------------------------------------------------------------------------------------
# Poisson deviance
# --------------------------------------------------------------------------------------
def poisson_deviance(n_obs, n_exp, axis=None):
    """Poisson likelihood-ratio chi^2 (Baker-Cousins deviance).

        D = 2 sum (n_exp - n_obs + n_obs ln(n_obs / n_exp)),

    with the n_obs = 0 term equal to 2 n_exp. A double ``where`` keeps the value and the
    gradients finite at n_obs = 0 (the log is evaluated on a safe placeholder there, so no
    0 * inf or 0/0 reaches the backward pass). ``n_exp`` must be > 0 wherever n_obs > 0.
    Sums over ``axis`` (all axes by default).
    """
    n_obs = jnp.asarray(n_obs)
    n_exp = jnp.asarray(n_exp)
    _check("n_obs", n_obs, nonnegative=True)
    _check("n_exp", n_exp, nonnegative=True)
    positive = n_obs > 0
    safe_obs = jnp.where(positive, n_obs, 1.0)
    safe_exp = jnp.where(positive, n_exp, 1.0)
    log_term = jnp.where(positive, safe_obs * jnp.log(safe_obs / safe_exp), 0.0)
    return 2.0 * jnp.sum(n_exp - n_obs + log_term, axis=axis)
