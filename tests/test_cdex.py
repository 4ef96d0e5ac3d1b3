"""CDEX-10 chain (cevns_jax.analyses.cdex10): CSV format, pull chi^2 of 004 Eq. 18 with a profiled flat
background, Asimov recovery of injected moments, limits and regions."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax import solar
from cevns_jax.analyses import cdex10 as cdex
from cevns_jax.inference.limits import upper_limit
from cevns_jax.likelihood import chi2_pull_nuisance


@pytest.fixture(scope="module")
def analysis():
    # 8B only keeps the template compilation short; hep adds ~1e-3 of the rate
    return cdex.setup_analysis(components=("b8",))


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
# chi^2 of Eq. 18
# --------------------------------------------------------------------------------------
def test_asimov_without_signal_has_zero_chi2(analysis, asimov):
    # 1e-12: Asimov data equal the expectation; the closed-form profile leaves round-off
    assert float(cdex.chi2(analysis, jnp.zeros(3), asimov)) == pytest.approx(0.0, abs=1e-12)
    assert float(cdex.profile_background(analysis, jnp.zeros(3), asimov)) == pytest.approx(
        cdex.ASIMOV_BACKGROUND, rel=1e-10)


def test_profiled_chi2_equals_brute_force_least_squares(analysis):
    rng = np.random.default_rng(7)
    mu = jnp.array([150.0, 40.0, 0.0])
    base = cdex.asimov_spectrum(analysis, (80.0, 0.0, 0.0))
    data = dataclasses.replace(base, rate=base.rate + rng.normal(0, 1, base.n_bins)
                               * base.uncertainty)
    value = float(cdex.chi2(analysis, mu, data))
    # brute force: least squares over (B, xi) of the stacked Eq. 18 residuals
    r_exp = np.asarray(cdex.expected_rate(analysis, mu))
    shapes = np.asarray(cdex._pull_shapes(analysis, mu))
    y = (data.rate - r_exp) / data.uncertainty
    design = np.column_stack([1.0 / data.uncertainty, (shapes / data.uncertainty).T])
    design = np.vstack([design, np.hstack([np.zeros((len(shapes), 1)), np.eye(len(shapes))])])
    target = np.concatenate([y, np.zeros(len(shapes))])
    sol, *_ = np.linalg.lstsq(design, target, rcond=None)
    brute = float(np.sum((design @ sol - target) ** 2))
    # 1e-9: two exact solutions of the same quadratic problem, round-off only
    assert value == pytest.approx(brute, rel=1e-9)
    # and the library's unprofiled Eq. 18 at the brute-force optimum gives the same
    unprofiled = chi2_pull_nuisance(data.rate, r_exp, sol[0], data.uncertainty, shapes, sol[1:])
    assert float(unprofiled) == pytest.approx(brute, rel=1e-9)


@pytest.mark.parametrize("flavour, mu_true", [("mu_e", 250.0), ("mu_mu", 400.0),
                                              ("mu_tau", 350.0)])
def test_asimov_injection_is_recovered(analysis, flavour, mu_true):
    index = solar.FLAVOURS.index(flavour[3:])
    truth = np.zeros(3)
    truth[index] = mu_true
    data = cdex.asimov_spectrum(analysis, truth)
    # chi^2 at the truth vanishes (round-off), the fit finds it again
    assert float(cdex.chi2(analysis, jnp.asarray(truth), data)) == pytest.approx(0.0, abs=1e-12)
    mu_hat, chi_min = cdex.best_fit(analysis, data, flavour, bracket=(0.0, 2 * mu_true))
    assert chi_min == pytest.approx(0.0, abs=1e-8)  # the brief: best-fit chi^2 within 1e-8
    # rtol 1e-4: chi^2 is flat (quadratic) at the minimum, so a 1e-10 chi^2 tolerance
    # pins mu only to ~sqrt(1e-10 / curvature)
    assert mu_hat == pytest.approx(mu_true, rel=1e-4)


def test_csv_chain_recovers_injected_moment(tmp_path, analysis):
    data = cdex.asimov_spectrum(analysis, (300.0, 0.0, 0.0), background=1.5)
    path = tmp_path / "user_cdex.csv"
    cdex.write_spectrum_csv(data, path)
    loaded = cdex.load_spectrum_csv(path)
    fresh = cdex.setup_analysis(loaded, components=("b8",))  # bins from the file
    mu_hat, chi_min = cdex.best_fit(fresh, loaded, "mu_e", bracket=(0.0, 600.0))
    assert chi_min == pytest.approx(0.0, abs=1e-8)
    assert mu_hat == pytest.approx(300.0, rel=1e-4)  # as above
    assert float(cdex.profile_background(fresh, jnp.array([300.0, 0, 0]), loaded)) == \
        pytest.approx(1.5, rel=1e-9)
    bad = dataclasses.replace(loaded, edges_kevee=loaded.edges_kevee * 1.01)
    with pytest.raises(ValueError, match="bins differ"):
        cdex.chi2(fresh, jnp.zeros(3), bad)


# --------------------------------------------------------------------------------------
# limits and regions
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def limits(analysis, asimov):
    return cdex.flavour_limits(analysis, asimov)


def test_limits_follow_the_flavour_composition(limits):
    p = np.asarray(solar.flavour_composition(1 - solar.PAPER004_OSCILLATION.s12sq))
    # constant P_ee: chi^2 depends on P_ee mu_e^2 + P_emu mu_mu^2 + P_etau mu_tau^2 only, so
    # mu_alpha limits scale as 1 / sqrt(P_alpha); 1e-8 = the root-finder tolerance
    for flav, k in (("mu", 1), ("tau", 2)):
        ratio = limits[(f"mu_{flav}", 2.71)].value / limits[("mu_e", 2.71)].value
        assert ratio == pytest.approx(np.sqrt(p[0] / p[k]), rel=1e-8)
    # hence mu_mu is the weakest limit (P_emu = 0.195 < P_etau = 0.263 < P_ee = 0.542): paper
    # 004's mu_mu < 1.43 (5x below its mu_e < 7.88) contradicts its own Eqs. 8-10
    value = {f: limits[(f, 2.71)].value for f in ("mu_e", "mu_mu", "mu_tau")}
    assert value["mu_mu"] > value["mu_tau"] > value["mu_e"]


def test_limit_helper_agrees_with_library_upper_limit(analysis, asimov, limits):
    ref = upper_limit(lambda m: cdex.chi2(analysis, jnp.zeros(3).at[0].set(m), asimov), 2.71,
                      (0.0, 400.0))
    assert limits[("mu_e", 2.71)].value == pytest.approx(ref.value, rel=1e-9)  # both Brent, 1e-13
    assert limits[("mu_e", 4.61)].value > limits[("mu_e", 2.71)].value


def test_limits_are_unreachable_at_paper_values(analysis, limits):
    # the CDEX-10 exposure cannot reach 7.88e-10 mu_B: even the zero-background Poisson floor
    # (2.30 events) needs mu_e ~ 6e-9 mu_B
    em = np.asarray((analysis.em * analysis.widths_kevee).sum(1)) * cdex.CDEX10_EXPOSURE_KG_DAY
    p_ee = float(np.asarray(analysis.channel.composition)[0, 0])
    events_at_paper = float(em.sum()) * p_ee * cdex.PAPER004_LIMITS["e"] ** 2
    assert events_at_paper < 0.1
    assert limits[("mu_e", 2.71)].value > 10 * cdex.PAPER004_LIMITS["e"]


def test_limits_monotone_in_exposure(analysis):
    values = []
    for exposure in (50.0, 205.4, 2000.0):
        data = cdex.asimov_spectrum(analysis, exposure_kg_day=exposure)
        values.append(cdex.flavour_limits(analysis, data, levels=(2.71,))[("mu_e", 2.71)].value)
    assert values[0] > values[1] > values[2]


def test_region_contains_axis_limits(analysis, asimov, limits):
    grid = np.concatenate([[0.0], np.geomspace(1.0, 1000.0, 40)])
    region = cdex.flavour_region(analysis, asimov, "mu_e", "mu_tau", x_grid=grid, y_grid=grid)
    assert region.level == 4.61
    inside = region.delta <= region.level
    x_edge = grid[np.max(np.nonzero(inside[0])[0])]  # along mu_tau = 0
    # the region's extent along the axis brackets the Delta chi^2 = 4.61 one-parameter value
    next_x = grid[np.searchsorted(grid, x_edge) + 1]
    assert x_edge <= limits[("mu_e", 4.61)].value <= next_x
    with pytest.raises(ValueError, match="different flavours"):
        cdex.flavour_region(analysis, asimov, "mu_e", "e", x_grid=grid, y_grid=grid)
    with pytest.raises(ValueError, match="unknown flavour"):
        cdex.flavour_region(analysis, asimov, "mu_x", "mu_e", x_grid=grid, y_grid=grid)


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
