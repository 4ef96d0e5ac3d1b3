"""Tests for cevns_jax.inference.bayes: the numpyro model of a shared Measurement, NUTS,
credible limits.

Default suite: model density checks without sampling (the log density is -twice_nll / 2 of
the shared measurement), one small NUTS run on a Poisson counting experiment with known
background whose posterior has a closed form (reused, thanks to the compile cache, by the
same-key, new-data-no-retrace and warning tests), summaries and I/O.
``-m slow``: CsI (Eq. 34) and a future reactor with full diagnostics, Asimov coverage, the
Eq. 35 nuisance marginal against quadrature, centered vs whitened, and the timing of the
full TMM posterior of a combination.
"""

import math
import warnings
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density
from scipy import stats

from cevns_jax import likelihood as L
from cevns_jax.inference import bayes as B
from cevns_jax.inference import profile_grid as pg
from cevns_jax.inference.bayes.io import load_result, save_result
from cevns_jax.inference.bayes.model import _PRIOR_CODES, _moduli_from_unit, _unit_from_moduli
from cevns_jax.inference.bayes.problem import _bounded, _mu2, _theta_from
from cevns_jax.likelihood.measurement import (Channel, Components, Measurement, Nuisance,
                                              profile)
from cevns_jax.moments import DEFAULT_OSCILLATION, pmns
from cevns_jax.plots.posterior import corner_plot


# ---------------------------------------------------------------------------- helpers
def _known_background(data, nu):
    """Expected counts E mu_e^2 + b, independent of the nuisances."""
    return Components(data["sm"], data["em"], data["background"])


#: Counting experiment with known background: n = 7 observed, b = 3.2, signal s = 2 mu_e^2.
N_OBS, BACKGROUND, EM, UPPER = 7.0, 3.2, 2.0, 4.0


def _counting(n_obs=N_OBS):
    """Poisson counts with known background, plus three nuisances the expectation ignores:
    a flat one on [-1, 3], a half-normal one (sigma 0.5, bounded at 0) and a fixed one."""
    channel = Channel(observed=jnp.asarray([n_obs]),
                      data={"sm": jnp.zeros((1, 1)), "em": jnp.full((1, 1), EM),
                            "background": jnp.asarray([BACKGROUND])},
                      name="count", beams=("nue",), expected_fn=_known_background)
    nuisances = (Nuisance("flat", 0.0, None, lower=-1.0, upper=3.0),
                 Nuisance("halfnormal", 0.0, 0.5, lower=0.0),
                 Nuisance("frozen", 0.2, 0.1, treatment="fixed"))
    return Measurement((channel,), nuisances, name="counting")


def _counting_problem(prior_kind="flat_in_square"):
    return B.build_problem([], "flavour", B.Prior(moduli=prior_kind, upper=UPPER),
                           measurements=[_counting()])


def _conjugate_quantile(p, n_obs=N_OBS):
    """Quantile of s under a flat prior on s in [0, E U^2]: t = s + b has the density
    t^n e^-t of Gamma(n + 1) truncated to [b, b + E U^2] (closed form, scipy)."""
    g = stats.gamma(n_obs + 1.0)
    lo, hi = g.cdf(BACKGROUND), g.cdf(BACKGROUND + EM * UPPER**2)
    return g.ppf(lo + p * (hi - lo)) - BACKGROUND


_SETTINGS = dict(num_samples=1000, num_warmup=500, num_chains=2)


@pytest.fixture(scope="module")
def toy_problem():
    return _counting_problem()


@pytest.fixture(scope="module")
def toy_result(toy_problem):
    return B.sample_posterior(toy_problem, jax.random.key(11), **_SETTINGS)


@pytest.fixture(scope="module")
def csi_measurement():
    return B.make_measurement("COHERENT-CsI:current")


@pytest.fixture(scope="module")
def conus_future():
    return B.make_measurement("CONUS:future")


@pytest.fixture(scope="module")
def csi_problem(csi_measurement):
    """Flavour model, box 100 (no reach scan): Eq. 34 with both nuisances marginalised."""
    return B.build_problem([], "flavour", B.Prior(upper=100.0), measurements=[csi_measurement])


# ---------------------------------------------------------------------------- measurements
def test_csi_measurement_is_the_shared_eq34(csi_measurement):
    m = csi_measurement
    assert isinstance(m, Measurement) and m.name == "COHERENT-CsI:current"
    (channel,) = m.channels
    assert float(channel.observed[0]) == 142.0 and channel.statistic == "gaussian"
    # paper 000 Eq. (34): variance N_meas + B_0n + 2 B_ss = 142 + 6 + 810
    assert float(channel.data["variance"][0]) == 958.0
    assert m.nuisance_names == ("COHERENT-CsI:current/signal", "COHERENT-CsI:current/background")
    assert [n.sigma for n in m.nuisances] == [0.28, 0.25]
    assert channel.beams == ("numu", "nue", "numubar")


def test_reactor_measurement_is_eq35_asimov_with_future_sigma(conus_future):
    m = conus_future
    (channel,) = m.channels
    n_sm = float(np.sum(channel.data["sm"]))
    # Asimov without moments: the observed count is the SM prediction, the printed
    # denominator (1 + sigma_stat) N_meas with sigma_stat = 0.1 (paper 000 below Eq. 35)
    np.testing.assert_allclose(float(channel.observed[0]), n_sm, rtol=1e-14)
    np.testing.assert_allclose(float(channel.data["variance"][0]), 1.1 * n_sm, rtol=1e-14)
    assert [n.sigma for n in m.nuisances] == [0.1]


def test_measurement_statistic_is_the_papers(csi_measurement):
    """The shared measurement's -2 ln L is Eq. 34 (likelihood.chi2_coherent_csi_nuisance, an
    independent closed form), and its profile is likelihood.chi2_coherent_csi."""
    m = csi_measurement
    mu2 = jnp.array([3.0, 5.0, 3.0]) * 100.0
    data = m.channels[0].data
    n = float(L.expected_counts(data["sm"][:, None], data["em"][:, None], mu2).sum())
    nu = {"COHERENT-CsI:current/signal": -0.1, "COHERENT-CsI:current/background": 0.2}
    # identical arithmetic up to summation order: round-off on chi^2 ~ 1-10
    np.testing.assert_allclose(float(m.twice_nll([mu2], nu)),
                               float(L.chi2_coherent_csi_nuisance(n, -0.1, 0.2)), rtol=1e-12)
    # damped Newton on a quadratic: converged to round-off
    np.testing.assert_allclose(float(profile(m, [mu2])[0]), float(L.chi2_coherent_csi(n)),
                               rtol=1e-10)


def test_model_log_density_is_minus_half_twice_nll(csi_problem, csi_measurement):
    """Centered nuisances (nu = sigma z for these unbounded, nominal-zero nuisances), flat
    priors: log p(theta, z) = -twice_nll / 2 + const, twice_nll from Eq. 34's closed form."""
    problem = replace(csi_problem, parameterization="centered")
    model, data = B.numpyro_model(problem)
    density = jax.jit(lambda p: log_density(model, (data,), {}, p)[0])
    sigma = np.array([0.28, 0.25])
    templates = csi_measurement.channels[0].data
    logp, chi2 = [], []
    for u, z in [(np.array([0.2, 0.3, 0.1]), np.array([-0.4, 0.2])),
                 (np.array([0.5, 0.1, 0.4]), np.array([0.7, -1.2]))]:
        logp.append(float(density({"moduli_unit": jnp.asarray(u),
                                    "nuisance_z": jnp.asarray(z)})))
        # flavour moments at a short baseline: mu2 = (mu_mu^2, mu_e^2, mu_mu^2)
        mu_e, mu_mu = 100.0 * u[0], 100.0 * u[1]
        mu2 = np.array([mu_mu**2, mu_e**2, mu_mu**2])
        n = float(np.sum(templates["sm"] + mu2 * templates["em"]))
        chi2.append(float(L.chi2_coherent_csi_nuisance(n, *(sigma * z))))
    # float64 round-off on numbers of order 10-100
    assert logp[0] - logp[1] == pytest.approx(-0.5 * (chi2[0] - chi2[1]), abs=1e-9)


def test_whitened_nuisances_are_exactly_standard_normal(csi_problem):
    """Eq. 34 is quadratic in (a1, a2): given theta, the whitened coordinate z is exactly
    N(0, 1) under the posterior, so log p(theta, z) differs by -(|z1|^2 - |z2|^2)/2."""
    model, data = B.numpyro_model(csi_problem)
    base = {"moduli_unit": jnp.array([0.3, 0.2, 0.5])}
    z1, z2 = jnp.array([0.4, -1.3]), jnp.array([-2.0, 0.7])
    density = jax.jit(lambda p: log_density(model, (data,), {}, p)[0])
    lp = [float(density({**base, "nuisance_z": z})) for z in (z1, z2)]
    # round-off of a 2x2 Cholesky and a chi^2 of order 1
    assert lp[0] - lp[1] == pytest.approx(-0.5 * float(z1 @ z1 - z2 @ z2), abs=1e-9)


def test_em_forms_reproduce_counts_and_reactor_null_direction(conus_future, csi_measurement):
    """Polarisation of the model's mu^2 gives the Hermitian EM form; the reactor form
    annihilates Lambda_mass = U^dagger e_e (paper 000 Eqs. 13-14)."""
    problem = B.build_problem([], "tmm", B.Prior(upper=10.0), measurements=[conus_future])
    (form,) = B.em_forms(problem)
    rng = np.random.default_rng(3)
    meas = problem.measurements[0]
    for _ in range(3):
        moduli, xi1, xi3 = rng.uniform(0, 3, 3), rng.uniform(0, 6), rng.uniform(0, 6)
        mu2 = _mu2(problem, meas, _theta_from(problem, {"moduli": moduli, "xi1": xi1,
                                                       "xi3": xi3}))
        direct = float(np.sum(np.asarray(meas.channels[0].data["em"]) * np.asarray(mu2)))
        lam = moduli * np.exp(1j * np.array([xi3, 0.0, xi1]))
        # exact algebra on numbers ~1e6: relative round-off
        np.testing.assert_allclose(np.vdot(lam, form @ lam).real, direct, rtol=1e-12)
    null = np.conj(np.asarray(pmns(DEFAULT_OSCILLATION))[0])
    assert abs(np.vdot(null, form @ null)) < 1e-12 * np.linalg.eigvalsh(form).max()
    # the reactor alone leaves a flat direction; CsI (three SNS beams) bounds every direction
    assert not _bounded([form])[0]
    csi = replace(problem, measurements=(csi_measurement,))
    assert _bounded(B.em_forms(csi))[0]


def test_inverse_cdf_priors_round_trip():
    prior_data = {"upper": jnp.asarray(5.0), "cutoff": jnp.asarray(1e-3)}
    u = np.array([0.01, 0.4, 0.97])
    for kind in B.PRIOR_KINDS:
        prior = B.Prior(moduli=kind, upper=5.0)
        x = _moduli_from_unit(jnp.asarray(u), {**prior_data,
                                               "kind": jnp.asarray(_PRIOR_CODES[kind])})
        np.testing.assert_allclose(_unit_from_moduli(np.asarray(x), prior), u, rtol=1e-12)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(moduli="jeffreys"), "jeffreys"),
    (dict(upper=-1.0), "-1.0"),
    (dict(lower_cutoff=0.0), "lower_cutoff"),
    (dict(auto_upper_factor=0.5), "0.5"),
])
def test_prior_errors_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        B.Prior(**kwargs)


def test_problem_errors_name_the_value(csi_measurement):
    with pytest.raises(ValueError, match="'axion'"):
        B.build_problem(["COHERENT-CsI:current"], "axion")
    with pytest.raises(ValueError, match="'mu_x'"):
        B.build_problem(["COHERENT-CsI:current"], "flavour", inject={"mu_x": 1.0})
    with pytest.raises(ValueError, match="-2"):
        B.build_problem(["COHERENT-CsI:current"], "tmm", inject={"Lambda1": -2.0})
    with pytest.raises(ValueError, match="'chi3'"):
        B.make_measurement("CONUS:current", statistic="chi3")
    with pytest.raises(ValueError, match="only defined for Eq. 34"):
        B.make_measurement("CONUS:current", data="measured")
    with pytest.raises(ValueError, match="sigma_a9"):
        B.make_measurement("COHERENT-CsI:current", options={"sigma_a9": 0.1})
    with pytest.raises(KeyError, match="NOPE"):
        B.build_problem(["NOPE:current"], "tmm")
    # an unconstrained nuisance needs finite bounds for a proper flat prior
    free = replace(csi_measurement, nuisances=(
        Nuisance("COHERENT-CsI:current/signal", 0.0, None),) + csi_measurement.nuisances[1:])
    with pytest.raises(ValueError, match="COHERENT-CsI:current/signal"):
        B.build_problem([], "flavour", B.Prior(upper=10.0), measurements=[free])


def test_sampler_errors_name_the_value(toy_problem):
    with pytest.raises(ValueError, match="num_chains.*0"):
        B.sample_posterior(toy_problem, 0, num_chains=0)
    with pytest.raises(ValueError, match="target_accept.*1.5"):
        B.sample_posterior(toy_problem, 0, target_accept=1.5)
    with pytest.raises(TypeError, match="key"):
        B.sample_posterior(toy_problem, "seed")


# ---------------------------------------------------------------------------- small NUTS run
def test_counting_posterior_matches_the_closed_form(toy_result):
    """Flat prior on the signal s = E mu_e^2 (flat_in_square on mu_e), known background:
    the posterior of s + b is a truncated Gamma(n + 1). The marginalised nuisances that the
    expectation ignores recover their priors (flat on [-1, 3]; half-normal, sigma 0.5); the
    fixed one is not sampled."""
    r = toy_result
    assert r.converged, r.problems
    assert r.diagnostics["divergences"] == 0
    assert r.nuisances == ("flat", "halfnormal")
    for p in (0.5, 0.9):
        lim = B.credible_upper_limits(r, p)["mu_e"]
        exact = math.sqrt(_conjugate_quantile(p) / EM)
        # 4 Monte Carlo errors of the quantile (mcse from the ESS of the quantile indicator)
        assert abs(lim["value"] - exact) < 4 * lim["mcse"], (p, lim, exact)
    for name, mean, sd in (("flat", 1.0, 4.0 / math.sqrt(12.0)),
                           ("halfnormal", 0.5 * math.sqrt(2 / math.pi),
                            0.5 * math.sqrt(1 - 2 / math.pi))):
        x = r.samples[name]
        ess = r.diagnostics["parameters"][name]["ess"]
        # 4 Monte Carlo standard errors of the mean (sd / sqrt(ESS)) and of the width
        assert abs(x.mean() - mean) < 4 * sd / math.sqrt(ess), name
        assert abs(x.std() - sd) < 4 * sd / math.sqrt(2 * ess), name
    assert r.samples["halfnormal"].min() >= 0.0
    assert -1.0 <= r.samples["flat"].min() and r.samples["flat"].max() <= 3.0


def test_new_data_reuses_the_compiled_model(toy_problem, toy_result):
    """A second posterior with new observed counts traces nothing (neither the numpyro model
    nor the start point's profiled -2 ln L) and follows the data."""
    traces = (B.TRACE_COUNT["model"], dict(pg.TRACE_COUNT))
    new = replace(toy_problem, measurements=(_counting(12.0),))
    again = B.sample_posterior(new, jax.random.key(11), **_SETTINGS)
    assert (B.TRACE_COUNT["model"], dict(pg.TRACE_COUNT)) == traces
    assert again.timing["compile_cached"]
    # the median follows the new count (closed form at n = 12), to 4 Monte Carlo errors
    lim = B.credible_upper_limits(again, 0.5)["mu_e"]
    assert abs(lim["value"] - math.sqrt(_conjugate_quantile(0.5, 12.0) / EM)) < 4 * lim["mcse"]


def test_same_key_same_samples(toy_problem, toy_result):
    again = B.sample_posterior(toy_problem, jax.random.key(11), **_SETTINGS)
    assert again.timing["compile_cached"]
    for name in toy_result.samples:
        np.testing.assert_array_equal(again.samples[name], toy_result.samples[name])
    other = B.sample_posterior(toy_problem, jax.random.key(12), **_SETTINGS)
    assert not np.array_equal(other.samples["mu_e"], toy_result.samples["mu_e"])


def test_failed_diagnostics_warn(toy_problem):
    with pytest.warns(B.ConvergenceWarning, match="ESS <"):
        r = B.sample_posterior(toy_problem, 5, min_ess=1e9, **_SETTINGS)
    assert not r.converged and any("ESS" in p for p in r.problems)


def test_prior_sensitivity_reuses_compilation(toy_problem, toy_result):
    """Priors are numbers in the model data: flat_in_square -> flat -> log_flat needs no
    recompilation; the unconstrained mu_mu follows its prior."""
    for kind in ("flat", "log_flat"):
        r = B.sample_posterior(replace(toy_problem, prior=B.Prior(moduli=kind, upper=UPPER)),
                               jax.random.key(11), **_SETTINGS)
        assert r.timing["compile_cached"] and r.converged, r.problems
    # log-flat on [1e-3, 4]: half of the prior mass of mu_mu lies below sqrt(1e-3 * 4);
    # 2000 draws with ESS > 200: 0.1 is over 3 binomial standard errors
    assert abs(np.mean(r.samples["mu_mu"] < math.sqrt(4e-3)) - 0.5) < 0.1


# ---------------------------------------------------------------------------- summaries
def test_credible_region_of_a_correlated_gaussian():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.6], [0.6, 2.0]])
    xy = rng.multivariate_normal([0.0, 0.0], cov, size=200_000)
    region = B.credible_region_2d(xy[:, 0], xy[:, 1], (0.9,), bins=80,
                                  range=[(-6, 6), (-6, 6)], smooth=0.0)
    # exact 90 % HPD of a 2-D Gaussian: ellipse of area 2 pi sqrt(det) (-ln 0.1)
    area = 2 * math.pi * math.sqrt(np.linalg.det(cov)) * math.log(10.0)
    # histogram of 2e5 draws on 0.15-wide bins: the boundary cells cost a few per cent
    assert region.area(0.9) == pytest.approx(area, rel=0.04)
    assert region.contains(0.0, 0.0) and not region.contains(4.0, -4.0)


def test_credible_upper_limit_and_mcse():
    rng = np.random.default_rng(1)
    x = np.abs(rng.standard_normal((4, 5000)))  # half-normal: 90 % quantile 1.6449
    result = B.PosteriorResult({"mu_e": x}, ("mu_e",), (), {"parameters": {}}, {}, True, (),
                               {}, {"prior": {"upper": 10.0}}, {})
    lim = B.credible_upper_limits(result)["mu_e"]
    # independent draws: the MC error estimate must cover the true quantile at 4 sigma
    assert abs(lim["value"] - 1.6448536) < 4 * lim["mcse"]
    assert 0.005 < lim["mcse"] < 0.05


def test_save_load_and_corner(toy_problem, toy_result, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    freq = {"single": toy_problem.single_limits}
    fig = corner_plot(toy_result, frequentist=freq)
    paths = save_result(toy_result, tmp_path, frequentist=freq, figures={"corner.png": fig})
    assert {p.name for p in paths} == {"posterior_samples.npz", "posterior.json", "corner.png"}
    back = load_result(tmp_path)
    for name, x in toy_result.samples.items():
        np.testing.assert_array_equal(back.samples[name], x)
    assert back.converged == toy_result.converged
    assert back.diagnostics["divergences"] == toy_result.diagnostics["divergences"]
    assert back.problem["prior"]["moduli"] == "flat_in_square"
    assert back.settings["frequentist"]["single"]["mu_e"] == pytest.approx(
        toy_problem.single_limits["mu_e"])
    labels = [ax.get_xlabel() for ax in fig.axes if ax.get_visible()]
    assert any(r"10^{-10}" in lab for lab in labels)


def test_nuisance_keys_and_labels():
    from cevns_jax.plots.posterior import parameter_label

    key = B.nuisance_key("COHERENT-CsI:current/signal")
    assert key == "COHERENT_CsI_current__signal"
    assert parameter_label(key) == "signal (COHERENT CsI current)"


def test_register_adds_posterior_subcommand():
    import argparse

    from cevns_jax.cli import posterior

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    posterior.register(sub)
    args = parser.parse_args(["posterior", "--experiments", "COHERENT-CsI:current",
                              "CONUS:future", "--model", "flavour", "--samples", "10"])
    assert args.func is posterior.run and args.samples == 10
    assert args.experiments == ["COHERENT-CsI:current", "CONUS:future"]


# ============================================================================ slow
def _report(label, result):
    d, t = result.diagnostics, result.timing
    print(f"\n{label}: max R-hat {d['max_r_hat']:.4f}, min ESS {d['min_ess']:.0f}, "
          f"min ESS/s {d['min_ess_per_s']:.0f} (sampling {t['sampling_s']:.1f} s, warmup "
          f"{t['warmup_s']:.1f} s, compile {t['compile_s']:.1f} s, total {t['total_s']:.1f} s),"
          f" divergences {d['divergences']}, mean steps {d['mean_num_steps']:.1f}")
    print(B.format_comparison(B.compare_limits(result)))


def _assert_acceptance(result):
    d = result.diagnostics
    assert result.converged, result.problems
    assert d["max_r_hat"] < 1.01 and d["divergences"] == 0
    assert d["min_ess"] > 400  # 100 per chain (Vehtari et al. 2021)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tmm", "flavour"])
def test_csi_current_eq34_diagnostics(model):
    problem = B.build_problem(["COHERENT-CsI:current"], model)
    result = B.sample_posterior(problem, jax.random.key(0))
    _report(f"COHERENT CsI current (Eq. 34), {model}", result)
    _assert_acceptance(result)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["flavour", "tmm"])
def test_future_reactor_eq35_diagnostics(model):
    problem = B.build_problem(["CONUS:future"], model)
    result = B.sample_posterior(problem, jax.random.key(1))
    _report(f"CONUS future (Eq. 35), {model}", result)
    _assert_acceptance(result)
    if model == "flavour":
        # only mu_e is seen by a reactor: mu_mu and mu_tau fill the box
        assert not result.prior_dominated["mu_e"]
        assert result.prior_dominated["mu_mu"] and result.prior_dominated["mu_tau"]


@pytest.mark.slow
def test_full_tmm_combination_under_five_minutes():
    """3 moduli, xi1, xi3, delta_CP and 3 nuisances; CsI (Eq. 34) + CONUS future (Eq. 35)."""
    import time

    t0 = time.perf_counter()
    problem = B.build_problem(["COHERENT-CsI:current", "CONUS:future"], "tmm",
                              sample_delta_cp=True)
    # the reactor's degenerate valley, bounded only by CsI, narrows as the moduli grow
    # (a funnel in the phases): a smaller step size removes the divergences. R-hat's own
    # noise on this funnel reaches 1.013 for xi3 with 4 x 1000 draws (keys 2-4 tried);
    # 4 x 2000 keep it at <= 1.005 for all three, within the 1.01 threshold
    result = B.sample_posterior(problem, jax.random.key(2), target_accept=0.99,
                                num_samples=2000)
    wall = time.perf_counter() - t0
    _report(f"full TMM posterior CsI + CONUS future, wall {wall:.1f} s", result)
    _assert_acceptance(result)
    assert wall < 300


@pytest.mark.slow
def test_eq35_nuisance_marginal_matches_quadrature():
    """Whitened nuisance sampling is exact: posterior of mu^2 (flat_in_square prior) with
    the Eq. 35 nuisance marginalised by 2-D quadrature vs NUTS."""
    from scipy import integrate

    sm, em, n_obs, s = 1000.0, 20.0, 1300.0, 0.1
    toy = B.custom_measurement("toy35", ("nue",), [[sm]], [[em]], statistic="eq35",
                               n_obs=n_obs, setup="future",
                               options={"sigma_stat": s, "sigma_sys": s})
    upper = 8.0
    problem = B.build_problem([], "flavour", B.Prior(moduli="flat_in_square", upper=upper),
                              measurements=[toy])
    result = B.sample_posterior(problem, jax.random.key(3), num_samples=2000)
    _assert_acceptance(result)
    v = (1 + s) * n_obs

    def post(m2, a):
        return math.exp(-0.5 * ((n_obs - (sm + m2 * em) * (1 + a)) ** 2 / v + (a / s) ** 2))

    norm = integrate.dblquad(post, -1.0, 1.0, 0.0, upper**2, epsabs=0, epsrel=1e-9)[0]
    mean = integrate.dblquad(lambda m2, e: m2 * post(m2, e), -1.0, 1.0, 0.0, upper**2,
                             epsabs=0, epsrel=1e-9)[0] / norm
    second = integrate.dblquad(lambda m2, e: m2**2 * post(m2, e), -1.0, 1.0, 0.0, upper**2,
                               epsabs=0, epsrel=1e-9)[0] / norm
    sd = math.sqrt(second - mean**2)
    x2 = result.samples["mu_e"] ** 2
    ess = result.diagnostics["parameters"]["mu_e"]["ess"]
    print(f"\nEq. 35 toy: quadrature mean {mean:.4f} sd {sd:.4f}; NUTS "
          f"{x2.mean():.4f} {x2.std():.4f} (ESS {ess:.0f})")
    # 4 MC standard errors (ESS of mu_e used for mu_e^2: same ranks, similar autocorrelation)
    assert abs(x2.mean() - mean) < 4 * sd / math.sqrt(ess)
    assert abs(x2.std() - sd) < 4 * sd / math.sqrt(2 * ess)


@pytest.mark.slow
def test_centered_and_whitened_agree_on_csi():
    """Two parameterisations of the same posterior (Eq. 34, flavour model)."""
    m = B.make_measurement("COHERENT-CsI:current")
    out = {}
    for par in ("whitened", "centered"):
        problem = B.build_problem([], "flavour", B.Prior(upper=80.0), measurements=[m],
                                  parameterization=par)
        out[par] = B.sample_posterior(problem, jax.random.key(4), num_samples=2000)
        _assert_acceptance(out[par])
    for name in ("mu_e", "mu_mu", "COHERENT_CsI_current__signal"):
        a, b = (B.credible_upper_limits(out[p])[name] for p in out)
        # two independent chains: 4 combined MC standard errors
        assert abs(a["value"] - b["value"]) < 4 * math.hypot(a["mcse"], b["mcse"]), name


@pytest.mark.slow
@pytest.mark.parametrize("model, truth", [
    ("flavour", {"mu_e": 8.0, "mu_mu": 12.0}),
    ("tmm", {"Lambda1": 6.0, "Lambda2": 9.0, "Lambda3": 4.0, "xi1": 1.0, "xi3": 2.5}),
])
def test_asimov_posterior_covers_the_truth(model, truth):
    """Asimov data of CsI future + CONUS future with injected moments. The truth must lie
    in the 90 % HPD region of the per-beam mu^2 the data constrain, and (flavour model,
    where each moment is identifiable) inside each central 90 % interval."""
    problem = B.build_problem(["COHERENT-CsI:future", "CONUS:future"], model, inject=truth)
    # TMM with a reactor: the degenerate valley narrows like a funnel (docs/bayes.md); a
    # smaller step size removes the one divergence of 4000 transitions seen at 0.95
    result = B.sample_posterior(problem, jax.random.key(5),
                                target_accept=0.99 if model == "tmm" else 0.95)
    _report(f"Asimov {model} {truth}", result)
    _assert_acceptance(result)
    derived = B.derived_mu2(problem, result)
    truth_theta = _theta_from(problem, truth)
    true_mu2 = {m.name: np.asarray(_mu2(problem, m, truth_theta))
                for m in problem.measurements}
    csi, reactor = "COHERENT-CsI:future", "CONUS:future"
    # SNS: numu and numubar share mu^2 (paper 000 Sect. 2.2); take (numu, nue)
    x = derived[csi][..., 0].ravel()
    y = derived[csi][..., 1].ravel()
    region = B.credible_region_2d(x, y, (0.9,), bins=40)
    assert region.contains(true_mu2[csi][0], true_mu2[csi][1], 0.9)
    r = derived[reactor][..., 0].ravel()
    lo, hi = np.quantile(r, [0.05, 0.95])
    assert lo < true_mu2[reactor][0] < hi
    if model == "flavour":
        for name in ("mu_e", "mu_mu"):
            lo, hi = np.quantile(result.flat(name), [0.05, 0.95])
            assert lo < truth[name] < hi, name


def _binned_csi_future():
    from cevns_jax.experiments import get_config

    cfg = get_config("COHERENT-CsI", "future")
    cfg["detector"]["bins"] = ["1 keVnr", "3 keVnr", "10 keVnr", "30 keVnr", "100 keVnr"]
    return cfg


@pytest.mark.slow
def test_poisson_binned_asimov_covers_the_truth():
    """Poisson statistic on a binned CsI future (4 recoil bins), flavour model, Asimov."""
    truth = {"mu_e": 20.0, "mu_mu": 10.0}
    problem = B.build_problem([_binned_csi_future()], "flavour", statistic="poisson",
                              inject=truth)
    result = B.sample_posterior(problem, jax.random.key(6))
    _report("Poisson, binned CsI future, Asimov", result)
    _assert_acceptance(result)
    for name, value in truth.items():
        lo, hi = np.quantile(result.flat(name), [0.05, 0.95])
        assert lo < value < hi, name


@pytest.mark.slow
def test_profiled_frequentist_limits_cover_single_ones():
    """Profiling over the other moduli and phases can only loosen a limit."""
    problem = B.build_problem(["COHERENT-CsI:current"], "tmm")
    single = B.frequentist_limits(problem, mode="single")
    profiled = B.frequentist_limits(problem, mode="profiled")
    print("\nsingle", single, "\nprofiled", profiled)
    for name in problem.moduli_names:
        # L-BFGS profile vs fixed zeros: equal or larger up to the optimiser tolerance
        assert profiled[name] >= single[name] * (1 - 1e-6)


def test_no_warnings_leak_from_a_converged_run(toy_problem):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = B.sample_posterior(toy_problem, jax.random.key(11), **_SETTINGS)
    assert r.converged
