"""Tests for cevns_jax.inference.bayes (issue 6): numpyro models, NUTS, credible limits.

Default suite (< 60 s on the 2-core CI machine): model structure and density checks without
sampling, one small NUTS run on a Gaussian toy with an analytic posterior (reused, thanks to
the compile cache, by the same-key and warning tests), summaries and I/O.
``-m slow``: CsI (Eq. 34) and a future reactor with full diagnostics, Asimov coverage, the
Eq. 35 nuisance marginal against quadrature, centered vs whitened, and the timing of the
full TMM posterior of a combination.
"""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density

from cevns_jax import likelihood as L
from cevns_jax.inference import bayes as B
from cevns_jax.inference.bayes.io import load_result, save_result
from cevns_jax.inference.bayes.model import _PRIOR_CODES, _moduli_from_unit, _unit_from_moduli
from cevns_jax.inference.bayes.problem import _mu2, _theta_from
from cevns_jax.moments import DEFAULT_OSCILLATION, pmns
from cevns_jax.plots.posterior import corner_plot


# ---------------------------------------------------------------------------- helpers
def _toy_measurement(n_obs=140.0, sigma=5.0):
    """One nu_e beam: N = 100 + 10 mu_e^2, Gaussian sigma 5 -> mu_e^2 ~ N(4, 0.5^2)."""
    return B.custom_measurement("toy", ("nue",), [[100.0]], [[10.0]], statistic="gaussian",
                                n_obs=n_obs, options={"sigma": sigma})


def _toy_problem(prior_kind="flat_in_square", upper=4.0):
    return B.build_problem([], "flavour", B.Prior(moduli=prior_kind, upper=upper),
                           measurements=[_toy_measurement()])


_TOY_SETTINGS = dict(num_samples=500, num_warmup=500, num_chains=2)


@pytest.fixture(scope="module")
def toy_problem():
    return _toy_problem()


@pytest.fixture(scope="module")
def toy_result(toy_problem):
    return B.sample_posterior(toy_problem, jax.random.key(11), **_TOY_SETTINGS)


@pytest.fixture(scope="module")
def csi_measurement():
    return B.make_measurement("COHERENT-CsI:current")


# ---------------------------------------------------------------------------- measurements
def test_csi_measurement_uses_eq34_with_measured_counts(csi_measurement):
    m = csi_measurement
    assert m.statistic == "eq34" and m.data == "measured"
    assert float(m.n_obs) == 142.0
    assert m.nuisance_names == ("a1", "a2") and m.nuisance_sigmas == (0.28, 0.25)
    assert m.flavours == ("numu", "nue", "numubar")


def test_reactor_measurement_is_eq35_asimov_with_future_sigma():
    m = B.make_measurement("CONUS:future")
    assert m.statistic == "eq35" and m.data == "asimov"
    assert m.options["sigma_stat"] == 0.1 and m.options["sigma_sys"] == 0.1
    # Asimov without moments: the observed count is the SM prediction
    np.testing.assert_allclose(float(m.n_obs), m.sm.sum(), rtol=1e-14)


def test_measurement_chi2_is_the_papers(csi_measurement):
    """Same physics: the model's chi^2 is likelihood.chi2_coherent_csi_nuisance of the
    expected counts, and profiling it gives likelihood.chi2_coherent_csi."""
    m = csi_measurement
    mu2 = jnp.array([3.0, 5.0, 3.0]) * 100.0
    a = jnp.array([-0.1, 0.2])
    n = float(L.expected_counts(m.sm, m.em, mu2).sum())
    # identical function calls: exact equality up to summation order
    np.testing.assert_allclose(float(B.measurement_chi2(m, mu2, a)),
                               float(L.chi2_coherent_csi_nuisance(n, -0.1, 0.2)), rtol=1e-13)
    np.testing.assert_allclose(float(B.measurement_chi2_profiled(m, mu2)),
                               float(L.chi2_coherent_csi(n)), rtol=1e-13)
    a_star = B.nuisance_mode(m, mu2)
    np.testing.assert_allclose(float(B.measurement_chi2(m, mu2, a_star)),
                               float(L.chi2_coherent_csi(n)), rtol=1e-12)


def _binned_csi_future():
    from cevns_jax.experiments import get_config

    cfg = get_config("COHERENT-CsI", "future")
    cfg["detector"]["bins"] = ["1 keVnr", "3 keVnr", "10 keVnr", "30 keVnr", "100 keVnr"]
    return cfg


def test_poisson_profile_matches_lbfgs():
    """The Poisson normalisation profile (fixed Newton steps) against fit.profile_nuisances."""
    from cevns_jax.inference.fit import profile_nuisances

    m = B.make_measurement(_binned_csi_future(), statistic="poisson",
                           data=np.array([3.0e4, 4.5e4, 2.1e4, 500.0]))
    mu2 = jnp.array([40.0, 90.0, 40.0]) ** 2
    newton = float(B.measurement_chi2_profiled(m, mu2))
    lbfgs = profile_nuisances(lambda _, a: B.measurement_chi2(m, mu2, a), 0.0, jnp.zeros(1),
                              gtol=1e-9, ftol=1e-15)
    assert bool(lbfgs.converged)
    # both at the minimum of a smooth convex function of one variable: chi^2 ~ 1e2-1e3
    # agrees to round-off of the deviance sum
    assert newton == pytest.approx(float(lbfgs.value), rel=1e-10, abs=1e-8)
    np.testing.assert_allclose(B.nuisance_mode(m, mu2), lbfgs.nuisances, atol=1e-7)


def test_model_log_density_is_minus_half_chi2(csi_measurement):
    """Gaussian nuisances, centred: log p(theta, a) = -chi2_paper / 2 + const (flat priors)."""
    prior = B.Prior(upper=100.0, nuisance="gaussian")
    problem = B.build_problem([], "tmm", prior, measurements=[csi_measurement],
                              parameterization="centered")
    model, data = B.numpyro_model(problem)
    points = [(np.array([0.2, 0.3, 0.1]), 0.3, 1.2, np.array([-0.1, 0.05])),
              (np.array([0.5, 0.1, 0.4]), 2.0, 4.0, np.array([0.2, -0.3]))]
    density = jax.jit(lambda p: log_density(model, (data,), {}, p)[0])
    logp, chi2 = [], []
    for u, xi1, xi3, a in points:
        params = {"moduli_unit": jnp.asarray(u), "eta__COHERENT_CsI_current": jnp.asarray(a),
                  "xi1_vec": jnp.array([math.cos(xi1), math.sin(xi1)]),
                  "xi3_vec": jnp.array([math.cos(xi3), math.sin(xi3)])}
        logp.append(float(density(params)))
        theta = _theta_from(problem, {"moduli": 100.0 * u, "xi1": xi1, "xi3": xi3})
        chi2.append(float(B.chi2_unprofiled(problem, theta, [a])))
    # float64 round-off on numbers of order 10
    assert logp[0] - logp[1] == pytest.approx(-0.5 * (chi2[0] - chi2[1]), abs=1e-10)


def test_whitened_nuisances_are_exactly_standard_normal(csi_measurement):
    """Eq. 34 is quadratic in (a1, a2): given theta, the whitened coordinate z is exactly
    N(0, 1) under the posterior, so log p(theta, z) differs by -(|z1|^2 - |z2|^2)/2."""
    problem = B.build_problem([], "flavour", B.Prior(upper=100.0, nuisance="gaussian"),
                              measurements=[csi_measurement])
    model, data = B.numpyro_model(problem)
    base = {"moduli_unit": jnp.array([0.3, 0.2, 0.5])}
    z1, z2 = jnp.array([0.4, -1.3]), jnp.array([-2.0, 0.7])
    density = jax.jit(lambda p: log_density(model, (data,), {}, p)[0])
    lp = [float(density({**base, "z__COHERENT_CsI_current": z})) for z in (z1, z2)]
    # round-off of a 2x2 Cholesky and a chi^2 of order 1
    assert lp[0] - lp[1] == pytest.approx(-0.5 * float(z1 @ z1 - z2 @ z2), abs=1e-9)


def test_em_forms_reproduce_counts_and_reactor_null_direction():
    """Polarisation of the model's mu^2 gives the Hermitian EM form; the reactor form
    annihilates Lambda_mass = U^dagger e_e (paper 000 Eqs. 13-14)."""
    problem = B.build_problem(["CONUS:future"], "tmm")
    (form,) = B.em_forms(problem)
    rng = np.random.default_rng(3)
    meas = problem.measurements[0]
    for _ in range(3):
        moduli, xi1, xi3 = rng.uniform(0, 3, 3), rng.uniform(0, 6), rng.uniform(0, 6)
        mu2 = _mu2(problem, meas, _theta_from(problem, {"moduli": moduli, "xi1": xi1,
                                                       "xi3": xi3}))
        direct = float(np.sum(meas.em.sum(axis=1) * np.asarray(mu2)))
        lam = moduli * np.exp(1j * np.array([xi3, 0.0, xi1]))
        # exact algebra on numbers ~1e6: relative round-off
        np.testing.assert_allclose(np.vdot(lam, form @ lam).real, direct, rtol=1e-12)
    null = np.conj(np.asarray(pmns(DEFAULT_OSCILLATION))[0])
    assert abs(np.vdot(null, form @ null)) < 1e-12 * np.linalg.eigvalsh(form).max()
    assert not problem.reach["bounded"]  # the reactor alone leaves a flat direction
    assert B.build_problem(["COHERENT-CsI:current"], "tmm").reach["bounded"]


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
    (dict(nuisance="student"), "student"),
    (dict(auto_upper_factor=0.5), "0.5"),
])
def test_prior_errors_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        B.Prior(**kwargs)


def test_problem_errors_name_the_value():
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


def test_sampler_errors_name_the_value(toy_problem):
    with pytest.raises(ValueError, match="num_chains.*0"):
        B.sample_posterior(toy_problem, 0, num_chains=0)
    with pytest.raises(ValueError, match="target_accept.*1.5"):
        B.sample_posterior(toy_problem, 0, target_accept=1.5)
    with pytest.raises(TypeError, match="key"):
        B.sample_posterior(toy_problem, "seed")


# ---------------------------------------------------------------------------- small NUTS run
def test_gaussian_toy_matches_analytic_posterior(toy_result):
    """flat_in_square prior: mu_e^2 ~ N(4, 0.5^2) (truncation 8 sigma away), and the
    unconstrained mu_mu^2, mu_tau^2 ~ Uniform(0, 16) (prior recovered)."""
    r = toy_result
    assert r.converged, r.problems
    assert r.diagnostics["divergences"] == 0
    checks = {"mu_e": (4.0, 0.5), "mu_mu": (8.0, 16.0 / math.sqrt(12.0)),
              "mu_tau": (8.0, 16.0 / math.sqrt(12.0))}
    for name, (mean, sd) in checks.items():
        x2 = r.samples[name] ** 2
        from numpyro.diagnostics import effective_sample_size
        ess = float(effective_sample_size(x2))
        # 4 Monte Carlo standard errors: sd / sqrt(ESS) for the mean, sd / sqrt(2 ESS) for
        # the width (Gaussian approximation of the sampling distribution of the s.d.)
        assert abs(x2.mean() - mean) < 4 * sd / math.sqrt(ess), name
        assert abs(x2.std() - sd) < 4 * sd / math.sqrt(2 * ess), name


def test_same_key_same_samples(toy_problem, toy_result):
    again = B.sample_posterior(toy_problem, jax.random.key(11), **_TOY_SETTINGS)
    assert again.timing["compile_cached"]
    for name in toy_result.samples:
        np.testing.assert_array_equal(again.samples[name], toy_result.samples[name])
    other = B.sample_posterior(toy_problem, jax.random.key(12), **_TOY_SETTINGS)
    assert not np.array_equal(other.samples["mu_e"], toy_result.samples["mu_e"])


def test_failed_diagnostics_warn(toy_problem):
    with pytest.warns(B.ConvergenceWarning, match="ESS <"):
        r = B.sample_posterior(toy_problem, 5, min_ess=1e9, **_TOY_SETTINGS)
    assert not r.converged and any("ESS" in p for p in r.problems)


def test_prior_sensitivity_reuses_compilation(toy_problem, toy_result):
    """Priors are numbers in the model data: switching flat_in_square -> flat -> log_flat
    needs no recompilation, and the posterior of the constrained mu_e barely moves while
    the unconstrained mu_mu follows its prior."""
    from dataclasses import replace

    for kind in ("flat", "log_flat"):
        r = B.sample_posterior(replace(toy_problem, prior=B.Prior(moduli=kind, upper=4.0)),
                               jax.random.key(11), **_TOY_SETTINGS)
        assert r.timing["compile_cached"] and r.converged, r.problems
        # mu_e = 2 +- 0.125: the prior changes its density by < 10 % across +-3 sd
        assert abs(np.median(r.samples["mu_e"]) - 2.0) < 0.05
    # log-flat on [1e-3, 4]: half of the prior mass of mu_mu lies below sqrt(1e-3 * 4)
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
    # log-normal nuisances: the posterior is bounded by the data, not by the box
    assert not any(result.prior_dominated[n] for n in problem.moduli_names[:2])


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
    # (a funnel in the phases): a smaller step size removes the divergences
    result = B.sample_posterior(problem, jax.random.key(2), target_accept=0.99)
    wall = time.perf_counter() - t0
    _report(f"full TMM posterior CsI + CONUS future, wall {wall:.1f} s", result)
    _assert_acceptance(result)
    assert wall < 300


@pytest.mark.slow
@pytest.mark.parametrize("nuisance", ["gaussian", "lognormal"])
def test_eq35_nuisance_marginal_matches_quadrature(nuisance):
    """Whitened nuisance sampling is exact: posterior of mu^2 (flat_in_square prior) with
    the Eq. 35 nuisance marginalised by 2-D quadrature vs NUTS."""
    from scipy import integrate

    sm, em, n_obs, s = 1000.0, 20.0, 1300.0, 0.1
    toy = B.custom_measurement("toy35", ("nue",), [[sm]], [[em]], statistic="eq35",
                               n_obs=n_obs, setup="future",
                               options={"sigma_stat": s, "sigma_sys": s})
    upper = 8.0
    problem = B.build_problem([], "flavour", B.Prior(moduli="flat_in_square", upper=upper,
                                                     nuisance=nuisance), measurements=[toy])
    result = B.sample_posterior(problem, jax.random.key(3), num_samples=2000)
    _assert_acceptance(result)
    v = (1 + s) * n_obs

    def post(m2, eta):
        a = eta if nuisance == "gaussian" else math.expm1(eta)
        return math.exp(-0.5 * ((n_obs - (sm + m2 * em) * (1 + a)) ** 2 / v + (eta / s) ** 2))

    norm = integrate.dblquad(post, -1.0, 1.0, 0.0, upper**2, epsabs=0, epsrel=1e-9)[0]
    mean = integrate.dblquad(lambda m2, e: m2 * post(m2, e), -1.0, 1.0, 0.0, upper**2,
                             epsabs=0, epsrel=1e-9)[0] / norm
    second = integrate.dblquad(lambda m2, e: m2**2 * post(m2, e), -1.0, 1.0, 0.0, upper**2,
                               epsabs=0, epsrel=1e-9)[0] / norm
    sd = math.sqrt(second - mean**2)
    x2 = result.samples["mu_e"] ** 2
    ess = result.diagnostics["parameters"]["mu_e"]["ess"]
    print(f"\nEq. 35 toy ({nuisance}): quadrature mean {mean:.4f} sd {sd:.4f}; NUTS "
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
    for name in ("mu_e", "mu_mu", "a1__COHERENT_CsI_current"):
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
    result = B.sample_posterior(problem, jax.random.key(5))
    _report(f"Asimov {model} {truth}", result)
    _assert_acceptance(result)
    derived = B.derived_mu2(problem, result)
    truth_theta = _theta_from(problem, truth)
    true_mu2 = {m.label: np.asarray(_mu2(problem, m, truth_theta))
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
        r = B.sample_posterior(toy_problem, jax.random.key(11), **_TOY_SETTINGS)
    assert r.converged
