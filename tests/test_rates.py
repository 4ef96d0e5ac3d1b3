"""Binned rates: convergence, gradients against finite differences, edges, retracing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax.experiments import build_experiment, get_config
from cevns_jax.quadrature import QuadratureConfig
from cevns_jax.rates import binned_templates, differential_rate, differential_rate_ee


def _ge_reactor_ee(threshold="200 eVee", bins=None):
    cfg = get_config("CONUS", "current")
    cfg["detector"]["threshold"] = threshold
    if bins is not None:
        cfg["detector"]["bins"] = bins
    return build_experiment(cfg)


@pytest.fixture(scope="module")
def csi():
    return build_experiment(get_config("COHERENT-CsI", "current"))


@pytest.fixture(scope="module")
def conus_ee():
    return _ge_reactor_ee(bins=["200 eVee", "300 eVee", "500 eVee", "1 keVee"])


def test_sns_counts_converge_when_nodes_double(csi):
    base = binned_templates(csi, quad=QuadratureConfig(32, 32))
    fine = binned_templates(csi, quad=QuadratureConfig(64, 64))
    # smooth integrands on every sub-interval: Gauss-Legendre converges geometrically,
    # so 32 -> 64 nodes must already agree to 1e-10
    np.testing.assert_allclose(base.sm, fine.sm, rtol=1e-10)
    np.testing.assert_allclose(base.em, fine.em, rtol=1e-10)


def test_reactor_counts_converge_when_nodes_double(conus_ee):
    base = binned_templates(conus_ee, quad=QuadratureConfig(48, 48))
    fine = binned_templates(conus_ee, quad=QuadratureConfig(96, 96))
    # tabulated low-energy part gives a C^1 integrand in T: algebraic convergence, 1e-7 at 48
    np.testing.assert_allclose(base.sm, fine.sm, rtol=1e-7)
    np.testing.assert_allclose(base.em, fine.em, rtol=1e-7)


def test_bins_add_up_to_the_open_bin():
    binned = _ge_reactor_ee(bins=["200 eVee", "400 eVee", "100 keVee"])
    single = _ge_reactor_ee()
    # same integrand split at one extra point; 1e-9 reflects the quadrature accuracy
    np.testing.assert_allclose(binned_templates(binned).sm.sum(),
                               binned_templates(single).sm.sum(),
                               rtol=1e-9)


def test_differential_rate_integrates_to_counts(csi):
    """Integrate dN/dT on a fine independent grid (Simpson in log T) and compare."""
    from scipy.integrate import simpson

    from cevns_jax.constants import E_NU_PROMPT, M_MUON
    from cevns_jax.physics.kinematics import recoil_max

    t_lo = 5e-3  # 5 keVnr threshold
    masses = np.asarray(csi.detector.target.nuclear_mass)
    # split at the efficiency steps and at each isotope's end points (the prompt line
    # makes dN/dT jump there), so the trapezoid rule never straddles a discontinuity
    ends = [float(recoil_max(e, m)) for e in (E_NU_PROMPT, M_MUON / 2) for m in masses]
    breaks = csi.detector.efficiency.breakpoints_nr()
    edges = np.unique(np.clip(np.array([t_lo, *breaks, *ends]), t_lo, max(ends)))
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        # stay 1e-12 inside each piece: at a step the one-sided limit is what counts
        u = np.linspace(np.log(a) + 1e-12, np.log(b) - 1e-12, 4001)
        T = np.exp(u)
        rate = np.asarray(differential_rate(csi, jnp.asarray(T)).sm.sum(0))
        total += simpson(rate * T, x=u)
    # Simpson with 4000 log-T steps on smooth pieces: O(h^4) error, far below 1e-7
    assert total == pytest.approx(float(binned_templates(csi).sm.sum()), rel=1e-7)


def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("name", ["flux_scale", "radius_scale", "sin2_theta_w"])
def test_gradients_match_finite_differences(conus_ee, name):
    base = conus_ee.default_params[name]
    f = lambda v: binned_templates(conus_ee, {name: v}).em.sum() + \
        binned_templates(conus_ee, {name: v}).sm.sum()
    grad = jax.grad(f)(jnp.asarray(base))
    fd = _fd(f, base, 1e-5 * max(abs(base), 1.0))
    # central differences with h ~ 1e-5: truncation O(h^2) ~ 1e-10, rounding ~1e-11 / h
    assert float(grad) == pytest.approx(float(fd), rel=1e-5)
    assert np.isfinite(float(grad))


def test_gradient_with_respect_to_quenching_kappa(conus_ee):
    kappa0 = conus_ee.default_params["kappa"]
    f = lambda k: binned_templates(conus_ee, {"kappa": k}).sm[0, 0]
    grad = jax.grad(f)(kappa0)
    h = 1e-6
    for i in (0, 3):  # Ge70 and Ge74
        e = jnp.zeros_like(kappa0).at[i].set(h)
        fd = (f(kappa0 + e) - f(kappa0 - e)) / (2 * h)
        # 1e-5: finite-difference truncation and the moving bin edges' quadrature noise
        assert float(grad[i]) == pytest.approx(float(fd), rel=1e-5)


def test_moment_gradient_and_linearity(csi):
    """N(mu) = S + mu^2 E: dN/dmu = 2 mu E, checked through autodiff of the combination."""
    tpl = binned_templates(csi)
    n = lambda mu: (tpl.sm + mu**2 * tpl.em).sum()
    mu = 30.0
    assert float(jax.grad(n)(mu)) == pytest.approx(float(2 * mu * tpl.em.sum()), rel=1e-14)
    fd = _fd(n, mu, 1e-3)
    assert float(jax.grad(n)(mu)) == pytest.approx(float(fd), rel=1e-9)  # N is exactly quadratic


def test_gradients_finite_at_the_edges():
    """Tiny threshold (q -> 0 region) and recoils at the threshold keep finite gradients."""
    cfg = get_config("CONNIE", "current")
    cfg["detector"]["threshold"] = "1e-3 eVnr"
    exp = build_experiment(cfg)
    g = jax.jit(jax.grad(lambda p: binned_templates(exp, p).em.sum()))(
        {k: jnp.asarray(v) for k, v in exp.default_params.items()})
    for leaf in jax.tree_util.tree_leaves(g):
        assert np.all(np.isfinite(leaf))
    # differential rate at the exact threshold and at T -> 0
    for T in (1e-9, 1e-12):
        d = jax.grad(lambda t: differential_rate(exp, t).em.sum())(jnp.asarray(T))
        assert np.isfinite(float(d))


def test_differential_rate_ee_jacobian(conus_ee):
    """dN/dT_ee integrated over an ee bin equals the binned count of that bin."""
    from scipy.integrate import simpson

    lo, hi = 0.2e-3, 0.3e-3
    u = np.linspace(np.log(lo), np.log(hi), 4001)
    T = np.exp(u)
    rate = np.asarray(differential_rate_ee(conus_ee, jnp.asarray(T)).sm.sum(0))
    integral = simpson(rate * T, x=u)
    binned = float(binned_templates(conus_ee).sm[0, 0]) / 0.5  # binned includes 50% efficiency
    assert integral == pytest.approx(binned, rel=1e-7)  # Simpson error with 4000 log steps


def test_new_parameter_values_do_not_retrace(csi):
    traces = []

    def counts(params):
        traces.append(1)
        return binned_templates(csi, params).sm.sum()

    fn = jax.jit(counts)
    values = [fn({"radius_scale": jnp.asarray(r), "flux_scale": jnp.asarray(f)})
              for r, f in [(1.0, 1.0), (1.05, 0.9), (0.95, 1.2)]]
    assert len(traces) == 1
    assert values[0] != values[1]


def test_flux_scale_is_linear(csi):
    a = binned_templates(csi, {"flux_scale": 1.0}).sm
    b = binned_templates(csi, {"flux_scale": 2.5}).sm
    np.testing.assert_allclose(b, 2.5 * a, rtol=1e-14)


def test_coherent_csi_2017_against_collaboration_prediction(csi):
    """COHERENT predicted 173 +- 48 SM events for the 2017 CsI run (Science 357, 1123)."""
    n_sm = float(binned_templates(csi).sm.sum())
    assert abs(n_sm - 173.0) < 48.0


def _smeared(resolution):
    cfg = get_config("CONUS", "current")
    cfg["detector"]["threshold"] = "200 eVee"
    cfg["detector"]["bins"] = ["200 eVee", "300 eVee", "500 eVee", "1 keVee"]
    if resolution is not None:
        cfg["detector"]["resolution"] = resolution
    return build_experiment(cfg)


def test_vanishing_resolution_reproduces_sharp_bins():
    sharp = binned_templates(_smeared(None))
    nearly = binned_templates(_smeared({"type": "gaussian", "relative": 1e-9}))
    # sigma = 1e-9 E: the Gaussian edges are steps to ~1e-9; the two integrations split
    # the recoil range differently, so agreement is to their quadrature accuracy (1e-6)
    np.testing.assert_allclose(nearly.sm, sharp.sm, rtol=1e-6)
    np.testing.assert_allclose(nearly.em, sharp.em, rtol=1e-6)


def test_gaussian_resolution_against_direct_convolution():
    """Bin counts with 30 eVee noise equal int dT dN/dT eff [Phi(hi) - Phi(lo)] evaluated with
    Simpson's rule on a fine grid of true electron-equivalent energy (independent path)."""
    from jax.scipy.special import ndtr
    from scipy.integrate import simpson

    exp = _smeared({"type": "gaussian", "noise": "30 eVee"})
    tpl = binned_templates(exp)
    e_true = np.linspace(0.02e-3, 1.0e-3, 20001)  # MeVee, from 6 sigma below threshold
    rate_ee = np.asarray(differential_rate_ee(exp, jnp.asarray(e_true)).sm.sum(0)) * 0.5
    edges = np.array([0.2e-3, 0.3e-3, 0.5e-3, 1.0e-3])
    sigma = 30e-6
    expected = [simpson(rate_ee * (np.asarray(ndtr((hi - e_true) / sigma))
                                   - np.asarray(ndtr((lo - e_true) / sigma))), x=e_true)
                for lo, hi in zip(edges[:-1], edges[1:])]
    # Simpson on 2e4 points vs Gauss-Legendre: both converged to < 1e-5; the cut at
    # 1 keVee true energy (the Ge end point is ~0.6 keVee) loses nothing
    np.testing.assert_allclose(tpl.sm[0], expected, rtol=1e-5)


def test_resolution_config_errors():
    with pytest.raises(ValueError, match="gaussian"):
        _smeared({"type": "lorentz", "noise": "1 eVee"})
    with pytest.raises(ValueError, match="at least one"):
        _smeared({"type": "gaussian"})
    with pytest.raises(ValueError, match="energy ee"):
        _smeared({"type": "gaussian", "noise": "30 eVnr"})
