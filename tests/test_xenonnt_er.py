"""XENONnT SR0 electronic recoils: loader checks, malformed files, smearing, likelihood and
the effective-moment limit against the published value."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax import datasets
from cevns_jax import electron_rates as er
from cevns_jax.analyses import xenonnt_er2022 as ana
from cevns_jax.datasets._io import _data_file
from cevns_jax.likelihood.measurement import profile
from cevns_jax.likelihood.physics_model import EffectiveMoment
from cevns_jax.quadrature import QuadratureConfig
from cevns_jax.results import xenonnt_er2022 as drv

QUICK = QuadratureConfig(n_energy=16, n_piece=6)


def test_loaders_read_the_release():
    events = datasets.xenonnt_er_events()
    # the data file's own range (PROVENANCE: 433 events between 1.70 and 29.98 keV)
    assert events.size == 433 and events[0] == pytest.approx(1.699, abs=1e-3)
    assert events[-1] == pytest.approx(29.985, abs=1e-3)
    energy, eff = datasets.xenonnt_er_efficiency()
    assert eff.max() == pytest.approx(0.82, abs=0.005)   # PROVENANCE: maximum 0.82
    centre, rate = datasets.xenonnt_er_background()
    inside = (centre > 1) & (centre < 30)
    # PROVENANCE: B0 x 1.16 t yr over 1-30 keV = 426.5 events (quoted to 0.1)
    assert 1.16 * 0.1 * rate[inside].sum() == pytest.approx(426.5, abs=0.05)


def _copy(tmp_path, kind, edit):
    name = {"events": "xenonnt_er2022_events_1to30keV.csv",
            "efficiency": "xenonnt_er2022_efficiency.csv",
            "background": "xenonnt_er2022_background_model_B0.csv"}[kind]
    lines = _data_file("xenonnt_er2022", name).read_text().splitlines()
    path = tmp_path / name
    path.write_text("\n".join(edit(lines)) + "\n")
    return path


@pytest.mark.parametrize("kind,edit,match", [
    ("events", lambda ls: ls[:-1], "expected 433 events, found 432"),
    ("events", lambda ls: ls[:10] + ["abc"] + ls[11:], "not numeric"),
    ("events", lambda ls: ls[:-1] + ["31.0"], "outside"),
    ("efficiency", lambda ls: ls[:-1] + ["31.0,1.5"], r"outside \[0, 1\]"),
    ("efficiency", lambda ls: ls[:100], "not the 1-30 keV"),
    ("background", lambda ls: ls[:50] + ls[51:], "uniform 0.1-keV grid"),
    ("background", lambda ls: ls[:-150], "not within 2 %"),
    ("background", lambda ls: ls[:40] + ["1.0,2.0,3.0"] + ls[41:], "2 finite numbers"),
])
def test_malformed_files_raise_named_errors(tmp_path, kind, edit, match):
    path = _copy(tmp_path, kind, edit)
    loader = {"events": datasets.xenonnt_er_events, "efficiency": datasets.xenonnt_er_efficiency,
              "background": datasets.xenonnt_er_background}[kind]
    with pytest.raises(ValueError, match=match) as info:
        loader(path)
    assert path.name in str(info.value)


def test_smearing_conserves_counts():
    """With unit efficiency and reconstructed bins reaching 8 sigma beyond the true range,
    the smeared total equals the unsmeared integral over the true range."""
    target = er.electron_target("Xe", "free")
    beams = er.solar_electron_beams(1.0, components=("be7_862",), pee_model="constant")
    true = np.array([2.0, 10.0]) * 1e-3
    edges = np.linspace(0.5, 18.0, 36) * 1e-3

    def run():
        smeared = er.smeared_templates(target, beams, true, edges, 1.0,
                                       lambda t: 1e-3 * ana.sigma_kev(t * 1e3),
                                       lambda e: jnp.ones_like(e), quad=QUICK, n_bin=16)
        plain = er.binned_templates(target, beams, true, 1.0, quad=QUICK)
        return smeared.em.sum(), plain.em.sum()

    smeared, plain = jax.jit(run)()
    # rtol 1e-6: Gaussian tails beyond 8 sigma are 1e-15; 16 Gauss-Legendre nodes per 0.5-keV
    # bin integrate a Gaussian of sigma >= 0.45 keV to better than 1e-8
    assert float(smeared) == pytest.approx(float(plain), rel=1e-6)


@pytest.fixture(scope="module")
def stepping():
    return ana.er_templates("stepping", quad=QUICK)


def test_templates_and_background_only_fit(stepping):
    assert stepping.observed.sum() == 433 and stepping.em.shape == (16, 58)
    m = ana.measurement(stepping)
    _, nu = jax.jit(lambda mm: profile(mm, [jnp.zeros(16)]))(m)
    # Poisson MLE of a pure normalisation is sum(n) / sum(B) exactly; rtol 1e-9 for the
    # damped-Newton convergence
    assert float(nu["xenonnt_er_b0_norm"]) == pytest.approx(433 / stepping.background.sum(),
                                                            rel=1e-9)


def test_effective_moment_limit_near_published(stepping):
    limit = drv.moment_limit(ana.measurement(stepping), EffectiveMoment(), "mu")
    # published 0.063 (6.3e-12 mu_B). 20 %: our likelihood has B0's normalisation as the only
    # background freedom and the XENON1T resolution; the collaboration fits its components
    assert limit == pytest.approx(ana.PUBLISHED["mu_eff_limit"], rel=0.2)


def test_bad_bin_width():
    with pytest.raises(ValueError, match="multiple of B0"):
        ana.er_templates(bin_width_kev=0.25 * 1.16, quad=QUICK)


def test_tilt_freedom_can_only_weaken_the_limit(stepping):
    """Profiling one more nuisance lowers chi^2_min and flattens Delta chi^2: the tilted
    background gives a weaker (never stronger) limit."""
    base = drv.moment_limit(ana.measurement(stepping), EffectiveMoment(), "mu")
    tilted = drv.moment_limit(ana.measurement(stepping, tilt=True), EffectiveMoment(), "mu")
    assert tilted >= base


@pytest.mark.slow
def test_data_results_contract():
    rows = drv.data_results(quick=True)
    keys = {"analysis", "quantity", "computed", "uncertainty", "published", "unit", "method",
            "reference"}
    assert all(set(r) == keys and r["analysis"] == "xenonnt_er2022" for r in rows)
    by = {r["quantity"]: r for r in rows}
    assert by["events_observed"]["computed"] == 433
    # binding: stepping removes electrons, so fewer signal events and a weaker limit
    assert by["limit_mu_eff_stepping"]["computed"] > by["limit_mu_eff_free"]["computed"]
    # the effective moment bounds each single transition / flavour moment from below:
    # mu_eff^2 = sum_b w_b mu_b^2 with weights <= 1, so every single-moment limit is weaker
    for q in ("limit_lambda1", "limit_lambda2", "limit_lambda3", "limit_mu_nue",
              "limit_mu_numu", "limit_mu_nutau"):
        assert by[q]["computed"] >= by["limit_mu_eff"]["computed"] * (1 - 1e-9), q
