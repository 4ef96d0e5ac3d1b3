"""Dresden-II nu-e channel: templates against the closed-form 1/T rate, the signal sets, the
|Lambda_i| limits against mu_eff^2 = Lambda_i^2 (1 - |U_ei|^2), the figure and the CLI."""

import json
import math
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from cevns_jax.analyses import dresden2 as d2
from cevns_jax.likelihood.physics_model import FlavourMoments, TransitionMoments
from cevns_jax.results import dresden2 as results

# independent constants (CODATA 2018) for the closed form
ALPHA, M_E, HBARC_CM = 1 / 137.035999084, 0.51099895000, 197.3269804e-13   # -, MeV, MeV cm
N_ATOMS = 2924.0 / 72.630 * 6.02214076e23                                  # 2.924 kg natural Ge
ON_EXPOSURE = 96.4 * 2.924 / 3.0                                            # days x kg / 3 kg


@pytest.fixture(scope="module")
def experiment():
    from cevns_jax.experiments import build_experiment

    return build_experiment(d2.dresden2_config({"model": "fef"}))


@pytest.fixture(scope="module")
def electron(experiment):
    return {b: d2.electron_templates(experiment, binding=b, quad=results.QUICK_QUAD)
            for b in ("stepping", "free")}


def _flux_moments(beam, e_min):
    """(int f dE, int f / E dE) above e_min per unit fluence, by scipy quad per part."""
    out = np.zeros(2)
    for part in beam.parts:
        lo = max(e_min, float(getattr(part, "e_lo", None) or part.energies[0]))
        hi = part.e_max
        edges = np.unique(np.concatenate([[lo, hi], [k for k in getattr(part, "knots", ())
                                                       if lo < k < hi]]))
        for a, b in zip(edges[:-1], edges[1:]):   # smooth between knots
            for k in (0, 1):
                out[k] += integrate.quad(lambda e: float(part.density(e)) / e**k, a, b,
                                         epsrel=1e-10)[0]
    return out


@pytest.mark.parametrize("binding, electrons", [("stepping", 22), ("free", 32)])
def test_em_rate_matches_the_closed_form(experiment, electron, binding, electrons):
    # dN/dT = Z_eff N_atoms Phi int f (P/T - P/E) dE with P = pi alpha^2 mu^2 / m_e^2
    # (Vogel & Engel Eq. 3); Ge electrons with binding < 1 keV: M (18) + N (4) = 22
    # (stepping), all 32 (free). At T = 1.005 keV the bin width (10 eV) and the smearing of
    # this ~1/T spectrum by a Gaussian (sigma = 72 eV) raise the bin by (1 + sigma^2 / T^2).
    p_cm2 = math.pi * ALPHA**2 / M_E**2 * HBARC_CM**2 * 1e-20
    e_kev = 1.005
    k = int(round((e_kev - 0.205) / 0.010))
    t = e_kev * 1e-3
    beam = experiment.beams[0]
    n, inv_e = _flux_moments(beam, 0.5 * (t + math.sqrt(t * t + 2 * M_E * t)))
    sigma = math.sqrt(0.0685**2 + 2.96e-3 * 0.11 * e_kev)
    expected = (electrons * N_ATOMS * beam.fluence * p_cm2 * (n / t - inv_e) * 1e-5
                * (1 + sigma**2 / e_kev**2) / ON_EXPOSURE)
    # 1e-3: the Gaussian tail from above the L3 edge 3 sigma away (stepping) and the
    # sigma^4/T^4 terms of the smearing expansion (found: 5e-6 stepping, 2.4e-4 free)
    assert electron[binding].em[0, k] == pytest.approx(expected, rel=1e-3)
    assert electron[binding].cevns == (False,) and electron[binding].beams == ("nuebar",)


def test_templates_are_converged_in_the_recoil_grid(experiment, electron):
    # quick quadrature vs doubled default nodes (the smearing kernel is resolved by the
    # 25-eV splits): agreement to 1e-6
    fine = d2.electron_templates(experiment, binding="free",
                                 quad=results.QuadratureConfig().doubled())
    np.testing.assert_allclose(electron["free"].em, fine.em, rtol=1e-6)


def test_sm_electron_rate_is_negligible(electron):
    # SM nuebar-e over 0.2-1.5 keVee: ~2 events in the ON exposure vs ~5e3 data "counts"
    # (sum of rates x exposure): below 1e-3 of the data, and below the unit-moment EM rate
    sm = electron["stepping"].sm.sum() * ON_EXPOSURE
    assert 0.5 < sm < 10.0
    assert sm < 1e-2 * electron["stepping"].em.sum() * ON_EXPOSURE


def test_combine_templates_keeps_rows_and_zeroes_em():
    cevns = d2.ChannelTemplates(("nuebar",), np.ones((1, 130)), 2 * np.ones((1, 130)), (True,))
    ee = d2.ChannelTemplates(("nuebar",), 3 * np.ones((1, 130)), 4 * np.ones((1, 130)),
                             (False,))
    both = d2.combine_templates(cevns, ee, em=(False, True))
    assert both.beams == ("nuebar", "nuebar") and both.cevns == (True, False)
    np.testing.assert_array_equal(both.em[:, 0], [0.0, 4.0])
    np.testing.assert_array_equal(both.sm[:, 0], [1.0, 3.0])
    with pytest.raises(ValueError, match="one em flag per part"):
        d2.combine_templates(cevns, ee, em=(True,))
    with pytest.raises(ValueError, match="unknown signal set 'nue'"):
        results.signal_measurement(cevns, ee, "nue")
    with pytest.raises(ValueError, match="e_max_kev = 0.3 keeps 10 bins"):
        d2.measurement(cevns, e_max_kev=0.3)
    short = d2.measurement(cevns, e_max_kev=1.1)
    assert [c.observed.size for c in short.channels] == [90, 90]   # 0.205 ... 1.095 keVee
    beamless = SimpleNamespace(beams=(SimpleNamespace(flavour="numu"),))
    with pytest.raises(ValueError, match="reactor nuebar beam.*numu"):
        d2.electron_templates(beamless)


def test_moment_models_accept_a_channel_without_signal_rows():
    for model in (TransitionMoments(), FlavourMoments()):
        assert model.mu2({}, ()).shape == (0,)


def test_lambda_limit_is_the_mu_limit_over_the_mixing(electron):
    # TransitionMoments on the reactor nuebar beam, one Lambda_i: mu_eff^2 = Lambda_i^2 (1 -
    # |U_ei|^2) (paper 000 Eq. 12); |U_e1|^2 = c12^2 c13^2 of the model's mixing angles
    cevns = results.cevns_templates("fef", results.QUICK_QUAD)
    m = results.signal_measurement(cevns, electron["stepping"], "combined")
    mu = results.moment_limit(m)
    lam1 = results.moment_limit(m, model=TransitionMoments(), name="lambda1", mu_max=100.0)
    osc = TransitionMoments().osc
    ue1 = (1 - float(osc.s12sq)) * (1 - float(osc.s13sq))
    assert lam1 == pytest.approx(mu / math.sqrt(1 - ue1), rel=1e-5)   # brentq xtol 1e-6
    # both channels together: tighter than either alone under Fef (no excess to absorb)
    e_only = results.moment_limit(results.signal_measurement(cevns, electron["stepping"],
                                                             "electron"))
    assert mu < e_only


def test_figure_draws_every_curve():
    from matplotlib.figure import Figure

    from cevns_jax.plots import dresden2 as plots

    e = 0.205 + 0.01 * np.arange(130)
    ax = Figure().subplots()
    plots.spectrum(ax, e, np.full(130, 5.0), np.ones(130), np.full(130, 4.0),
                   {"fef": np.ones(130), "ybe": np.ones(130)}, np.ones(130), 2.0)
    assert len(ax.lines) >= 5 and ax.get_yscale() == "log"
    assert "keVee" in ax.get_xlabel() and "10 eVee 3 kg day" in ax.get_ylabel()
    with pytest.raises(ValueError, match="one shape"):
        plots.spectrum(ax, e, np.ones(129), np.ones(130), np.ones(130), {})


def test_cli_rejects_an_unknown_quenching_model(tmp_path, capsys):
    from cevns_jax.cli import main

    assert main(["dresden2", "--quenching", "linhard", "--output", str(tmp_path)]) == 2
    assert "fef" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_writes_json_and_figure(tmp_path):
    from cevns_jax.cli import main

    assert main(["dresden2", "--quenching", "fef", "--output", str(tmp_path), "--quick",
                 "-q"]) == 0
    out = json.loads((tmp_path / "dresden2.json").read_text())
    assert (tmp_path / "dresden2.png").stat().st_size > 10_000
    assert out["dataset"]["file"].endswith("dresden2_reactor_on_off_spectra.csv")
    assert out["software"].startswith("cevns_jax")
    nuis = out["best_fit"]["nuisances"]
    assert all(v["error"] > 0 for v in nuis.values())
    s = out["strength"]
    # Hessian error of the strength vs the profile-likelihood half-width: the likelihood is
    # close to parabolic there (agreement to 5 %)
    assert nuis["cevns_strength"]["error"] == pytest.approx(0.5 * (s["upper"] - s["lower"]),
                                                            rel=0.05)
    assert nuis["cevns_strength"]["value"] == pytest.approx(s["strength"], abs=2e-3)
    assert set(out["limits_mu_nuebar"]) == {"cevns", "electron", "combined"}


@pytest.mark.slow
def test_electron_limit_agrees_with_upper_limit_of_the_inference_layer(electron):
    # results.moment_limit (one point at a time, nuisances started at the SM fit) vs the
    # batched search started at the nominal nuisances: both Wilks 2.71 on the same measurement
    from cevns_jax.inference.profile_likelihood import upper_limit
    from cevns_jax.likelihood.physics_model import EffectiveMoment

    cevns = results.cevns_templates("fef", results.QUICK_QUAD)
    m = results.signal_measurement(cevns, electron["stepping"], "electron")
    ours = results.moment_limit(m)
    theirs = upper_limit(m.with_treatment("fixed", ["cevns_strength"]), EffectiveMoment(), "mu",
                         upper=40.0, n_steps=60)
    assert theirs.valid
    assert ours == pytest.approx(theirs.value, rel=1e-3)   # profile convergence of both
