"""Dresden-II: loader checks, source and response numbers against independent values, the
background model against its closed form, and the ON+OFF fit against an independent minimiser."""

import math
import shutil
from importlib.resources import files

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize

from cevns_jax.analyses import dresden2 as d2
from cevns_jax.datasets import dresden2 as data
from cevns_jax.experiments import build_experiment
from cevns_jax.results import dresden2 as results

SPECTRA_FILE = files("cevns_jax").joinpath("data", "dresden2",
                                           "dresden2_reactor_on_off_spectra.csv")
QF_FILE = files("cevns_jax").joinpath("data", "dresden2", "ge_quenching_fef_ybe.csv")


def test_loader_reads_the_release():
    raw = np.loadtxt(str(SPECTRA_FILE), delimiter=",", comments="#", skiprows=6)
    sp = data.dresden2_spectra()
    assert sp.centres_kev.size == 130
    np.testing.assert_allclose(sp.edges_kev[[0, -1]], [0.2, 1.5], atol=1e-12)
    np.testing.assert_array_equal(sp.rate["on"], raw[:, 1])
    np.testing.assert_array_equal(sp.error["off"], raw[:, 4])
    # effective counts (rate/error)^2: first ON bin 92.851/15.057 -> 38.03 counts
    assert sp.effective_counts("on")[0] == pytest.approx((92.851 / 15.057) ** 2, rel=1e-14)
    # rates x exposure are not raw counts: distance to the nearest integer is ~uniform
    # (mean 0.25 for random numbers, ~0 for counts)
    frac = np.abs(sp.nominal_counts("on") - np.round(sp.nominal_counts("on")))
    assert 0.15 < frac.mean() < 0.35


@pytest.mark.parametrize("defect, message", [
    (lambda lines: lines[:-1], "129 bins"),
    (lambda lines: lines[:20] + [lines[20].replace(",", ",x", 1)] + lines[21:], "not numeric"),
    (lambda lines: [ln.replace("RxOFF_err", "RxOFF_error") for ln in lines], "header"),
    (lambda lines: lines[:30] + [lines[30].rsplit(",", 1)[0] + ",-1.0"] + lines[31:],
     "non-positive"),
    (lambda lines: lines[:40] + [lines[40].replace("0.", "0.9", 1)] + lines[41:], "grid"),
])
def test_loader_rejects_malformed_spectra(tmp_path, defect, message):
    lines = SPECTRA_FILE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "spectra.csv"
    path.write_text("\n".join(defect(lines)) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message) as err:
        data.read_dresden2_spectra(path)
    assert "spectra.csv" in str(err.value)


def test_quenching_loader_rejects_bad_values(tmp_path):
    path = tmp_path / "qf.csv"
    shutil.copy(str(QF_FILE), path)
    text = path.read_text().replace("0.01,0.43418,0.37375", "0.01,1.43418,0.37375")
    path.write_text(text)
    with pytest.raises(ValueError, match="outside"):
        data.read_ge_quenching_table(path)


def test_source_fission_rate():
    # 2.96 GW / (205 +- 2 MeV per fission) at 10.39 m: fissions per cm^2 per second
    beam = build_experiment(d2.dresden2_config({"model": "ybe"})).beams[0]
    expected = 2.96e9 / (205.0 * 1.602176634e-13) / (4 * math.pi * 1039.0**2)
    assert beam.fluence / (96.4 * 86400) == pytest.approx(expected, rel=0.015)  # E_f range


def test_resolution_and_background_closed_form():
    assert float(d2.resolution_sigma_kev(1.0)) == pytest.approx(
        math.sqrt(0.0685**2 + 2.96e-3 * 0.11), rel=1e-14)   # same formula, round-off
    nu = {"flat_on": 10.0, "exp_on": 50.0, "slope": 4.0, "l1_on": 1000.0, "l1_centre": 1.3,
          "width_scale": 1.0, "m_to_l1": 0.16}
    e = 1.3
    w1 = math.sqrt(0.0685**2 + 2.96e-3 * 0.11 * 1.297)
    w2 = math.sqrt(0.0685**2 + 2.96e-3 * 0.11 * 1.142)
    g1 = 1 / (math.sqrt(2 * math.pi) * w1)
    g2 = 0.008 * math.exp(-0.5 * ((e - 1.142) / w2) ** 2) / (math.sqrt(2 * math.pi) * w2)
    expected = 10.0 + 50.0 * math.exp(-4.0 * 1.1) + 1000.0 * (g1 + g2) * 0.010  # M: 16 sigma off
    assert float(d2.background_rate(e, nu, "on")) == pytest.approx(expected, rel=1e-12)


def test_templates_validate_shapes():
    with pytest.raises(ValueError, match="sm"):
        d2.ChannelTemplates(("nuebar",), np.zeros((2, 130)), np.zeros((1, 130)), (True,))


@pytest.fixture(scope="module")
def fef_measurement():
    return results.model_measurement("fef", results.QUICK_QUAD)


def test_strength_fit_agrees_with_an_independent_minimiser(fef_measurement):
    r = results.strength_result(fef_measurement)
    # independent: L-BFGS-B over every nuisance and the strength of -2 ln L
    m = fef_measurement.with_treatment("profiled", ["cevns_strength"])
    names = m.nuisance_names
    bounds = [(n.lower if np.isfinite(n.lower) else None, n.upper if np.isfinite(n.upper)
               else None) for n in m.nuisances]
    mu2s = [jnp.zeros(1), jnp.zeros(0)]
    f = jax.jit(jax.value_and_grad(lambda x: m.twice_nll(mu2s, dict(zip(names, x)))))
    _, _, start = results.sm_fit(fef_measurement)
    x0 = np.array([float(start[k]) for k in names])
    res = optimize.minimize(lambda x: tuple(np.asarray(v, dtype=float) for v in f(x)), x0,
                            jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9})
    s_indep = res.x[names.index("cevns_strength")]
    assert r["strength"] == pytest.approx(s_indep, abs=2e-3)   # both minimisers' tolerance
    assert r["lower"] < r["strength"] < r["upper"]
    assert r["q0"] > 1.0   # the release prefers a CEvNS component under Fef


@pytest.mark.slow
def test_binned_counts_match_quad_of_the_ee_density():
    # no resolution: binned counts over 0.2-1.5 keVee = int dN/dT_ee (scipy adaptive quad);
    # Lindhard and T_nr > 0.2 keVee / Q (above the 2-MeV spectrum junction) keep the integrand
    # smooth, so quad converges (the tabulated Q has a kink every 10 eVnr)
    config = d2.dresden2_config({"model": "lindhard"})
    del config["detector"]["resolution"]
    config["detector"]["bins"] = ["200 eVee", "1500 eVee"]
    experiment = build_experiment(config)
    from cevns_jax.rates import binned_templates, differential_rate_ee

    total = float(binned_templates(experiment).sm.sum())
    dens = jax.jit(lambda x: differential_rate_ee(experiment, x).sm[0])
    quad = integrate.quad(lambda x: float(dens(jnp.atleast_1d(x))[0]), 0.2e-3, 1.5e-3,
                          epsrel=1e-8, limit=500)[0]
    assert total == pytest.approx(quad, rel=1e-4)   # Gauss-Legendre vs adaptive quadrature


@pytest.mark.slow
def test_data_results_rows():
    rows = results.data_results(quick=True)
    keys = {"analysis", "quantity", "computed", "uncertainty", "published", "unit", "method",
            "reference"}
    # 4 models x (strength, significance, 3 limits) + free-electron nu-e limit + 2 expected
    # and 2 fit-range-check nu-e limits + 3 Lambda_i
    assert all(set(r) == keys for r in rows) and len(rows) == 28
    by_name = {r["quantity"]: r for r in rows}
    for model in results.MODELS:
        for signal in results.SIGNALS:
            assert by_name[f"limit_mu_nuebar_{signal}_{model}"]["computed"] > 0
    # more electrons counted (32 vs 22-28 above 0.2 keV): the free-electron *expected* limit
    # is tighter (the observed ones depend on the background fit near the 71Ge L1 peak)
    assert (by_name["expected_limit_mu_nuebar_electron_fef_free_electron"]["computed"]
            < by_name["expected_limit_mu_nuebar_electron_fef"]["computed"])
