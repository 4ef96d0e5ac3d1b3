"""Tests for cevns_jax.inference.fit and cevns_jax.inference.limits."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax import likelihood as L
from cevns_jax.inference import limits as LIM
from cevns_jax.inference.fit import (
    MODULUS,
    PHASE,
    Interval,
    NonNegative,
    minimize,
    profile_nuisances,
    uniform_starts,
)

N_THEOR = jnp.array([0.0, 50.0, 136.0, 173.0, 400.0])


# ============================================================ analytic vs optax profiling
def test_profile_eq34_optax_matches_analytic():
    def chi2(n, a):
        return L.chi2_coherent_csi_nuisance(n, a[0], a[1])

    prof = jax.jit(jax.vmap(lambda n: profile_nuisances(chi2, n, jnp.array([0.3, -0.2]))))(N_THEOR)
    analytic = jax.vmap(L.chi2_coherent_csi)(N_THEOR)
    assert np.all(prof.converged)
    # quadratic in the nuisances: L-BFGS reaches round-off; 1e-8 is far above it.
    np.testing.assert_allclose(prof.value, analytic, rtol=0, atol=1e-8)
    a1, a2 = jax.vmap(L.profile_coherent_csi_nuisances)(N_THEOR)
    # argmin agreement: gtol 1e-10 on a well-conditioned quadratic pins a to ~1e-9.
    np.testing.assert_allclose(prof.nuisances, np.stack([a1, a2], 1), atol=1e-7)


@pytest.mark.parametrize("denominator", ["printed", "poisson_plus_fractional"])
def test_profile_eq35_optax_matches_analytic(denominator):
    n_meas, s = 250.0, 0.2
    thetas = jnp.array([20.0, 200.0, 250.0, 320.0, 2000.0])

    def chi2(n, a):
        return L.chi2_single_nuisance_unprofiled(n, a["a"], n_meas, s, s, denominator)

    prof = jax.jit(jax.vmap(lambda n: profile_nuisances(chi2, n, {"a": jnp.array(0.1)})))(thetas)
    analytic = jax.vmap(lambda n: L.chi2_single_nuisance(n, n_meas, s, s, denominator))(thetas)
    assert np.all(prof.converged)
    # one-dimensional quadratic: round-off; 1e-8 is far above it.
    np.testing.assert_allclose(prof.value, analytic, rtol=0, atol=1e-8)


def test_profile_eq18_optax_matches_analytic():
    rng = np.random.default_rng(11)
    n_bins, n_pulls = 15, 3
    r_exp = jnp.asarray(rng.uniform(5, 20, n_bins))
    shapes = jnp.asarray(rng.normal(0, 1.5, (n_pulls, n_bins)))
    delta = jnp.asarray(rng.uniform(1, 3, n_bins))
    r_obs = r_exp + 1.0 + jnp.asarray(rng.normal(0, 2, n_bins))
    scales = jnp.array([0.5, 1.0, 1.3])  # theta: signal normalisation

    def chi2(scale, xi):
        return L.chi2_pull_nuisance(r_obs, scale * r_exp, 1.0, delta, shapes, xi)

    prof = jax.jit(jax.vmap(lambda t: profile_nuisances(chi2, t, jnp.zeros(n_pulls))))(scales)
    analytic = jax.vmap(lambda t: L.chi2_pull(r_obs, t * r_exp, 1.0, delta, shapes))(scales)
    assert np.all(prof.converged)
    # quadratic in xi: round-off; 1e-8 is far above it.
    np.testing.assert_allclose(prof.value, analytic, rtol=0, atol=1e-8)


# ============================================================ toy Asimov fit
def _toy_model():
    """3 beams x 6 bins; mu2_b = |sum_j W_bj |Lambda_j| e^{i zeta_j}|^2 + 0.05 |Lambda|^2.

    The quadratic form has phase-dependent off-diagonal terms
    2 Re(W_bi W*_bj) |L_i||L_j| cos(zeta_i - zeta_j) + ..., zeta_1 = 0; it is >= 0 by
    construction. Counts N = (1 + a) sum_b (S_b + mu2_b E_b), a a normalisation nuisance.
    """
    rng = np.random.default_rng(7)
    w = jnp.asarray(rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)))
    sm = jnp.asarray(rng.uniform(50, 200, (3, 6)))
    em = jnp.asarray(rng.uniform(0.5, 5, (3, 6))
                     * np.exp(-np.arange(6) * np.array([[0.2], [0.6], [1.0]])))

    def counts(p):
        lam = jnp.stack([p["l1"], p["l2"], p["l3"]])
        phases = jnp.exp(1j * jnp.stack([jnp.zeros_like(p["z2"]), p["z2"], p["z3"]]))
        mu2 = jnp.abs(w @ (lam * phases)) ** 2 + 0.05 * jnp.sum(lam**2)
        return (1.0 + p["a"]) * L.expected_counts(sm, em, mu2)

    return counts


def test_asimov_fit_reaches_zero():
    counts = _toy_model()
    truth = dict(l1=1.2, l2=0.7, l3=0.4, z2=0.9, z3=2.1, a=0.0)
    truth = {k: jnp.asarray(v) for k, v in truth.items()}
    n_obs = counts(truth)

    def chi2(p):
        return L.poisson_deviance(n_obs, counts(p)) + (p["a"] / 0.1) ** 2

    transforms = dict(l1=MODULUS, l2=MODULUS, l3=MODULUS, z2=PHASE, z3=PHASE)
    starts = uniform_starts(8, dict(l1=(0, 3), l2=(0, 3), l3=(0, 3), z2=(0, 2 * math.pi),
                                    z3=(0, 2 * math.pi)), seed=1, fixed=dict(a=0.2))
    res = minimize(chi2, starts, transforms)
    assert res.valid, res.status
    # Asimov minimum is 0; the deviance's own round-off is ~1e-13 (sums of ~1e3 counts).
    assert abs(res.value) < 1e-8
    assert len(res.start_values) == 8
    assert all(0.0 <= res.params[z] < 2 * math.pi for z in ("z2", "z3"))
    assert all(res.params[l] >= 0.0 for l in ("l1", "l2", "l3"))


# ============================================================ multi-start
def _double_well(p):
    return (p["x"] ** 2 - 1.0) ** 2 + 0.3 * p["x"] + 0.5 * (1.0 - jnp.cos(p["phi"]))


def test_multistart_picks_global_minimum():
    grid = np.linspace(-2, 2, 400_001)
    f = (grid**2 - 1) ** 2 + 0.3 * grid
    global_min = f.min()  # near x = -1.04; the local minimum near x = +0.96 is ~0.6 higher
    starts = [{"x": 1.5, "phi": 5.0}, {"x": 0.4, "phi": 1.0}, {"x": -1.3, "phi": 1.0}]
    res = minimize(_double_well, starts, {"phi": PHASE})
    assert res.valid, res.status
    # dense grid spacing 1e-5: grid minimum exceeds the true one by <~1e-9 (quadratic min).
    assert abs(res.value - global_min) < 1e-8
    assert res.params["x"] < 0 and res.best_start == 2
    # phase reported wrapped: 2 pi k minima collapse to 0 (or just below 2 pi by round-off).
    assert min(res.params["phi"], 2 * math.pi - res.params["phi"]) < 1e-6
    local = minimize(_double_well, starts[:1], {"phi": PHASE})
    assert local.value > global_min + 0.5  # a single start is trapped in the local minimum
    assert max(res.start_values) > global_min + 0.5  # and the multi-start record shows it
    looped = minimize(_double_well, starts, {"phi": PHASE}, vectorize=False)
    # same algorithm, batched vs unbatched XLA: agreement to round-off of an O(1) function.
    assert abs(looped.value - res.value) < 1e-10


def _gaussian_chi2(params, data, sigma):
    """chi^2 of a constant fitted to ``data`` with errors ``sigma``."""
    return jnp.sum(((data - params["c"]) / sigma) ** 2)


def test_second_fit_with_new_data_traces_nothing():
    """The solver is compiled once per function: new starts and new data (same shapes) as
    ``args`` reuse it. The fit is the weighted mean (closed form), to L-BFGS's 1e-9."""
    from cevns_jax.inference import fit as F

    sigma = np.array([1.0, 2.0, 0.5])
    first = minimize(_gaussian_chi2, {"c": 0.0}, args=(np.array([1.0, 2.0, 3.0]), sigma))
    before = dict(F.TRACE_COUNT)
    data = np.array([4.0, -1.0, 2.5])
    second = minimize(_gaussian_chi2, [{"c": 5.0}], args=(data, sigma))
    assert F.TRACE_COUNT == before
    w = 1.0 / sigma**2
    assert second.params["c"] == pytest.approx(float(np.sum(w * data) / np.sum(w)), abs=1e-9)
    assert first.params["c"] == pytest.approx(float(np.sum(w * [1.0, 2.0, 3.0]) / np.sum(w)),
                                              abs=1e-9)


# ============================================================ bounds
def _deficit_problem():
    rng = np.random.default_rng(5)
    sm = jnp.asarray(rng.uniform(80, 120, 8))
    e1 = jnp.asarray(np.exp(-0.3 * np.arange(8)) * 5)
    e2 = jnp.asarray(np.linspace(0.5, 3, 8))
    n_obs = sm + 2.0 * e1 - 0.5 * e2  # excess in template 1, deficit in template 2

    def chi2(p):
        return L.poisson_deviance(n_obs, sm + p["l1"] ** 2 * e1 + p["l2"] ** 2 * e2)

    return chi2


@pytest.mark.parametrize("nonneg", [MODULUS, NonNegative(map="softplus")])
def test_at_bound_flags_modulus_fitted_to_zero(nonneg):
    chi2 = _deficit_problem()
    res = minimize(chi2, [{"l1": 0.5, "l2": 1.0}, {"l1": 2.0, "l2": 0.3}],
                   {"l1": nonneg, "l2": nonneg})
    assert res.valid, res.status
    assert res.at_bound == {"l1": False, "l2": True}
    assert "at bound: l2" in res.status
    assert res.params["l2"] < 1e-4  # bound_tol default 1e-4
    # reference: l2 = 0 exactly, l1 by a 1-D scan refined with scipy (independent).
    from scipy.optimize import minimize_scalar
    ref = minimize_scalar(lambda t: float(chi2({"l1": t, "l2": 0.0})), bounds=(0.1, 3),
                          method="bounded", options={"xatol": 1e-10})
    # both are minima of a smooth function: values agree to ~gtol^2 / curvature << 1e-8.
    assert abs(res.value - ref.fun) < 1e-8


def test_spurious_boundary_point_is_invalid():
    def f(p):
        return (p["m"] - 1.0) ** 2

    stuck = minimize(f, {"m": 0.0}, {"m": NonNegative(start_nudge=0.0)})
    assert not stuck.valid and "spurious stationary point" in stuck.status
    nudged = minimize(f, {"m": 0.0}, {"m": MODULUS})
    # a quadratic: L-BFGS converges to round-off.
    assert nudged.valid and abs(nudged.params["m"] - 1.0) < 1e-6


def test_interval_and_errors():
    res = minimize(lambda p: (p["t"] - 3.0) ** 2, {"t": 0.5}, {"t": Interval(0.0, 2.0)})
    assert res.at_bound == {"t": True} and res.valid, res.status
    with pytest.raises(ValueError, match=r"transforms given for unknown parameters \['y'\]"):
        minimize(lambda p: p["x"] ** 2, {"x": 1.0}, {"y": PHASE})
    with pytest.raises(ValueError, match="fun must return a scalar, got shape \\(2,\\)"):
        minimize(lambda p: p["x"] * jnp.ones(2), {"x": 1.0})
    with pytest.raises(ValueError, match="violates the bound x >= 0"):
        minimize(lambda p: p["x"] ** 2, {"x": -1.0}, {"x": MODULUS})
    with pytest.raises(ValueError, match="outside the interval"):
        minimize(lambda p: p["t"] ** 2, {"t": 5.0}, {"t": Interval(0.0, 2.0)})


# ============================================================ limits
def _quartic(a=0.8, sigma=1.3):
    """Delta chi^2(mu) = (a mu^2)^2 / sigma^2: counts linear in mu^2, no signal."""
    return lambda mu: (a * mu**2) ** 2 / sigma**2


def test_crossing_gradient_matches_closed_form():
    """Delta = (a mu^2)^2 / sigma^2 = level at mu* = (sigma sqrt(level) / a)^(1/2), so
    d mu*/d a = -mu* / (2 a) and d mu*/d sigma = mu* / (2 sigma): exact to round-off."""
    a, sigma, level = 0.8, 1.3, 2.71
    mu_star = math.sqrt(sigma * math.sqrt(level) / a)
    delta = lambda mu, p: (p["a"] * mu**2) ** 2 / p["sigma"] ** 2
    grad = LIM.crossing_gradient(delta, mu_star, {"a": a, "sigma": sigma})
    assert float(grad["a"]) == pytest.approx(-mu_star / (2 * a), rel=1e-12)
    assert float(grad["sigma"]) == pytest.approx(mu_star / (2 * sigma), rel=1e-12)
    with pytest.raises(ValueError, match="not simple"):
        LIM.crossing_gradient(delta, 0.0, {"a": a, "sigma": sigma})   # d delta/d mu = 0 at 0


def test_upper_limit_closed_form_and_bracket_stability():
    a, sigma, level = 0.8, 1.3, 2.71
    exact = math.sqrt(sigma * math.sqrt(level) / a)
    values = []
    for bracket in [(0.0, 0.1), (0.0, 1.0), (0.0, 10.0), (0.0, 1e4)]:
        lim = LIM.upper_limit(_quartic(a, sigma), level, bracket)
        assert lim.valid and lim.status == "ok", lim.status
        assert lim.x_min == pytest.approx(0.0, abs=1e-3)  # the minimum sits at mu = 0
        values.append(lim.value)
    # Brent xtol/rtol ~1e-13 on a smooth monotone function: far inside 1e-6.
    np.testing.assert_allclose(values, exact, rtol=1e-9)
    # JAX bisection (vmappable) agrees: 100 halvings reach round-off.
    bis = LIM.bisect_crossing(_quartic(a, sigma), 0.0, 10.0, level)
    assert abs(float(bis) - exact) < 1e-9


def test_upper_limit_eq35_asimov_closed_form():
    """Asimov at the SM: chi2(mu) = y^2 / (V + s^2 (S + y)^2), y = mu^2 E (paper 000 Eq. 35)."""
    s_counts, e_counts, sig = 300.0, 2.0, 0.2
    variance = 1.2 * s_counts  # "printed" reading
    level = 2.71

    def chi2(mu):
        return L.chi2_single_nuisance(s_counts + mu**2 * e_counts, s_counts, sig, sig)

    # y^2 = level (V + s^2 (S + y)^2), i.e.
    # (1 - level s^2) y^2 - 2 level s^2 S y - level (V + s^2 S^2) = 0
    qa = 1 - level * sig**2
    qb = -2 * level * sig**2 * s_counts
    qc = -level * (variance + sig**2 * s_counts**2)
    y = (-qb + math.sqrt(qb**2 - 4 * qa * qc)) / (2 * qa)
    lim = LIM.upper_limit(chi2, level, (0.0, 5.0))
    assert lim.valid
    # Brent to ~1e-13; the quadratic formula has no cancellation here: 1e-9 relative.
    assert lim.value == pytest.approx(math.sqrt(y / e_counts), rel=1e-9)


def test_upper_limit_interior_minimum_islands_and_failure():
    # interior minimum at mu = 2 (signal), parabola of width 0.5: limit at 2 + 0.5 sqrt(2.71)
    lim = LIM.upper_limit(lambda m: ((m - 2.0) / 0.5) ** 2 + 3.0, 2.71, (0.0, 10.0))
    assert lim.x_min == pytest.approx(2.0, abs=1e-6)  # bounded Brent minimiser tolerance
    assert lim.chi2_min == pytest.approx(3.0, abs=1e-10)  # quadratic: error ~ (1e-6)^2 / 0.25
    assert lim.value == pytest.approx(2.0 + 0.5 * math.sqrt(2.71), rel=1e-9)  # Brent
    # a second allowed island above the limit is reported, not merged
    wavy = LIM.upper_limit(lambda m: 10.0 * jnp.sin(m) ** 2, 2.71, (0.0, 5.0))
    assert wavy.valid and wavy.islands and "disconnected" in wavy.status
    assert wavy.value == pytest.approx(math.asin(math.sqrt(0.271)), rel=1e-9)  # Brent
    flat = LIM.upper_limit(lambda m: jnp.tanh(m), 2.71, (0.0, 1.0), max_expand=3)
    assert not flat.valid and "no crossing" in flat.status and math.isnan(flat.value)
    with pytest.raises(ValueError, match="bracket must be finite with lo < hi"):
        LIM.upper_limit(_quartic(), 2.71, (1.0, 0.0))


def test_delta_chi2_profile():
    prof = LIM.delta_chi2_profile(_quartic(), np.linspace(0, 3, 31))
    assert prof.x_min == 0.0 and prof.chi2_min == 0.0
    assert np.all(prof.delta >= 0) and np.all(np.diff(prof.delta) > 0)


def test_region_2d_closes_around_interior_minimum():
    x0, y0, sx, sy = 1.0, 1.5, 0.3, 0.2
    reg = LIM.region_2d(lambda x, y: ((x - x0) / sx) ** 2 + ((y - y0) / sy) ** 2 + 1.0,
                        np.linspace(0, 2.5, 201), np.linspace(0, 2.5, 181), level=4.61)
    assert len(reg.contours) == 1 and reg.closed == (True,)
    assert len(LIM.closed_contours(reg.contours)) == 1
    line = reg.contours[0]
    # contour points lie on the ellipse up to linear interpolation error on a ~0.013 grid.
    on = ((line[:, 0] - x0) / sx) ** 2 + ((line[:, 1] - y0) / sy) ** 2
    assert np.max(np.abs(on - 4.61)) < 0.02
    area = 0.5 * abs(np.sum(line[:-1, 0] * line[1:, 1] - line[1:, 0] * line[:-1, 1]))
    # polygon area vs pi sx sy level: discretisation error well below 1 %.
    assert area == pytest.approx(math.pi * sx * sy * 4.61, rel=1e-2)


def test_region_2d_open_at_axes_for_null_signal():
    # Asimov without signal: minimum at the origin, the region touches both axes (open line).
    reg = LIM.region_2d(lambda x, y: (x**2 + 0.5 * y**2) ** 2, np.linspace(0, 3, 61),
                        np.linspace(0, 3, 61), level=4.61)
    assert reg.xy_min == (0.0, 0.0)
    assert len(reg.contours) == 1 and reg.closed == (False,)
    assert LIM.closed_contours(reg.contours) == []
