"""CDEX-10 chain (cevns_jax.analyses.cdex10): CSV format, the pull chi^2 of 004 Eq. 18 as a
Measurement (vs the closed form and brute-force least squares), Asimov recovery of injected
moments, limits and regions (drivers of cevns_jax.results.xenonnt_8b)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax import solar
from cevns_jax.analyses import cdex10 as cdex
from cevns_jax.inference.limits import upper_limit as scalar_upper_limit
from cevns_jax.likelihood import chi2_pull, chi2_pull_nuisance
from cevns_jax.likelihood.measurement import profile
from cevns_jax.likelihood.physics_model import MassStateBeam, channel_mu2s
from cevns_jax.results.xenonnt_8b import best_fit, flavour_limits, flavour_region


@pytest.fixture(scope="module")
def adiabatic():
    # 8B only keeps the template compilation short; hep adds ~1e-3 of the rate. The default
    # composition (adiabatic MSW); paper 004's constant one is merged from it exactly.
    return cdex.setup_analysis(components=("b8",))


@pytest.fixture(scope="module")
def analysis(adiabatic):
    return cdex.merge_to_constant(adiabatic)


def _theta(mu):
    return dict(zip(("mu_e", "mu_mu", "mu_tau"), jnp.asarray(mu, dtype=jnp.float64)))


_profile = jax.jit(profile)


def twice_nll(analysis, data, mu, background=None):
    """Profiled -2 ln L of the CDEX measurement and the nuisances at the minimum."""
    m = cdex.measurement(analysis, data, background=background)
    return _profile(m, channel_mu2s(m, analysis.flavour_model(), _theta(mu)))


@pytest.fixture(scope="module")
def asimov(analysis):
    return cdex.asimov_spectrum(analysis)


# --------------------------------------------------------------------------------------
# CSV format
# --------------------------------------------------------------------------------------
def test_csv_round_trip(tmp_path, asimov):
    path = tmp_path / "spectrum.csv"
    cdex.write_spectrum_csv(asimov, path, comment="round trip")
    back = cdex.load_spectrum_csv(path)
    # exact: floats are written with repr
    np.testing.assert_array_equal(back.edges_kevee, asimov.edges_kevee)
    np.testing.assert_array_equal(back.rate, asimov.rate)
    np.testing.assert_array_equal(back.uncertainty, asimov.uncertainty)
    assert back.exposure_kg_day == cdex.CDEX10_EXPOSURE_KG_DAY
    assert back.n_bins == 20


def test_csv_centre_width_and_evee(tmp_path):
    path = tmp_path / "cw.csv"
    path.write_text("# units: energy=eVee, rate=counts/(kg keVee day)\n"
                    "E_eVee_centre,E_eVee_width,rate,uncertainty\n"
                    "210,100,2.5,0.4\n310,100,2.1,0.3\n")
    sp = cdex.load_spectrum_csv(path)
    np.testing.assert_allclose(sp.edges_kevee, [0.16, 0.26, 0.36], rtol=1e-12)
    np.testing.assert_array_equal(sp.rate, [2.5, 2.1])
    assert sp.exposure_kg_day is None


@pytest.mark.parametrize("text, match", [
    ("E_keVee_lo,E_keVee_hi,rate,uncertainty\n0.16,0.26,1,0.1\n", "units line"),
    ("# units: energy=keVee, rate=counts/(kg day)\n"
     "E_keVee_lo,E_keVee_hi,rate,uncertainty\n0.16,0.26,1,0.1\n", "counts/\\(kg day\\)"),
    ("# units: energy=keVnr, rate=counts/(kg keVee day)\n"
     "E_keVee_lo,E_keVee_hi,rate,uncertainty\n0.16,0.26,1,0.1\n", "keVnr"),
    ("# units: energy=keVee, rate=counts/(kg keVee day)\n"
     "E_keVee_lo,E_keVee_hi,rate\n0.16,0.26,1\n", "uncertainty"),
    ("# units: energy=keVee, rate=counts/(kg keVee day)\n"
     "E_keVee_lo,E_keVee_hi,rate,uncertainty\n0.16,0.26,abc,0.1\n", "abc"),
    ("# units: energy=keVee, rate=counts/(kg keVee day)\n"
     "E_keVee_lo,E_keVee_hi,rate,uncertainty\n0.16,0.26,1,0.1\n0.30,0.40,1,0.1\n",
     "contiguous"),
    ("# units: energy=keVee, rate=counts/(kg keVee day)\n"
     "E_keVee_lo,E_keVee_hi,rate,uncertainty\n0.16,0.26,1,0\n", "uncertainty must be > 0"),
])
def test_bad_csv_raises_named_errors(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        cdex.load_spectrum_csv(path)


# --------------------------------------------------------------------------------------
# the measurement of Eq. 18
# --------------------------------------------------------------------------------------
def test_default_composition_is_msw(adiabatic, analysis):
    assert adiabatic.channel.pee_model == solar.MSW_PEE_MODEL
    assert all(isinstance(b, MassStateBeam) for b in adiabatic.beams)
    assert analysis.beams == ("nue_solar",)
    assert adiabatic.solar_model == analysis.solar_model == "BS05OP"
    # the MSW electron fraction of the 8B rate above threshold: P_ee ~ 0.3 (well below the
    # 0.54 of the energy-independent reading); 0.25-0.40 brackets the 8B MSW plateau
    em_e = float(jnp.sum(cdex.expected_rate(adiabatic, (10.0, 0, 0))
                         - cdex.expected_rate(adiabatic)))
    em_all = float(jnp.sum(cdex.expected_rate(adiabatic, (10.0, 10.0, 10.0))
                           - cdex.expected_rate(adiabatic)))
    assert 0.25 < em_e / em_all < 0.40


def test_asimov_without_signal_has_zero_chi2(analysis, asimov):
    value, nu = twice_nll(analysis, asimov, jnp.zeros(3))
    # 1e-12: Asimov data equal the expectation; the profile leaves round-off
    assert float(value) == pytest.approx(0.0, abs=1e-12)
    assert float(nu["background"]) == pytest.approx(cdex.ASIMOV_BACKGROUND, rel=1e-10)


@pytest.fixture(scope="module")
def noisy(analysis):
    rng = np.random.default_rng(7)
    base = cdex.asimov_spectrum(analysis, (80.0, 0.0, 0.0))
    return dataclasses.replace(base, rate=base.rate + rng.normal(0, 1, base.n_bins)
                               * base.uncertainty)


@pytest.mark.parametrize("which", ["constant", "adiabatic"])
def test_measurement_equals_closed_form_pull_chi2(which, analysis, adiabatic, noisy):
    """Fixed B: the profiled measurement equals chi2_pull (004 Eq. 18 with the pulls
    minimised analytically) -- the equality required of the measurement constructor."""
    an = analysis if which == "constant" else adiabatic
    for mu in ([150.0, 40.0, 0.0], [0.0, 0.0, 0.0], [60.0, 200.0, 90.0]):
        value, _ = twice_nll(an, noisy, mu, background=1.7)
        closed = chi2_pull(noisy.rate, cdex.expected_rate(an, mu), 1.7, noisy.uncertainty,
                           cdex.pull_shapes(an, mu))
        # 1e-10 relative: chi^2 is quadratic in the pulls, so the damped Newton profile
        # reaches the analytic minimum to round-off
        assert float(value) == pytest.approx(float(closed), rel=1e-10)


def test_profiled_background_equals_brute_force_least_squares(analysis, noisy):
    mu = jnp.array([150.0, 40.0, 0.0])
    value, nu = twice_nll(analysis, noisy, mu)
    # brute force: least squares over (B, xi) of the stacked Eq. 18 residuals
    r_exp = np.asarray(cdex.expected_rate(analysis, mu))
    shapes = np.asarray(cdex.pull_shapes(analysis, mu))
    y = (noisy.rate - r_exp) / noisy.uncertainty
    design = np.column_stack([1.0 / noisy.uncertainty, (shapes / noisy.uncertainty).T])
    design = np.vstack([design, np.hstack([np.zeros((len(shapes), 1)), np.eye(len(shapes))])])
    target = np.concatenate([y, np.zeros(len(shapes))])
    sol, *_ = np.linalg.lstsq(design, target, rcond=None)
    brute = float(np.sum((design @ sol - target) ** 2))
    # 1e-9: two exact solutions of the same quadratic problem, round-off only
    assert float(value) == pytest.approx(brute, rel=1e-9)
    assert float(nu["background"]) == pytest.approx(sol[0], rel=1e-8)
    # closed form: B* = 1^T V^-1 y / 1^T V^-1 1 with V = diag(Delta^2) + C^T C, then
    # chi2_pull at B*; 1e-10 as in the fixed-B check
    cov = np.diag(noisy.uncertainty**2) + shapes.T @ shapes
    resid = noisy.rate - r_exp
    b_star = np.sum(np.linalg.solve(cov, resid)) / np.sum(np.linalg.solve(cov, np.ones_like(resid)))
    closed = chi2_pull(noisy.rate, r_exp, b_star, noisy.uncertainty, shapes)
    assert float(value) == pytest.approx(float(closed), rel=1e-10)
    # and the library's unprofiled Eq. 18 at the brute-force optimum gives the same
    unprofiled = chi2_pull_nuisance(noisy.rate, r_exp, sol[0], noisy.uncertainty, shapes,
                                    sol[1:])
    assert float(unprofiled) == pytest.approx(brute, rel=1e-9)


@pytest.mark.parametrize("flavour, mu_true", [
    ("mu_e", 250.0), pytest.param("mu_tau", 350.0, marks=pytest.mark.slow)])
def test_asimov_injection_is_recovered(analysis, flavour, mu_true):
    index = solar.FLAVOURS.index(flavour[3:])
    truth = np.zeros(3)
    truth[index] = mu_true
    data = cdex.asimov_spectrum(analysis, truth)
    # chi^2 at the truth vanishes (round-off), the fit finds it again
    assert float(twice_nll(analysis, data, truth)[0]) == pytest.approx(0.0, abs=1e-12)
    m = cdex.measurement(analysis, data)
    mu_hat, chi_min = best_fit(m, analysis.flavour_model(), flavour, upper=2 * mu_true)
    assert chi_min == pytest.approx(0.0, abs=1e-8)  # best-fit chi^2 within 1e-8
    # rtol 1e-4: chi^2 is flat (quadratic) at the minimum, so a 1e-10 chi^2 tolerance
    # pins mu only to ~sqrt(1e-10 / curvature)
    assert mu_hat == pytest.approx(mu_true, rel=1e-4)


def test_csv_chain_recovers_injected_moment(tmp_path, analysis):
    data = cdex.asimov_spectrum(analysis, (300.0, 0.0, 0.0), background=1.5)
    path = tmp_path / "user_cdex.csv"
    cdex.write_spectrum_csv(data, path)
    loaded = cdex.load_spectrum_csv(path)
    m = cdex.measurement(analysis, loaded)
    mu_hat, chi_min = best_fit(m, analysis.flavour_model(), "mu_e", upper=600.0)
    assert chi_min == pytest.approx(0.0, abs=1e-8)
    assert mu_hat == pytest.approx(300.0, rel=1e-4)  # as above
    assert float(twice_nll(analysis, loaded, [300.0, 0, 0])[1]["background"]) == \
        pytest.approx(1.5, rel=1e-9)
    bad = dataclasses.replace(loaded, edges_kevee=loaded.edges_kevee * 1.01)
    with pytest.raises(ValueError, match="bins differ"):
        cdex.measurement(analysis, bad)


# --------------------------------------------------------------------------------------
# limits and regions
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def limits(analysis, asimov):
    return flavour_limits(cdex.measurement(analysis, asimov), analysis.flavour_model(),
                          levels=(2.71, 4.61), upper=2.0e3)


def test_limits_follow_the_flavour_composition(limits):
    p = np.asarray(solar.flavour_composition(1 - solar.PAPER004_OSCILLATION.s12sq))
    # constant P_ee: chi^2 depends on P_ee mu_e^2 + P_emu mu_mu^2 + P_etau mu_tau^2 only, so
    # mu_alpha limits scale as 1 / sqrt(P_alpha); 1e-8 = the root-finder tolerance
    for flav, k in (("mu", 1), ("tau", 2)):
        ratio = limits[(f"mu_{flav}", 2.71)].value / limits[("mu_e", 2.71)].value
        assert ratio == pytest.approx(np.sqrt(p[0] / p[k]), rel=1e-8)
    # hence mu_mu is the weakest limit (P_emu = 0.195 < P_etau = 0.263 < P_ee = 0.542): paper
    # 004's mu_mu < 1.43 (5x below its mu_e < 7.88) contradicts its own Eqs. 8-10
    assert limits[("mu_mu", 2.71)].value > limits[("mu_tau", 2.71)].value > limits[("mu_e", 2.71)].value


def test_measurement_limit_agrees_with_closed_form_limit(analysis, asimov, limits):
    """The limit from the measurement vs a limit on the closed-form chi^2 (Eq. 18 with B and
    the pulls minimised by generalised least squares), found by a separate root finder."""
    def closed(m):
        mu = jnp.zeros(3).at[0].set(m)
        y = asimov.rate - cdex.expected_rate(analysis, mu)
        shapes = cdex.pull_shapes(analysis, mu)
        cov = jnp.diag(asimov.uncertainty**2) + shapes.T @ shapes
        ones = jnp.ones_like(y)
        b = (ones @ jnp.linalg.solve(cov, y)) / (ones @ jnp.linalg.solve(cov, ones))
        return chi2_pull(asimov.rate, cdex.expected_rate(analysis, mu), b, asimov.uncertainty,
                         shapes)

    ref = scalar_upper_limit(closed, 2.71, (0.0, 400.0))
    assert limits[("mu_e", 2.71)].value == pytest.approx(ref.value, rel=1e-8)  # Brent to 1e-10
    assert limits[("mu_e", 4.61)].value > limits[("mu_e", 2.71)].value


def test_limits_are_unreachable_at_paper_values(analysis, limits):
    # the CDEX-10 exposure cannot reach 7.88e-10 mu_B: even the zero-background Poisson floor
    # (2.30 events) needs mu_e ~ 6e-9 mu_B
    em = np.asarray((analysis.em * analysis.widths_kevee).sum(1)) * cdex.CDEX10_EXPOSURE_KG_DAY
    p_ee = float(np.asarray(analysis.channel.composition)[0, 0])
    events_at_paper = float(em.sum()) * p_ee * cdex.PAPER004_LIMITS["e"] ** 2
    assert events_at_paper < 0.1
    assert limits[("mu_e", 2.71)].value > 10 * cdex.PAPER004_LIMITS["e"]


@pytest.mark.slow
def test_limits_monotone_in_exposure(analysis):
    values = []
    for exposure in (50.0, 2000.0):
        data = cdex.asimov_spectrum(analysis, exposure_kg_day=exposure)
        lim = flavour_limits(cdex.measurement(analysis, data), analysis.flavour_model(),
                             upper=2.0e3)
        values.append(lim[("mu_e", 2.71)].value)
    assert values[0] > values[1]


@pytest.mark.slow
def test_region_contains_axis_limits(analysis, asimov, limits):
    grid = np.concatenate([[0.0], np.geomspace(1.0, 1000.0, 40)])
    m = cdex.measurement(analysis, asimov)
    region = flavour_region(m, analysis.flavour_model(), "mu_e", "mu_tau", x_grid=grid,
                            y_grid=grid)
    assert region.level == 4.61
    inside = region.delta <= region.level
    x_edge = grid[np.max(np.nonzero(inside[0])[0])]  # along mu_tau = 0
    # the region's extent along the axis brackets the Delta chi^2 = 4.61 one-parameter value
    next_x = grid[np.searchsorted(grid, x_edge) + 1]
    assert x_edge <= limits[("mu_e", 4.61)].value <= next_x
    with pytest.raises(ValueError, match="different parameters"):
        flavour_region(m, analysis.flavour_model(), "mu_e", "mu_e", x_grid=grid, y_grid=grid)
    with pytest.raises(KeyError, match="mu_x"):
        flavour_region(m, analysis.flavour_model(), "mu_x", "mu_e", x_grid=grid, y_grid=grid)


def test_bad_inputs(analysis):
    with pytest.raises(ValueError, match="strictly increasing"):
        cdex.setup_analysis([0.3, 0.2])
    with pytest.raises(ValueError, match="exposure_kg_day"):
        cdex.asimov_spectrum(analysis, exposure_kg_day=0.0)
    with pytest.raises(ValueError, match="background"):
        cdex.asimov_spectrum(analysis, background=-1.0)
    with pytest.raises(ValueError, match="uncertainty"):
        cdex.BinnedSpectrum([0.16, 0.26], [1.0], [-0.1])
    with pytest.raises(ValueError, match="one per bin"):
        cdex.BinnedSpectrum([0.16, 0.26], [1.0, 2.0], [0.1, 0.1])
    with pytest.raises(ValueError, match="20 rates"):
        cdex.measurement(analysis, (np.ones(3), np.ones(3)))
    with pytest.raises(ValueError, match="mu_e, mu_mu, mu_tau"):
        cdex.expected_rate(analysis, (1.0, 2.0))
