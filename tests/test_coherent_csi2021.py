"""COHERENT CsI 2021: release loader checks, detector response against scipy, the Measurement
(priors, gradients, profiling) and the reproduction of PRL 129, 081801 (2022)."""

import math
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from cevns_jax.analyses import coherent_csi2021 as A
from cevns_jax.datasets import coherent_csi2021 as D
from cevns_jax.datasets._io import _data_file
from cevns_jax.detector_response import csi as R
from cevns_jax.likelihood.physics_model import TransitionMoments
from cevns_jax.results import coherent_csi as results
from cevns_jax.sources import sns_timing

PREFIX = A.PREFIX


def _copy(tmp_path, name):
    target = tmp_path / name
    shutil.copy(str(_data_file("coherent_csi2021", name)), target)
    target.chmod(0o644)
    return target


@pytest.fixture(scope="module")
def measurement():
    return A.build("cevns")


# ---- loader ---------------------------------------------------------------------------------
def test_event_counts_match_release():
    for window, (total, roi) in {"C": (5142, 1578), "AC": (4890, 1295)}.items():
        events = D.load_events(window)
        assert events.shape == (total, 2)
        assert int(np.sum((events[:, 0] < 60) & (events[:, 1] < 6))) == roi


def test_truncated_event_file_rejected(tmp_path):
    path = _copy(tmp_path, "csi2021_events_beamOn_C.csv")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-25]) + "\n")
    with pytest.raises(ValueError, match=r"csi2021_events_beamOn_C\.csv.*5117 events"):
        D.load_events("C", path)


def test_malformed_rows_rejected(tmp_path):
    path = _copy(tmp_path, "csi2021_events_beamOn_AC.csv")
    path.write_text(path.read_text().replace("12.1995,4.41", "12.1995;4.41", 1))
    with pytest.raises(ValueError, match="beamOn_AC.csv.*1 columns"):
        D.load_events("AC", path)
    pdf = _copy(tmp_path, "csi2021_brn_PE_pdf.csv")
    pdf.write_text(pdf.read_text().replace("7.5,0.00291701", "7.5,0.291701", 1))
    with pytest.raises(ValueError, match="brn_PE_pdf.csv.*sums to"):
        D.load_neutron_pdf("brn", "PE", pdf)
    coeff = _copy(tmp_path, "csi2021_efficiency_coefficients.txt")
    coeff.write_text(coeff.read_text().replace("1.297  0.286592 11.8832 -0.31028", ""))
    with pytest.raises(ValueError, match="efficiency_coefficients.txt.*2 coefficient sets"):
        D.load_efficiency_coefficients(coeff)


def test_efficiency_sets_are_ordered_and_minus_is_third():
    eff = D.load_efficiency_coefficients()
    # the threshold c of the -1 sigma set lies as far above the nominal as the +1 sigma one
    # lies below (1.0186 vs 1.0185 PE); 1e-3 PE is the print precision of the release
    assert abs((eff["minus"][2] - eff["nominal"][2]) - (eff["nominal"][2] - eff["plus"][2])) < 1e-3


# ---- response -------------------------------------------------------------------------------
def test_interpolation_through_released_sets():
    qf = D.load_scintillation_coefficients()
    for z, key in ((1.0, "pc0_plus"), (-1.0, "pc0_minus"), (0.0, "nominal")):
        got = R.interpolate_sets(qf["nominal"], qf["pc0_plus"], qf["pc0_minus"], z)
        np.testing.assert_allclose(got, qf[key], rtol=1e-14)   # exact up to round-off


def test_pe_response_against_scipy_gamma():
    qf = D.load_scintillation_coefficients()["nominal"]
    eff = D.load_efficiency_coefficients()["nominal"]
    recoil = np.array([0.005, 0.012, 0.025])
    edges = np.arange(0.0, 61.0, 4.0)
    matrix = np.asarray(R.pe_response_matrix(jnp.asarray(recoil), jnp.asarray(qf),
                                              jnp.asarray(eff), edges))
    for j, t in enumerate(recoil):
        eee = 1e3 * (qf[0] * t + qf[1] * t**2 + qf[2] * t**3 + qf[3] * t**4)
        shape, mean = 1 + 9.56 * eee, 13.35 * eee
        law = stats.gamma(shape, scale=mean / shape)
        for i in range(len(edges) - 1):
            value, _ = integrate.quad(
                lambda x: law.pdf(x) * max(eff[0] / (1 + math.exp(-eff[1] * (x - eff[2]))) + eff[3], 0),
                edges[i], edges[i + 1], points=[7.0705], epsabs=1e-13, limit=200)
            # 16 Gauss-Legendre nodes per 4-PE bin, the efficiency kink an end point:
            # smooth integrands, agreement to ~1e-6
            assert matrix[i, j] == pytest.approx(value, rel=1e-5, abs=1e-12)
    # without efficiency (a = 0, d = 1) the Gamma law integrates to 1 over 0-400 PE
    unit = np.asarray(R.pe_response_matrix(jnp.asarray(recoil), jnp.asarray(qf),
                                            jnp.asarray([0.0, 1.0, 0.0, 1.0]), np.arange(0, 401.0, 4)))
    # the x^(k-1) rise at the origin (k = 4.7 at 5 keVnr) limits the first bin to ~1e-7
    np.testing.assert_allclose(unit.sum(0), 1.0, rtol=1e-6)


def test_time_bins_against_sns_timing():
    edges = np.round(np.arange(0.0, 2.001, 0.01), 10)
    got = np.asarray(R.time_bin_probabilities(edges, "delayed_nue", 0.57, 0.157))
    plain = np.asarray(sns_timing.arrival_bin_probabilities(edges, "delayed_nue", 0.57, 0.157))
    centres = 0.5 * (edges[1:] + edges[:-1])
    eff = np.where(centres < 0.52, 1.0, np.exp(-0.0494 * (centres - 0.52)))
    np.testing.assert_allclose(got, plain * eff, rtol=1e-12, atol=1e-15)  # same formula


def test_pot_trace_refits_from_nin_pdf():
    """The POT mean/width are the least-squares fit of a prompt + delayed mixture to the
    released NIN t_rec shape; refitting here must give them back to 2 ns."""
    from scipy.optimize import least_squares
    t, shape = D.load_neutron_pdf("nin", "trec")
    p = shape / shape.sum()
    edges = np.append(t - 0.005, t[-1] + 0.005)

    def residual(x):
        pp = np.asarray(sns_timing.arrival_bin_probabilities(edges, "prompt", x[0], x[1]))
        pd = np.asarray(sns_timing.arrival_bin_probabilities(edges, "delayed_nue", x[0], x[1]))
        return x[2] * pp + (1 - x[2]) * pd - p

    fit = least_squares(residual, [0.5, 0.15, 0.3], bounds=([-1, 0.01, 0], [2, 1, 1])).x
    assert abs(fit[0] - A.POT_MEAN_US) < 2e-3 and abs(fit[1] - A.POT_WIDTH_US) < 2e-3


# ---- measurement ----------------------------------------------------------------------------
def test_background_templates(measurement):
    data = measurement.channels[0].data
    # the bins cover exactly PE < 60, t < 6 us, where the normalisations are defined
    assert float(data["brn"].sum()) == pytest.approx(18.4, rel=1e-12)
    assert float(data["nin"].sum()) == pytest.approx(5.6, rel=1e-12)
    assert float(data["ss"].sum()) == pytest.approx(1295.0, rel=1e-12)
    assert float(measurement.channels[0].observed.sum()) == 1578.0


def test_signal_total_against_scipy(measurement):
    """SM CEvNS events in the region at nominal response, recomputed with scipy's Gamma law
    on a dense trapezoid grid in T and the closed-form time fractions."""
    experiment = A.csi2021_experiment()
    recoil = np.linspace(1e-3, 0.05, 1500)
    from cevns_jax.rates import differential_rate
    rate = np.asarray(jax.jit(lambda t: differential_rate(experiment, t).sm)(recoil))
    qf = D.load_scintillation_coefficients()["nominal"]
    eff = D.load_efficiency_coefficients()["nominal"]
    eee = 1e3 * (qf[0] * recoil + qf[1] * recoil**2 + qf[2] * recoil**3 + qf[3] * recoil**4)
    x = np.linspace(0.0, 60.0, 6001)[1:-1:2]                        # midpoints, 0.02 PE
    law = stats.gamma(1 + 9.56 * eee[None, :], scale=(13.35 * eee / (1 + 9.56 * eee))[None, :])
    eff_x = np.maximum(eff[0] / (1 + np.exp(-eff[1] * (x - eff[2]))) + eff[3], 0)
    p_pe = (law.pdf(x[:, None]) * eff_x[:, None]).sum(0) * 0.02
    t = np.arange(0.0, 6.0, 0.001) + 0.0005
    eff_t = np.where(t < 0.52, 1.0, np.exp(-0.0494 * (t - 0.52)))
    total = 0.0
    for b, name in enumerate(experiment.beam_names):
        cdf = np.asarray(sns_timing.arrival_cdf(np.arange(0.0, 6.0005, 0.001), name,
                                                A.POT_MEAN_US, A.POT_WIDTH_US))
        total += np.trapezoid(rate[b] * p_pe, recoil) * float(np.sum(np.diff(cdf) * eff_t))
    ours = float(jnp.sum(A.signal_in_roi(measurement)))
    # trapezoid on 1500 points with kinks at the end points, midpoint PE rule: ~1e-3
    assert ours == pytest.approx(total, rel=2e-3)


def test_priors_contain_nominal(measurement):
    stated = {"flux": 0.10, "brn_norm": 0.25, "nin_norm": 0.35, "qf_pc0": 1.0, "qf_pc1": 1.0,
              "pe_eff": 1.0, "timing_offset": 0.1, "ss_norm": 1 / math.sqrt(1295)}
    for n in measurement.nuisances:
        assert n.lower <= n.nominal <= n.upper
        assert float(n.penalty(jnp.asarray(n.nominal))) == 0.0
        key = n.name[len(PREFIX):]
        if key == "cevns_norm":
            assert n.sigma is None                      # unconstrained: the fitted result
        else:
            assert n.sigma == pytest.approx(stated[key], rel=1e-12)
            # the prior's 1 sigma band lies inside the hard bounds
            assert n.lower <= n.nominal - n.sigma and n.nominal + n.sigma <= n.upper


def test_gradients_match_finite_differences(measurement):
    names = measurement.nuisance_names
    point = {PREFIX + "cevns_norm": 0.9, PREFIX + "flux": 1.05, PREFIX + "qf_pc0": 0.4,
             PREFIX + "qf_pc1": -0.3, PREFIX + "pe_eff": 0.6, PREFIX + "timing_offset": -0.03,
             PREFIX + "ss_norm": 0.98, PREFIX + "brn_norm": 1.1, PREFIX + "nin_norm": 0.9}
    x0 = np.array([point[k] for k in names])

    def f(x):
        return measurement.twice_nll([jnp.zeros(3)], dict(zip(names, x)))

    grad = np.asarray(jax.jit(jax.grad(f))(jnp.asarray(x0)))
    f_jit = jax.jit(f)
    for i, name in enumerate(names):
        h = 1e-5 * max(abs(x0[i]), 0.1)
        up, down = x0.copy(), x0.copy()
        up[i] += h
        down[i] -= h
        fd = (float(f_jit(jnp.asarray(up))) - float(f_jit(jnp.asarray(down)))) / (2 * h)
        # central differences, step 1e-5: truncation ~1e-10 relative, round-off ~1e-9
        assert grad[i] == pytest.approx(fd, rel=1e-5, abs=1e-6), name


def test_several_starts_reach_the_same_minimum(measurement):
    norm = PREFIX + "cevns_norm"
    fits = [results.fit_cevns(measurement, norm, A.signal_in_roi, start=s) for s in (
        None, {norm: 0.5, PREFIX + "qf_pc0": 1.0, PREFIX + "pe_eff": -1.0},
        {norm: 1.4, PREFIX + "timing_offset": 0.1, PREFIX + "ss_norm": 1.03})]
    for fit in fits[1:]:
        # damped Newton to convergence: values agree to round-off of a ~200 deviance
        assert fit["twice_nll"] == pytest.approx(fits[0]["twice_nll"], abs=1e-7)
        assert fit["norm"] == pytest.approx(fits[0]["norm"], abs=1e-5)


def test_fitted_events_reproduce_published(measurement):
    norm = PREFIX + "cevns_norm"
    fit = results.fit_cevns(measurement, norm, A.signal_in_roi)
    # PRL 129, 081801: 306 +- 20 fitted CEvNS events; ours must lie within that 1 sigma
    assert abs(fit["events"] - 306.0) < 20.0
    z = results.significance(measurement, norm, fit)
    assert z > 10.0          # more than 10 sigma for CEvNS over no CEvNS


def test_single_lambda_limit_has_no_phase_dependence():
    model = TransitionMoments()
    beams = ("numu", "nue", "numubar")
    for name in ("lambda1", "lambda2", "lambda3"):
        ref = np.asarray(model.mu2({name: 1.0}, beams))
        for xi1, xi3 in ((0.7, 0.0), (0.0, 2.1), (1.3, -2.0)):
            got = np.asarray(model.mu2({name: 1.0, "xi1": xi1, "xi3": xi3}, beams))
            np.testing.assert_allclose(got, ref, rtol=1e-12)    # phases drop out exactly


@pytest.mark.slow
def test_morphed_response_matches_exact(measurement):
    exact = A.build("cevns", response_model="exact")
    nu = {PREFIX + "qf_pc0": 0.5, PREFIX + "qf_pc1": 0.3, PREFIX + "pe_eff": -0.7,
          PREFIX + "timing_offset": 0.05}
    a = float(jnp.sum(A.signal_in_roi(measurement, nu)))
    b = float(jnp.sum(A.signal_in_roi(exact, nu)))
    # quadratic interpolation of +-1 sigma templates, inside 1 sigma: < 0.3 % measured 0.07 %
    assert a == pytest.approx(b, rel=3e-3)
    fit_m = results.fit_cevns(measurement, PREFIX + "cevns_norm", A.signal_in_roi)
    fit_e = results.fit_cevns(exact, PREFIX + "cevns_norm", A.signal_in_roi)
    assert fit_m["events"] == pytest.approx(fit_e["events"], abs=1.0)   # measured 0.35


def test_projection_figure_draws_data_and_components(measurement):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cevns_jax.plots.coherent import fitted_components, plot_csi_projection

    fit = results.fit_cevns(measurement, PREFIX + "cevns_norm", A.signal_in_roi)
    parts = fitted_components(measurement, fit["nu_hat"], (14, 14), PREFIX)
    total = sum(p.sum() for p in parts.values())
    expected = float(measurement.expected([jnp.zeros(3)], fit["nu_hat"])[0].sum())
    assert total == pytest.approx(expected, rel=1e-12)       # components add up to the model
    fig, ax = plt.subplots()
    plot_csi_projection(ax, measurement, fit["nu_hat"], A.PE_EDGES, A.T_EDGES_US, "time")
    assert len(ax.patches) == 4 * 14                        # SS, BRN, NIN, CEvNS bars
    with pytest.raises(ValueError, match="axis"):
        plot_csi_projection(ax, measurement, fit["nu_hat"], A.PE_EDGES, A.T_EDGES_US, "energy")
    plt.close(fig)


@pytest.mark.slow
def test_data_results_rows():
    """Both analyses, quick mode: the row contract and the published comparisons."""
    rows = results.data_results(quick=True)
    keys = {"analysis", "quantity", "computed", "uncertainty", "published", "unit", "method",
            "reference"}
    assert all(set(r) == keys for r in rows)
    got = {(r["analysis"], r["quantity"]): r for r in rows}
    for analysis in ("coherent_csi2021", "coherent_csi2017"):
        for q in ("cevns_events_fit", "cevns_events_predicted", "significance_sigma",
                  "limit_mu_nue", "limit_mu_numu", "limit_lambda1", "limit_lambda2",
                  "limit_lambda3"):
            assert math.isfinite(got[(analysis, q)]["computed"]), (analysis, q)
    xsec = got[("coherent_csi2021", "flux_averaged_xsec_1e-40cm2")]
    # PRL 129, 081801: (165 +30 -25) 1e-40 cm^2; ours inside the published interval
    assert 140.0 < xsec["computed"] < 195.0
    # paper 000 Table II (cevns_jax.papers.paper000): |Lambda_i| < 40-44 for CsI with the 2017
    # exposure from a one-bin count; spectral and timing data can only do better, and not by
    # more than the factor ~2 of the larger exposure: a wrong EM template scale leaves [10, 45]
    for analysis in ("coherent_csi2021", "coherent_csi2017"):
        for q in ("limit_lambda1", "limit_lambda2", "limit_lambda3"):
            assert 10.0 < got[(analysis, q)]["computed"] < 45.0


def test_moment_limit_matches_scipy_brent():
    """The one-moment limit (Illinois regula falsi on the batched profile) against SciPy's
    Brent root of the same profiled values: the minimum sits at mu = 0 for these data
    (checked on a grid). Both converge to 1e-10 in x; 1e-8 relative allows for the Newton
    profile's convergence near the root."""
    from scipy import optimize
    from cevns_jax.inference.profile_grid import evaluate_points
    from cevns_jax.likelihood.physics_model import FlavourMoments

    moments = A.build("moments")
    model = FlavourMoments()
    grid = evaluate_points(moments, model, {"mu_mu": np.linspace(0.0, 60.0, 13)}, chunk=1)
    assert np.argmin(grid) == 0
    ours = results.moment_limit(moments, model, "mu_mu")
    f = lambda x: float(evaluate_points(moments, model, {"mu_mu": x}, chunk=1)[0])
    brent = optimize.brentq(lambda x: f(x) - grid[0] - 2.71, 5.0, 60.0, xtol=1e-12, rtol=1e-12)
    assert ours == pytest.approx(brent, rel=1e-8)


# ---- steady state and the AC side band -------------------------------------------------------
def test_ac_time_profile_matches_steady_state_template():
    ac = D.load_events("AC")
    observed = A.observed_histogram(ac).sum(0)
    expected = A.steady_state_template(ac).sum(0)
    # the AC counts follow the timing efficiency in t_rec: chi2 12.39 for 13 dof (p = 0.5),
    # unlike the 2017 release, whose AC time profile is not flat (test_coherent_csi2017)
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    assert chi2 == pytest.approx(12.386, abs=1e-3)    # fixed data, deterministic template
    assert stats.chi2.sf(chi2, 13) > 0.3


def test_sideband_reduces_to_template_at_nominal(measurement):
    """C + AC side band at a_k = 1: the C channel equals the template model at ss_norm = 1,
    and -2 ln L gains exactly the AC deviance of the template against the AC counts."""
    from cevns_jax.analyses.csi_sideband import with_ac_sideband
    from cevns_jax.likelihood.statistics import poisson_deviance

    ac = A.observed_histogram(D.load_events("AC"))
    sb = with_ac_sideband(measurement, ac, PREFIX)
    assert PREFIX + "ss_norm" not in sb.nuisance_names        # AC statistics counted once
    assert sum(n.startswith(PREFIX + "ss_pe") for n in sb.nuisance_names) == len(A.PE_EDGES) - 1
    mu2 = jnp.zeros(3)
    c_sb, ac_sb = sb.expected([mu2, mu2])
    c_template = measurement.expected([mu2])[0]
    np.testing.assert_allclose(np.asarray(c_sb), np.asarray(c_template), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ac_sb), np.asarray(measurement.channels[0].data["ss"]),
                               rtol=1e-12)
    gained = float(sb.twice_nll([mu2, mu2]) - measurement.twice_nll([mu2]))
    deviance = float(poisson_deviance(jnp.asarray(ac.ravel()), ac_sb))
    assert gained == pytest.approx(deviance, rel=1e-12)
    with pytest.raises(ValueError, match="does not match"):
        with_ac_sideband(measurement, ac[:, :5], PREFIX)


def test_stat_only_error_against_numpy_information(measurement):
    """Statistical error of the fitted events (all nuisances fixed at the best fit): the
    Hessian of -2 ln L from jax against the observed Fisher information in closed form,
    d2(-2 ln L)/dn2 = 2 sum_i n_i s_i^2 / mu_i^2 for mu = n s + b (Poisson, linear in n)."""
    norm = PREFIX + "cevns_norm"
    fit = results.fit_cevns(measurement, norm, A.signal_in_roi)
    others = [k for k in measurement.profiled_names if k != norm]
    stat = results.events_uncertainty(measurement.with_treatment("fixed", others), norm, fit,
                                      A.signal_in_roi)
    nu = {k: jnp.asarray(v) for k, v in fit["nu_hat"].items()}
    comp = measurement.channels[0].components(nu)
    s = np.asarray(jnp.sum(comp.signal_sm, axis=0)) / fit["norm"]
    mu = fit["norm"] * s + np.asarray(comp.background)
    n = np.asarray(measurement.channels[0].observed)
    closed = fit["signal_at_fit"] / math.sqrt(np.sum(n * s**2 / mu**2))
    assert stat == pytest.approx(closed, rel=1e-9)        # same quantity, round-off only
    # PRL 129, 081801 quotes 306 +- 20; the C counts alone allow no less than ~30 (measured
    # 29.7): the published +-20 is not a statistical error of this data set and model
    assert 28.0 < stat < 31.0


@pytest.mark.slow
def test_sideband_fit(measurement):
    """The side band adds the AC PE-shape statistics: the error cannot shrink, the central
    value moves by no more than the AC bootstrap spread of the template fit (14 events for
    the shape alone, docs/coherent_csi.md), and the significance cannot grow."""
    norm = PREFIX + "cevns_norm"
    fit_t = results.fit_cevns(measurement, norm, A.signal_in_roi)
    sb = A.build("cevns", ss_model="sideband")
    fit_s = results.fit_cevns(sb, norm, A.signal_in_roi)
    err_t = results.events_uncertainty(measurement, norm, fit_t, A.signal_in_roi)
    err_s = results.events_uncertainty(sb, norm, fit_s, A.signal_in_roi)
    assert err_t < err_s < math.hypot(err_t, 14.1)       # measured 32.8 < 34.6 < 35.7
    assert abs(fit_s["events"] - fit_t["events"]) < 14.1  # measured 3.2
    z_t = results.significance(A.build("moments"), norm, fit_t)
    assert results.significance(sb, norm, fit_s) < z_t    # measured 10.21 < 11.41
