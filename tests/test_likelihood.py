"""Tests for cevns_jax.likelihood (paper 000 Eqs. 34-35, paper 004 Eq. 18, Poisson deviance)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from cevns_jax import likelihood as L

N_THEOR = [0.0, 50.0, 136.0, 173.0, 400.0]  # 136 = N_meas - B_0n: the chi^2 = 0 point of Eq. 34


def _scipy_min(fun, x0):
    """Brute-force minimum over the nuisances, independent of the closed forms."""
    res = optimize.minimize(fun, np.asarray(x0, float), method="BFGS",
                            options={"gtol": 1e-12, "maxiter": 10_000})
    # Nelder-Mead polish: derivative-free, so the check does not rely on gradients either.
    res2 = optimize.minimize(fun, res.x, method="Nelder-Mead",
                             options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20_000})
    return min(res.fun, res2.fun), (res.x if res.fun <= res2.fun else res2.x)


# ----------------------------------------------------------------------------- Eq. 34
def _eq34_numpy(a, n_theor, n_meas=142.0, b_0n=6.0, b_ss=405.0, s1=0.28, s2=0.25):
    """Eq. (34) bracket written out independently in NumPy."""
    sigma = math.sqrt(n_meas + b_0n + 2 * b_ss)
    return ((n_meas - n_theor * (1 + a[0]) - b_0n * (1 + a[1])) ** 2 / sigma**2
            + (a[0] / s1) ** 2 + (a[1] / s2) ** 2)


@pytest.mark.parametrize("n_theor", N_THEOR)
def test_eq34_analytic_profile_matches_scipy(n_theor):
    brute, a_best = _scipy_min(lambda a: _eq34_numpy(a, n_theor), [0.1, -0.1])
    analytic = float(L.chi2_coherent_csi(n_theor))
    # chi^2 is quadratic in (a1, a2): BFGS + Nelder-Mead reach round-off, 1e-8 is far above it.
    assert abs(analytic - brute) < 1e-8
    a1, a2 = L.profile_coherent_csi_nuisances(n_theor)
    # the argmin is flat to second order, so scipy's coordinates are good to ~1e-6 only.
    np.testing.assert_allclose([a1, a2], a_best, atol=1e-6)
    # closed form equals the unprofiled function at the closed-form nuisances (round-off).
    assert abs(float(L.chi2_coherent_csi_nuisance(n_theor, a1, a2)) - analytic) < 1e-12


def test_eq34_values_and_zero():
    # sigma_stat^2 = 142 + 6 + 810 = 958; at N_theor = 136 the residual vanishes exactly.
    assert float(L.chi2_coherent_csi(136.0)) == 0.0
    expected = (142 - 200 - 6) ** 2 / (958 + (0.28 * 200) ** 2 + (0.25 * 6) ** 2)
    # a handful of float64 operations: round-off only.
    assert abs(float(L.chi2_coherent_csi(200.0)) - expected) < 1e-13


# ----------------------------------------------------------------------------- Eq. 35
@pytest.mark.parametrize("denominator", L.DENOMINATORS)
@pytest.mark.parametrize("n_theor", [10.0, 95.0, 100.0, 130.0, 1000.0])
def test_eq35_analytic_profile_matches_scipy(n_theor, denominator):
    n_meas, s_stat, s_sys = 100.0, 0.2, 0.2
    variance = {"printed": 1.2 * n_meas, "poisson_plus_fractional": n_meas + (0.2 * n_meas) ** 2,
                "fractional": (0.2 * n_meas) ** 2}[denominator]
    brute, a_best = _scipy_min(
        lambda a: (n_meas - n_theor * (1 + a[0])) ** 2 / variance + (a[0] / s_sys) ** 2, [0.05])
    analytic = float(L.chi2_single_nuisance(n_theor, n_meas, s_stat, s_sys, denominator))
    # one-dimensional quadratic: the brute-force minimum is exact to round-off; 1e-8 is far above it.
    assert abs(analytic - brute) < 1e-8
    a = L.profile_single_nuisance(n_theor, n_meas, s_stat, s_sys, denominator)
    # flat argmin, see Eq. 34 test.
    assert abs(float(a) - a_best[0]) < 1e-6
    unprof = L.chi2_single_nuisance_unprofiled(n_theor, a, n_meas, s_stat, s_sys, denominator)
    # identity of closed forms: round-off.
    assert abs(float(unprof) - analytic) < 1e-12


def test_eq35_denominator_readings():
    n = 400.0
    # exact arithmetic on small integers and 0.2: round-off only.
    assert abs(float(L.single_nuisance_variance(n, 0.2)) - 480.0) < 1e-12
    assert abs(float(L.single_nuisance_variance(n, 0.2, "poisson_plus_fractional")) - 6800.0) < 1e-9
    assert abs(float(L.single_nuisance_variance(n, 0.2, "fractional")) - 6400.0) < 1e-9
    with pytest.raises(ValueError, match="denominator must be one of .*'bogus'"):
        L.chi2_single_nuisance(1.0, n, 0.2, 0.2, denominator="bogus")
    with pytest.raises(ValueError, match="sigma_sys must be > 0"):
        L.chi2_single_nuisance(1.0, n, 0.2, -0.1)
    with pytest.raises(ValueError, match="n_meas must be >= 0"):
        L.chi2_single_nuisance(1.0, -3.0, 0.2, 0.2)


# ----------------------------------------------------------------------------- Eq. 18
def _pull_problem(seed=0, n_bins=12, n_pulls=3):
    rng = np.random.default_rng(seed)
    r_exp = rng.uniform(5.0, 20.0, n_bins)
    shapes = rng.normal(0.0, 1.5, (n_pulls, n_bins))
    r_obs = r_exp + 2.0 + rng.normal(0.0, 2.0, n_bins)
    delta = rng.uniform(1.0, 3.0, n_bins)
    return r_obs, r_exp, 1.5, delta, shapes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eq18_analytic_profile_matches_scipy(seed):
    r_obs, r_exp, bkg, delta, shapes = _pull_problem(seed)

    def bracket(xi):
        return np.sum(((r_obs - r_exp - bkg - xi @ shapes) / delta) ** 2) + np.sum(xi**2)

    brute, xi_best = _scipy_min(bracket, np.zeros(shapes.shape[0]))
    analytic = float(L.chi2_pull(r_obs, r_exp, bkg, delta, shapes))
    # quadratic in xi: brute force reaches round-off; 1e-8 is far above it.
    assert abs(analytic - brute) < 1e-8
    xi = L.profile_pulls(r_obs, r_exp, bkg, delta, shapes)
    # flat argmin: scipy coordinates good to ~1e-6.
    np.testing.assert_allclose(xi, xi_best, atol=1e-6)
    # covariance form y^T (diag(Delta^2) + C^T C)^-1 y (Woodbury identity): round-off.
    y = r_obs - r_exp - bkg
    cov = np.diag(delta**2) + shapes.T @ shapes
    assert abs(analytic - y @ np.linalg.solve(cov, y)) < 1e-10 * max(1.0, analytic)


def test_eq18_shape_errors():
    r_obs, r_exp, bkg, delta, shapes = _pull_problem()
    with pytest.raises(ValueError, match="pull_shapes must have shape"):
        L.chi2_pull(r_obs, r_exp, bkg, delta, shapes[:, :5])
    with pytest.raises(ValueError, match="r_exp must have shape"):
        L.chi2_pull(r_obs, r_exp[:-1], bkg, delta, shapes)
    with pytest.raises(ValueError, match="delta .* must be > 0"):
        L.chi2_pull(r_obs, r_exp, bkg, 0.0 * delta, shapes)


# ----------------------------------------------------------------------------- gradients
def _fd(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_gradients_finite_and_correct():
    # Eq. 34 at its analytic minimum (residual zero) and away from it.
    g0 = jax.grad(L.chi2_coherent_csi)(136.0)
    assert np.isfinite(g0) and abs(float(g0)) < 1e-15  # exact zero up to round-off
    for n in (50.0, 300.0):
        g = float(jax.grad(L.chi2_coherent_csi)(n))
        # central difference with h = 1e-5 on a smooth O(1) function: error ~1e-9.
        assert abs(g - _fd(lambda t: float(L.chi2_coherent_csi(t)), n)) < 1e-7
    g35 = jax.grad(L.chi2_single_nuisance)(100.0, 100.0, 0.2, 0.2)
    assert np.isfinite(g35) and abs(float(g35)) < 1e-15  # minimum: round-off zero
    # Eq. 18: derivative of the profiled chi^2 w.r.t. r_exp (envelope theorem through the solve).
    r_obs, r_exp, bkg, delta, shapes = _pull_problem()
    grad = jax.grad(lambda r: L.chi2_pull(r_obs, r, bkg, delta, shapes))(jnp.asarray(r_exp))
    assert np.all(np.isfinite(grad))
    e3 = np.zeros_like(r_exp)
    e3[3] = 1.0
    fd = _fd(lambda t: float(L.chi2_pull(r_obs, r_exp + t * e3, bkg, delta, shapes)), 0.0)
    # central difference, smooth quadratic: truncation error vanishes, round-off ~1e-10.
    assert abs(float(grad[3]) - fd) < 1e-7
    # at the pull minimum (data = model) the gradient is exactly finite and zero.
    g_min = jax.grad(lambda r: L.chi2_pull(r + bkg, r, bkg, delta, shapes))(jnp.asarray(r_exp))
    assert np.all(np.isfinite(g_min))


def test_poisson_deviance_zero_counts_and_gradients():
    n_obs = jnp.array([0.0, 3.0, 10.0, 0.0])
    n_exp = jnp.array([2.0, 3.0, 7.5, 0.5])
    value = float(L.poisson_deviance(n_obs, n_exp))
    ref = 2 * (2.0 + 0.0 + (7.5 - 10 + 10 * math.log(10 / 7.5)) + 0.5)
    assert abs(value - ref) < 1e-12  # closed form, round-off only
    g_obs, g_exp = jax.grad(L.poisson_deviance, argnums=(0, 1))(n_obs, n_exp)
    assert np.all(np.isfinite(g_obs)) and np.all(np.isfinite(g_exp))
    # dD/dn_exp = 2 (1 - n_obs / n_exp): exact expressions, round-off only.
    np.testing.assert_allclose(g_exp, 2 * (1 - n_obs / n_exp), rtol=0, atol=1e-14)
    # n_exp = 0 where n_obs = 0 is allowed (term 0) and keeps finite gradients.
    g2 = jax.grad(L.poisson_deviance, argnums=1)(jnp.array([0.0, 1.0]), jnp.array([0.0, 1.0]))
    assert np.all(np.isfinite(g2))
    # deviance vanishes at n_obs = n_exp with zero gradient (Asimov minimum).
    assert float(L.poisson_deviance(n_exp, n_exp)) == pytest.approx(0.0, abs=1e-14)
    assert np.all(np.abs(jax.grad(L.poisson_deviance, argnums=1)(n_exp, n_exp)) < 1e-14)
    with pytest.raises(ValueError, match="n_obs must be >= 0"):
        L.poisson_deviance(jnp.array([-1.0]), jnp.array([1.0]))


def test_expected_counts_linear_in_mu2():
    rng = np.random.default_rng(3)
    sm, em = rng.uniform(1, 5, (3, 4)), rng.uniform(0, 1, (3, 4))
    mu2 = np.array([0.5, 2.0, 0.0])
    n = L.expected_counts(sm, em, mu2)
    # same sums in a different order: round-off only.
    np.testing.assert_allclose(n, sm.sum(0) + mu2 @ em, rtol=1e-14)
    with pytest.raises(ValueError, match=r"mu2 must be a scalar or have shape \(3,\)"):
        L.expected_counts(sm, em, np.ones(2))


def test_jittable_and_vmappable():
    f = jax.jit(jax.vmap(L.chi2_coherent_csi))
    vals = f(jnp.asarray(N_THEOR))
    # jit/vmap reorders nothing material: round-off relative to the eager values.
    np.testing.assert_allclose(vals, [float(L.chi2_coherent_csi(n)) for n in N_THEOR], rtol=1e-13)
