"""fit_report against closed forms: a two-bin Poisson on/off problem with a Gaussian-
constrained background normalisation, and a linear Gaussian problem."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from cevns_jax.inference import fit_report as fr
from cevns_jax.likelihood.measurement import Channel, Components, Measurement, Nuisance, profile
from cevns_jax.likelihood.physics_model import EffectiveMoment

# signal region (bin 1) and control region (bin 2): mu_1 = s + b B1, mu_2 = b B2
B1, B2, SIGMA_B = 10.0, 35.0, 0.2


def _on_off(data, nu):
    """Signal s in bin 1 only; background b B in both bins."""
    return Components(nu["s"] * data["signal"][None, :], data["em"][None, :],
                      nu["b"] * data["background"])


def on_off(n1, n2, statistic="poisson", variance=None):
    data = {"signal": jnp.array([1.0, 0.0]), "em": jnp.array([0.5, 0.0]),
            "background": jnp.array([B1, B2])}
    if variance is not None:
        data["variance"] = jnp.asarray(variance)
    channel = Channel(observed=jnp.array([n1, n2], dtype=float), data=data, name="on_off",
                      beams=("nue",), expected_fn=_on_off, statistic=statistic)
    return Measurement((channel,), (Nuisance("s", 1.0, None, lower=0.0),
                                    Nuisance("b", 1.0, SIGMA_B, lower=0.0)), name="on_off")


def deviance(n, mu):
    """Baker-Cousins Poisson deviance of one bin, 2 (mu - n + n ln(n / mu))."""
    return 2.0 * (mu - n + n * math.log(n / mu))


def b_hat(n2):
    """Best b: the signal fits bin 1 exactly, so b solves d/db [dev_2(b B2) + ((b - 1)/s)^2]
    = 0, i.e. b^2 / s^2 + b (B2 - 1/s^2) - n2 = 0 (positive root)."""
    q = 1.0 / SIGMA_B**2
    return (-(B2 - q) + math.sqrt((B2 - q) ** 2 + 4.0 * q * n2)) / (2.0 * q)


def profile_b(b, n2):
    """-2 ln L with s profiled (s = n1 - b B1 >= 0): the control bin and the constraint."""
    return deviance(n2, b * B2) + ((b - 1.0) / SIGMA_B) ** 2


def profile_s(s, n1, n2):
    """-2 ln L at signal s, b minimised by scipy's bounded scalar search."""
    f = lambda b: (deviance(n1, s + b * B1) + deviance(n2, b * B2)  # noqa: E731
                   + ((b - 1.0) / SIGMA_B) ** 2)
    return optimize.minimize_scalar(f, bounds=(1e-6, 5.0), method="bounded",
                                    options={"xatol": 1e-13}).fun


N1, N2 = 30.0, 40.0


@pytest.fixture(scope="module")
def report():
    return fr.fit_report(on_off(N1, N2))


def test_best_fit_and_pull_match_the_closed_form(report):
    b = b_hat(N2)
    # Newton on a smooth 2-parameter problem converges to round-off: 1e-10 covers it
    assert report.nuisances["b"].best == pytest.approx(b, rel=1e-10)
    assert report.nuisances["s"].best == pytest.approx(N1 - b * B1, rel=1e-10)
    assert report.nuisances["b"].pull == pytest.approx((b - 1.0) / SIGMA_B, rel=1e-9)
    assert report.nuisances["s"].pull is None                      # unconstrained
    assert report.twice_nll == pytest.approx(profile_b(b, N2), abs=1e-10)
    assert (report.n_bins, report.n_observed) == (2, N1 + N2)


def test_hessian_sigma_matches_the_fisher_information(report):
    """cov = A^-1, A = [[1/n1, B1/n1], [B1/n1, B1^2/n1 + c]], c = n2/b^2 + 1/sigma_b^2 (the
    observed information of the two Poisson bins and the constraint at the best fit):
    sigma_b = c^-1/2, sigma_s = (n1 + B1^2/c)^1/2."""
    c = N2 / b_hat(N2) ** 2 + 1.0 / SIGMA_B**2
    # an exact Hessian by automatic differentiation, inverted in float64: 1e-10
    assert report.nuisances["b"].hessian_sigma == pytest.approx(c ** -0.5, rel=1e-10)
    assert report.nuisances["s"].hessian_sigma == pytest.approx(math.sqrt(N1 + B1**2 / c),
                                                                rel=1e-10)


def test_profile_intervals_match_the_analytic_profiles(report):
    """b: Delta of the closed-form profile (s = n1 - b B1) solved by Brent; s: b profiled by
    scipy. The ends are solved to |sqrt(Delta) - 1| <= 1e-8, i.e. to ~1e-8 sigma; the
    references to 1e-12: rel 1e-7 leaves room for both."""
    b = b_hat(N2)
    f_min = profile_b(b, N2)
    sigma_b = report.nuisances["b"].hessian_sigma
    expected_b = [optimize.brentq(lambda x: profile_b(x, N2) - f_min - 1.0, lo, hi, xtol=1e-14)
                  for lo, hi in ((b - 3 * sigma_b, b), (b, b + 3 * sigma_b))]
    assert report.nuisances["b"].interval == pytest.approx(expected_b, rel=1e-7)
    s = N1 - b * B1
    sigma_s = report.nuisances["s"].hessian_sigma
    expected_s = [optimize.brentq(lambda x: profile_s(x, N1, N2) - f_min - 1.0, lo, hi,
                                  xtol=1e-12) for lo, hi in ((s - 3 * sigma_s, s),
                                                             (s, s + 3 * sigma_s))]
    assert report.nuisances["s"].interval == pytest.approx(expected_s, rel=1e-7)
    # the Poisson profile is skewed: the upper end lies further out than the lower one
    lo, hi = report.nuisances["s"].interval
    assert hi - s > s - lo
    assert report.nuisances["s"].at_bound == (False, False)


def test_gaussian_linear_problem_gives_symmetric_intervals_equal_to_hessian():
    """chi^2 quadratic in (s, b): the profile is exactly a parabola of curvature 2/sigma^2,
    so the interval is best +- Hessian sigma (to the 1e-8 root tolerance)."""
    m = on_off(N1, N2, statistic="gaussian", variance=[N1, N2])
    r = fr.fit_report(m)
    for name in ("s", "b"):
        n = r.nuisances[name]
        assert n.interval == pytest.approx([n.best - n.hessian_sigma, n.best + n.hessian_sigma],
                                           rel=1e-7, abs=1e-9)


def test_interval_stops_at_a_bound():
    """Few events in the signal bin: the best s is 0 (its bound) and Delta(s = 0) = 0 < 1, so
    the lower end is the bound and is flagged."""
    r = fr.fit_report(on_off(5.0, N2))
    s = r.nuisances["s"]
    assert s.best == 0.0 and s.interval[0] == 0.0
    assert s.at_bound == (True, False)
    assert "[0|, " in r.table()                          # the table marks the end at the bound
    f_min = profile_s(0.0, 5.0, N2)
    upper = optimize.brentq(lambda x: profile_s(x, 5.0, N2) - f_min - 1.0, 0.0, 10.0,
                            xtol=1e-12)
    assert s.interval[1] == pytest.approx(upper, rel=1e-7)     # as in the interior test


def test_new_data_reuse_the_compiled_kernel(report):
    before = dict(fr.TRACE_COUNT)
    again = fr.fit_report(on_off(N1 + 7.0, N2 - 3.0))
    assert fr.TRACE_COUNT == before
    assert again.nuisances["b"].best == pytest.approx(b_hat(N2 - 3.0), rel=1e-10)


def test_moment_enters_through_the_physics_model():
    """At mu = 2 (mu2 = 4) bin 1 gains 4 x 0.5 events: the best fit equals that of
    measurement.profile at that mu2 (a different code path over the same likelihood)."""
    m = on_off(N1, N2)
    r = fr.fit_report(m, EffectiveMoment(), {"mu": 2.0}, intervals=False)
    value, nu = profile(m, [jnp.array([4.0])])
    assert r.twice_nll == pytest.approx(float(value), abs=1e-9)
    assert r.nuisances["s"].best == pytest.approx(float(nu["s"]), rel=1e-9)
    assert r.nuisances["s"].best == pytest.approx(N1 - 2.0 - b_hat(N2) * B1, rel=1e-9)
    assert r.nuisances["s"].interval is None and r.theta == {"mu": 2.0}


def test_fixed_nuisances_are_reported_at_their_value():
    m = on_off(N1, N2).with_treatment("fixed", ["b"])
    r = fr.fit_report(m)
    assert r.nuisances["b"].best == 1.0 and r.nuisances["b"].hessian_sigma is None
    assert r.nuisances["s"].best == pytest.approx(N1 - B1, rel=1e-10)
    assert r.as_dict()["nuisances"]["b"]["prior"]["treatment"] == "fixed"


def test_bad_arguments_are_named():
    m = on_off(N1, N2)
    with pytest.raises(ValueError, match="model and theta"):
        fr.fit_report(m, EffectiveMoment())
    with pytest.raises(KeyError, match="'c'"):
        fr.fit_report(m, starts=[{"c": 1.0}])
    with pytest.raises(ValueError, match="fixed nuisance"):
        fr.fit_report(m.with_treatment("fixed", ["b"]), starts=[{"b": 2.0}])


def test_holding_a_nuisance_reuses_the_kernel_and_matches_the_closed_form(report):
    """b held at 1: s fits bin 1 exactly, s = n1 - B1, and Delta(s) = dev_1(s + B1) (the
    control bin and the constraint do not move): its Delta = 1 ends by Brent."""
    before = dict(fr.TRACE_COUNT)
    r = fr.fit_report(on_off(N1, N2), hold={"b": 1.0})
    assert fr.TRACE_COUNT == before                        # same structure, held at run time
    s = r.nuisances["s"]
    assert s.best == pytest.approx(N1 - B1, rel=1e-10)
    assert r.nuisances["b"].best == 1.0 and r.nuisances["b"].prior["treatment"] == "held"
    assert s.hessian_sigma == pytest.approx(math.sqrt(N1), rel=1e-10)   # 1 / (1/n1)^1/2
    expected = [optimize.brentq(lambda x: deviance(N1, x + B1) - 1.0, lo, hi, xtol=1e-14)
                for lo, hi in ((N1 - B1 - 3 * math.sqrt(N1), N1 - B1),
                               (N1 - B1, N1 - B1 + 3 * math.sqrt(N1)))]
    assert s.interval == pytest.approx(expected, rel=1e-7)             # root tolerance 1e-8
    with pytest.raises(KeyError, match="'c'"):
        fr.fit_report(on_off(N1, N2), hold={"c": 1.0})
    with pytest.raises(ValueError, match="outside the bounds"):
        fr.fit_report(on_off(N1, N2), hold={"b": -1.0})


def test_scan_gives_the_profile_of_s(report):
    """scan over s held at a grid (b profiled) against scipy's profile of the same -2 ln L;
    the kernel is the one of fit_report (no new trace)."""
    before = dict(fr.TRACE_COUNT)
    grid = np.array([5.0, 12.0, 20.0, 28.0])
    values, nuisances = fr.scan(on_off(N1, N2), hold={"s": grid}, start=report.best)
    assert fr.TRACE_COUNT == before
    expected = [profile_s(x, N1, N2) for x in grid]
    # Newton to round-off vs scipy's bounded search to xatol 1e-13 on a smooth function
    assert values == pytest.approx(expected, abs=1e-9)
    assert np.array_equal(nuisances["s"], grid)
    # mu = 2 adds mu^2 x 0.5 = 2 events to bin 1, which the free s absorbs exactly
    mu_values, at_mu = fr.scan(on_off(N1, N2), EffectiveMoment(), {"mu": [0.0, 2.0]})
    assert mu_values == pytest.approx([report.twice_nll] * 2, abs=1e-9)
    assert at_mu["s"] == pytest.approx(report.nuisances["s"].best - np.array([0.0, 2.0]),
                                       rel=1e-9)
