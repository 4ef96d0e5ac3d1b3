"""The batched profile-likelihood layer of the global fit (inference.profile_grid) against
closed forms and the independent Brent path of inference.profile_likelihood, the physics
claims the global fit rests on (phase independence of single-modulus limits, the
oscillation-parameter model), and (slow) the end-to-end quick run of the real-data fit."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from cevns_jax import moments
from cevns_jax.inference import profile_grid as pg
from cevns_jax.likelihood.counting import binned_poisson_measurement
from cevns_jax.likelihood.measurement import Channel, Components, Measurement, damped_newton
from cevns_jax.likelihood.physics_model import (NUFIT_60_NO, FlavourMoments, MassStateBeam,
                                                TransitionMoments, WithOscillation)


class _Linear:
    """Expected counts S + mu2 E (one beam), Gaussian statistic."""

    def __eq__(self, other):
        return isinstance(other, _Linear)

    def __hash__(self):
        return 1

    def __call__(self, data, nu):
        return Components(data["s"][None, :], data["e"][None, :], jnp.zeros_like(data["s"]))


def gaussian_count(n_obs, s, e, variance, beam="numu"):
    channel = Channel(observed=jnp.asarray([float(n_obs)]),
                      data={"s": jnp.asarray([s]), "e": jnp.asarray([e]),
                            "variance": jnp.asarray([variance])},
                      name="count", beams=(beam,), expected_fn=_Linear(), statistic="gaussian")
    return Measurement((channel,), ())


@pytest.fixture(scope="module")
def binned():
    return binned_poisson_measurement("bins", ("numu", "nuebar"), np.ones((2, 5)) * 3.0,
                                      np.array([[2.0, 1.0, 0.5, 0.2, 0.1]] * 2),
                                      n_obs=np.array([7.0, 5.0, 6.0, 4.0, 8.0]), background=2.0,
                                      signal_sigma=0.1)


def test_limit_matches_closed_form_without_nuisances():
    """chi^2 = (mu^2 E)^2 / V at n = S, so Delta = 2.71 at mu = (2.71 V)^(1/4) / sqrt(E)."""
    m = gaussian_count(100.0, 100.0, 4.0, 100.0, beam="nue")
    found = pg.upper_limits(m, FlavourMoments(), ["mu_e"], upper=10.0, rtol=1e-10)["mu_e"]
    closed = (2.71 * 100.0) ** 0.25 / math.sqrt(4.0)
    assert found.value == pytest.approx(closed, rel=1e-9)   # bracket to 1e-10, then secant


def test_limit_matches_brent_with_nuisance(binned):
    """Same limit as SciPy's Brent root of Delta(-2 ln L) - 2.71 on the profiled values (an
    independent root finder; the minimum sits at 0 for these data, checked on a grid first).
    1e-9 relative: both are converged to 1e-10 in x on the same smooth values."""
    model = TransitionMoments()
    for name in ("lambda1", "lambda2"):
        ours = pg.upper_limits(binned, model, [name], upper=20.0, rtol=1e-10)[name]
        f = lambda x: float(pg.evaluate_points(binned, model, {name: x})[0])
        grid = pg.evaluate_points(binned, model, {name: np.linspace(0.0, 20.0, 41)})
        assert np.argmin(grid) == 0 and ours.x_min == 0.0
        reference = optimize.brentq(lambda x: f(x) - f(0.0) - 2.71, 1e-6, 20.0, xtol=1e-14,
                                    rtol=1e-12)
        assert ours.value == pytest.approx(reference, rel=1e-9)
        assert ours.valid and ours.twice_nll_min == pytest.approx(f(0.0), abs=1e-12)


def test_interior_minimum_and_limit_match_scipy():
    """A count above the SM expectation puts the minimum inside: n = 130, S = 100, E = 4,
    variance 100, so the Gaussian chi^2 = (30 - 4 mu^2)^2 / 100 has x_min = sqrt(7.5) and
    Delta = 2.71 at 4 mu^2 = 30 + sqrt(271) (closed form; the zoomed minimum and the
    multisection to 1e-10 give 1e-9 relative)."""
    m = gaussian_count(130.0, 100.0, 4.0, 100.0, beam="nue")
    found = pg.upper_limits(m, FlavourMoments(), ["mu_e"], upper=10.0, rtol=1e-10)["mu_e"]
    assert found.x_min == pytest.approx(math.sqrt(7.5), rel=1e-6)   # zoom to 1e-6 in x
    assert found.value == pytest.approx(math.sqrt((30.0 + math.sqrt(271.0)) / 4.0), rel=1e-9)


def test_one_point_search_matches_the_batched_one(binned):
    """chunk=1 (Brent minimum, Illinois regula falsi) and chunk=64 (zoom, multisection) are
    different searches of the same crossing: 1e-9 relative (both converged to 1e-10)."""
    m = gaussian_count(130.0, 100.0, 4.0, 100.0, beam="nue")
    one = pg.upper_limits(m, FlavourMoments(), ["mu_e"], upper=10.0, rtol=1e-10, chunk=1,
                          n_coarse=8)["mu_e"]
    assert one.x_min == pytest.approx(math.sqrt(7.5), rel=1e-6)
    assert one.value == pytest.approx(math.sqrt((30.0 + math.sqrt(271.0)) / 4.0), rel=1e-9)
    for name in ("lambda1", "lambda3"):
        batched = pg.upper_limits(binned, TransitionMoments(), [name], upper=20.0,
                                  rtol=1e-10)[name].value
        single = pg.upper_limits(binned, TransitionMoments(), [name], upper=20.0, rtol=1e-10,
                                 chunk=1, n_coarse=12)[name].value
        assert single == pytest.approx(batched, rel=1e-9)


def test_nuisance_start_changes_only_where_the_search_begins(binned):
    """Started away from nominal, the profile reaches the same minimum (1e-9: converged Newton
    on a convex problem); a start naming no nuisance is refused by name."""
    model = TransitionMoments()
    nominal = pg.evaluate_points(binned, model, {"lambda1": [0.0, 0.5, 2.0]})
    name = binned.profiled_names[0]
    shifted = pg.evaluate_points(binned, model, {"lambda1": [0.0, 0.5, 2.0]},
                                 nuisance_start={name: 1.2})
    np.testing.assert_allclose(shifted, nominal, rtol=1e-9)
    with pytest.raises(KeyError, match="flux_scal"):
        pg.evaluate_points(binned, model, {"lambda1": 0.0}, nuisance_start={"flux_scal": 1.0})


def test_lower_end_moves_the_reference_minimum():
    """Searched over [1, 10], the minimum of chi^2 = (x^2 E)^2 / V sits at the lower end, so
    Delta = (x^4 - 1) E^2 / V = 2.71 at x = (1 + 2.71 V / E^2)^(1/4) (closed form; 1e-9: the
    crossing is narrowed to 1e-10)."""
    m = gaussian_count(100.0, 100.0, 4.0, 100.0, beam="nue")
    found = pg.upper_limits(m, FlavourMoments(), ["mu_e"], lower=1.0, upper=10.0,
                            rtol=1e-10)["mu_e"]
    assert found.x_min == 1.0
    assert found.value == pytest.approx((1.0 + 2.71 * 100.0 / 16.0) ** 0.25, rel=1e-9)


def test_not_reached_and_not_finite_are_reported(binned):
    """No crossing below the search's upper end gives NaN and says so."""
    res = pg.upper_limits(binned, TransitionMoments(), ["lambda1"], upper=1e-3)["lambda1"]
    assert math.isnan(res.value) and not res.valid and "not reached within" in res.status


def test_one_kernel_for_new_points_grids_and_bounds(binned):
    """The held kernel (model-independent) and the joint kernel are each traced once."""
    model = TransitionMoments()
    pg.evaluate_points(binned, model, {"lambda1": [0.1, 0.2]}, chunk=8)
    pg.evaluate_points(binned, model, {"lambda1": 0.1}, free={"lambda3": (0.0, 1.0)}, chunk=8)
    before = dict(pg.TRACE_COUNT)
    pg.evaluate_points(binned, FlavourMoments(), {"mu_e": [0.3, 0.1, 0.0]}, chunk=8)
    pg.evaluate_points(binned, model, {"lambda1": np.linspace(0, 1, 19), "xi1": 1.0},
                       free={"lambda2": (0.0, 5.0)}, chunk=8)
    pg.upper_limits(binned, model, ["lambda3"], grid={"xi1": [0.0, 1.0], "xi3": [0.0, 2.0]},
                    others_free={"lambda1": (0.0, 5.0)}, upper=20.0, chunk=8)
    assert pg.TRACE_COUNT == before


def test_parts_sum_equals_profile_of_sum(binned):
    """Without free physics parameters the nuisances of parts without shared nuisances
    decouple: the profile of the sum is the sum of the profiles (to Newton convergence)."""
    other = binned_poisson_measurement("more", ("nue",), np.ones((1, 3)), np.ones((1, 3)),
                                       n_obs=np.array([1.0, 3.0, 2.0]), signal_sigma=0.2)
    a, b = binned.prefixed("a"), other.prefixed("b")
    pts = {"lambda1": np.array([0.0, 0.5, 1.5]), "lambda2": 0.7}
    whole = pg.evaluate_points(a + b, TransitionMoments(), pts, chunk=4)
    split = pg.evaluate_points((a, b), TransitionMoments(), pts, chunk=4)
    np.testing.assert_allclose(split, whole, rtol=1e-10)
    with pytest.raises(ValueError, match="couple"):
        pg.evaluate_points((a, b), TransitionMoments(), pts, free={"lambda3": (0.0, 1.0)})


def test_masked_newton_holds_masked_components():
    """Minimise (x0 - 1)^2 + (x1 - 2)^2 + x0 x1 with x1 held at 5: x0 = 1 - 5/2."""
    f = lambda x: (x[0] - 1.0) ** 2 + (x[1] - 2.0) ** 2 + x[0] * x[1]
    x = damped_newton(f, jnp.array([0.0, 5.0]), jnp.array([-10.0, -10.0]),
                      jnp.array([10.0, 10.0]), 20, mask=jnp.array([1.0, 0.0]))
    np.testing.assert_allclose(np.asarray(x), [-1.5, 5.0], atol=1e-12)


def test_single_modulus_does_not_depend_on_the_phases():
    """With one modulus non-zero, Lambda = |Lambda_1| e^{i zeta} (1, 0, 0): only an overall
    phase, so mu_eff^2 = |Lambda_1|^2 (1 - |U_alpha1|^2) for a pure-flavour beam (paper 000
    Eqs. 9, 12, 17) at every (xi1, xi3); the toys therefore lose nothing by holding the
    phases at 0. With two moduli the phases do matter."""
    u = np.asarray(moments.pmns(moments.DEFAULT_OSCILLATION))
    beams = ("numu", "nue", "nuebar", MassStateBeam("solar", 0.6, 0.3, 0.1))
    model = TransitionMoments()
    rng = np.random.default_rng(4)
    for xi1, xi3 in rng.uniform(0, 2 * np.pi, (5, 2)):
        mu2 = np.asarray(model.mu2({"lambda1": 0.3, "xi1": xi1, "xi3": xi3}, beams))
        closed = 0.09 * (1 - np.abs(u[[1, 0, 0], 0]) ** 2)
        np.testing.assert_allclose(mu2[:3], closed, rtol=1e-12)
        np.testing.assert_allclose(mu2[3], 0.09 * (1 - 0.6), rtol=1e-12)   # Eq. 38
    two = [float(model.mu2({"lambda1": 0.3, "lambda2": 0.2, "xi3": xi3}, ("numu",))[0])
           for xi3 in (0.0, np.pi / 2)]
    assert abs(two[0] - two[1]) > 1e-3


def test_oscillation_model_defaults_and_constraint():
    """WithOscillation at its defaults is the wrapped model; moving theta12 changes mu_eff^2
    of nu_e as 1 - cos^2(theta12) cos^2(theta13) (= 1 - |U_e1|^2); the NuFIT constraint adds
    ((theta - centre) / sigma)^2 to -2 ln L."""
    inner = TransitionMoments(osc=NUFIT_60_NO)
    model = WithOscillation(inner)
    beams = ("numu", "nue", "nuebar")
    theta = {"lambda1": 0.4, "lambda3": 0.1, "xi1": 0.3}
    np.testing.assert_allclose(np.asarray(model.mu2(theta, beams)),
                               np.asarray(inner.mu2(theta, beams)), rtol=1e-14)
    t12, t13 = 0.6, model.defaults["theta13"]
    value = float(model.mu2({"lambda1": 1.0, "theta12": t12}, ("nue",))[0])
    assert value == pytest.approx(1 - (math.cos(t12) * math.cos(t13)) ** 2, rel=1e-12)
    m = gaussian_count(10.0, 10.0, 1.0, 10.0, beam="nue")
    held = pg.evaluate_points(m, model, {"lambda1": 0.0, "theta12": 0.6}, chunk=1)[0]
    centre = model.defaults["theta12"]
    with_prior = pg.evaluate_points(m, model, {"lambda1": 0.0, "theta12": 0.6}, chunk=1,
                                    priors={"theta12": (centre, 0.01)})[0]
    assert with_prior - held == pytest.approx(((0.6 - centre) / 0.01) ** 2, rel=1e-12)


def test_region_matches_closed_form():
    """Two beams in one Gaussian bin at n = S: Delta = ((mu_e^2 + mu_mu^2) E)^2 / V, so the
    4.61 contour is the circle mu_e^2 + mu_mu^2 = sqrt(4.61 V) / E."""
    channel = Channel(observed=jnp.asarray([50.0]),
                      data={"s": jnp.asarray([[25.0], [25.0]]), "e": jnp.asarray([[2.0], [2.0]]),
                            "variance": jnp.asarray([50.0])},
                      name="two", beams=("nue", "numu"), statistic="gaussian",
                      expected_fn=lambda d, nu: Components(d["s"], d["e"], jnp.zeros(1)))
    m = Measurement((channel,), ())
    axis = np.linspace(0.0, 3.0, 7)
    delta = pg.region_2d(m, FlavourMoments(), "mu_e", axis, "mu_mu", axis, chunk=16)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    np.testing.assert_allclose(delta, ((xx**2 + yy**2) * 2.0) ** 2 / 50.0, rtol=1e-9,
                               atol=1e-9)


def test_bad_input_is_named(binned):
    with pytest.raises(KeyError, match="lambda9"):
        pg.evaluate_points(binned, TransitionMoments(), {"lambda9": 1.0})
    with pytest.raises(ValueError, match="lower <= upper"):
        pg.evaluate_points(binned, TransitionMoments(), {"lambda1": 1.0},
                           free={"lambda2": (1.0, 0.0)})
    with pytest.raises(ValueError, match="both scanned/profiled and on the grid"):
        pg.upper_limits(binned, TransitionMoments(), ["xi1"], grid={"xi1": [0.0]})


@pytest.mark.slow
def test_quick_global_fit_end_to_end():
    """Every required row of the quick run is present, finite and positive, and each global
    Wilks limit is at most the best single-data-set Wilks limit of the same quantity: adding data
    can only raise Delta(-2 ln L) at a fixed moment (each part's profiled -2 ln L minus its
    own minimum is >= 0), up to the shift of the minimum, which the 2% allows for."""
    from cevns_jax.results import global_fit

    rows = global_fit.data_results(quick=True)
    required = [f"limit_lambda{i}" for i in (1, 2, 3)] + ["limit_mu_nue", "limit_mu_numu",
                                                          "limit_mu_nutau"]
    for quantity in required:
        for method in ("wilks", "toys"):
            found = [r for r in rows if r["analysis"] == "global" and r["quantity"] == quantity
                     and r["method"].startswith(method)]
            assert found, (quantity, method)
            assert all(np.isfinite(r["computed"]) and r["computed"] > 0 for r in found)
        wilks = [r["computed"] for r in rows if r["analysis"] == "global"
                 and r["quantity"] == quantity and "other moments 0 (phases" in r["method"]]
        alone = [r["computed"] for r in rows if r["analysis"] in global_fit.REAL_DATA
                 and r["quantity"] == quantity and r["method"].startswith("wilks")
                 and np.isfinite(r["computed"])]
        assert len(wilks) == 1 and alone
        assert wilks[0] <= min(alone) * 1.02


SHARD_SCRIPT = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
os.environ["JAX_PLATFORMS"] = "cpu"
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from cevns_jax.inference import profile_grid as pg
from cevns_jax.likelihood.counting import binned_poisson_measurement
from cevns_jax.likelihood.physics_model import TransitionMoments
assert len(jax.local_devices()) == 4
m = binned_poisson_measurement("bins", ("numu", "nuebar"), np.ones((2, 5)) * 3.0,
                               np.array([[2.0, 1.0, 0.5, 0.2, 0.1]] * 2),
                               n_obs=np.array([7.0, 5.0, 6.0, 4.0, 8.0]), background=2.0,
                               signal_sigma=0.1)
model, x = TransitionMoments(), np.linspace(0.0, 3.0, 150)
for free in (None, {"lambda2": (0.0, 5.0)}):
    split = pg.evaluate_points(m, model, {"lambda1": x}, free=free, chunk=64)    # 4 devices
    whole = pg.evaluate_points(m, model, {"lambda1": x}, free=free, chunk=63)    # one device
    assert np.array_equal(split, whole), np.max(np.abs(split - whole))
print("ok")
"""


def test_points_split_over_devices_give_the_same_values():
    """With four (forced host) devices a chunk of 64 points is split over them; each point is
    independent, so the values equal the one-device ones bit for bit (held and free paths)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", SHARD_SCRIPT], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
