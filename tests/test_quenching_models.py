"""Quenching models (cevns_jax.physics.quenching) against their defining formulas and tables,
their gradients at the table ends and at threshold, and the detector.quenching config field."""

import math
from importlib.resources import files

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax.experiments import ConfigError, build_experiment, get_config
from cevns_jax.physics import quenching as q

Z_GE = 32.0
KEV = 1e-3


def _table():
    path = files("cevns_jax").joinpath("data", "dresden2", "ge_quenching_fef_ybe.csv")
    return np.loadtxt(str(path), delimiter=",", comments="#", skiprows=5)


def _model(name):
    e, fef, ybe = _table().T
    return q.collar2021(e * KEV, fef, ybe, 1.0 if name == "fef" else 0.0)


MODELS = {"lindhard": q.QuenchingModel("lindhard"),
          "modified_lindhard": q.QuenchingModel("modified_lindhard"),
          "fef": _model("fef"), "ybe": _model("ybe")}


def test_lindhard_matches_defining_formula():
    # paper 000 Eq. (27) written out by hand at T = 1 keVnr, k = 0.157
    eps = 11.5 * 1.0 * 32 ** (-7 / 3)
    g = 3 * eps**0.15 + 0.7 * eps**0.6 + eps
    expected = 0.157 * g / (1 + 0.157 * g)
    got = float(q.quenching_factor(1.0 * KEV, Z_GE, 0.157, MODELS["lindhard"]))
    assert got == pytest.approx(expected, rel=1e-14)   # same closed form, round-off only
    # the default model of every function is Lindhard (existing callers unchanged)
    assert float(q.electron_equivalent(1.0 * KEV, Z_GE, 0.157)) == pytest.approx(
        expected * KEV, rel=1e-14)


def test_modified_lindhard_is_lindhard_times_adiabatic_factor():
    m = MODELS["modified_lindhard"]
    # Scholz et al. 2016 Eq. (5): factor 1 - exp(-T/xi); at T = xi it is 1 - 1/e
    t = m.xi
    ratio = float(m.factor(t, Z_GE, 0.1789) / q.lindhard(t, Z_GE, 0.1789))
    assert ratio == pytest.approx(1 - math.exp(-1), rel=1e-13)   # round-off
    far = 20 * m.xi
    assert float(m.factor(far, Z_GE, 0.1789) / q.lindhard(far, Z_GE, 0.1789)) == pytest.approx(
        1 - math.exp(-20), rel=1e-13)
    with pytest.raises(ValueError, match="xi"):
        q.QuenchingModel("modified_lindhard", xi=0.0)


def test_tabulated_models_reproduce_the_table_and_interpolate_linearly():
    e, fef, ybe = _table().T
    for name, column in (("fef", fef), ("ybe", ybe)):
        got = np.asarray(MODELS[name].factor(jnp.asarray(e * KEV), Z_GE, 0.0))
        np.testing.assert_allclose(got, column, rtol=1e-13)   # knots are returned as stored
        mid = 0.5 * (e[1:] + e[:-1]) * KEV
        got_mid = np.asarray(MODELS[name].factor(jnp.asarray(mid), Z_GE, 0.0))
        np.testing.assert_allclose(got_mid, 0.5 * (column[1:] + column[:-1]), rtol=1e-12)
    # the Fef curve is a straight line below 1.13 keVnr: Q(0.5) from the line through the
    # table's values at 0 and 1.1 keVnr
    line = fef[0] + (fef[110] - fef[0]) * 0.5 / 1.1
    assert float(MODELS["fef"].factor(0.5 * KEV, Z_GE, 0.0)) == pytest.approx(
        line, abs=2e-5)   # the table is rounded to 5 digits
    # held constant above 4.5 keVnr
    assert float(MODELS["ybe"].factor(6.0 * KEV, Z_GE, 0.0)) == pytest.approx(ybe[-1], rel=1e-14)


def test_fef_ybe_mixture_weight():
    e, fef, ybe = _table().T
    half = q.collar2021(e * KEV, fef, ybe, 0.5)
    t = jnp.asarray([0.3, 1.0, 2.5]) * KEV
    expected = 0.5 * (MODELS["fef"].factor(t, Z_GE, 0.0) + MODELS["ybe"].factor(t, Z_GE, 0.0))
    np.testing.assert_allclose(np.asarray(half.factor(t, Z_GE, 0.0)), np.asarray(expected),
                               rtol=1e-14)   # linear in the weight by construction
    with pytest.raises(ValueError, match="fef_weight"):
        q.collar2021(e * KEV, fef, ybe, 1.5)


@pytest.mark.parametrize("name", list(MODELS))
def test_inverse_round_trip(name):
    m = MODELS[name]
    ee = jnp.asarray([0.1, 0.2, 0.5, 0.9]) * KEV
    nr = q.nuclear_recoil_from_ee(ee, Z_GE, 0.16, model=m)
    back = q.electron_equivalent(nr, Z_GE, 0.16, m)
    np.testing.assert_allclose(np.asarray(back), np.asarray(ee), rtol=1e-10)   # bisection + Newton


def test_fef_closed_form_threshold():
    # on the linear part Q = q0 - s E, E (q0 - s E) = 0.1 keVee has the root below
    e, fef, _ = _table().T
    a, b, c = (fef[0] - fef[110]) / 1.1, -fef[0], 0.1
    root = (-b - math.sqrt(b * b - 4 * a * c)) / (2 * a)
    got = float(q.nuclear_recoil_from_ee(0.1 * KEV, Z_GE, 0.0, model=MODELS["fef"])) / KEV
    assert got == pytest.approx(root, rel=1e-4)   # table values rounded to 5 digits


@pytest.mark.parametrize("name", list(MODELS))
def test_gradients_finite_at_table_ends_and_threshold(name):
    m = MODELS[name]
    for t in (1e-3 * KEV, 4.5 * KEV, 4.5 * KEV + 1e-9, 6.0 * KEV):
        dq = jax.grad(lambda x: m.factor(x, Z_GE, 0.16))(t)
        assert np.isfinite(float(dq))
    # threshold of the Dresden-II analysis (0.2 keVee) and the Fef turning point (0.2475 keVee)
    for ee in (0.2 * KEV, 0.24753 * KEV):
        g_ee, g_k = jax.grad(lambda x, k: q.nuclear_recoil_from_ee(x, Z_GE, k, model=m),
                             argnums=(0, 1))(ee, 0.16)
        assert np.isfinite(float(g_ee)) and np.isfinite(float(g_k))


def test_jacobian_matches_finite_difference():
    m = MODELS["modified_lindhard"]
    t, h = 0.8 * KEV, 1e-7 * KEV
    ee = lambda x: q.electron_equivalent(x, Z_GE, 0.17, m)  # noqa: E731
    fd = (ee(t + h) - ee(t - h)) / (2 * h)
    assert float(q.ee_jacobian(t, Z_GE, 0.17, m)) == pytest.approx(float(fd), rel=1e-7)  # O(h^2)


def test_config_field_selects_the_model_and_rejects_bad_values():
    for name in ("lindhard", "ybe"):   # the other two: test_threshold_in_nuclear_recoil_...
        # (slow); the Dresden-II tests build fef experiments
        config = get_config("CONUS", "current")
        config["detector"]["quenching"] = {"model": name}
        assert build_experiment(config).detector.quenching.name == name
    config = get_config("CONUS", "current")
    config["detector"]["quenching"] = {"model": "birks"}
    with pytest.raises(ConfigError, match="'birks'"):
        build_experiment(config)
    config["detector"]["quenching"] = {"model": "fef", "kappa": 0.2}
    with pytest.raises(ConfigError, match="kappa"):
        build_experiment(config)
    config = get_config("CONNIE", "current")   # silicon
    config["detector"]["quenching"] = {"model": "ybe"}
    with pytest.raises(ConfigError, match="germanium"):
        build_experiment(config)


@pytest.mark.slow
def test_threshold_in_nuclear_recoil_follows_the_model():
    # CONUS 100 eVee threshold: the detector's T_nr edge equals the model's inverse
    for name in ("modified_lindhard", "fef"):
        config = get_config("CONUS", "current")
        config["detector"]["quenching"] = {"model": name}
        det = build_experiment(config).detector
        edges = np.asarray(det.edges_nr())[:, 0]
        ee = np.asarray(q.electron_equivalent(jnp.asarray(edges), det.target.Z, det.kappa,
                                              det.quenching))
        np.testing.assert_allclose(ee, 100e-6, rtol=1e-10)   # maps back to 100 eVee


@pytest.mark.slow
def test_rate_gradient_in_kappa_under_modified_lindhard():
    # d N / d kappa through thresholds and quenching equals a central finite difference
    from cevns_jax.rates import binned_templates

    config = get_config("CONUS", "current")
    config["detector"]["quenching"] = {"model": "modified_lindhard"}
    experiment = build_experiment(config)
    total = jax.jit(lambda k: binned_templates(experiment, {"kappa": k}).sm.sum())
    k0, h = 0.1789, 1e-4
    grad = float(jax.grad(lambda k: total(k))(k0))
    fd = (float(total(k0 + h)) - float(total(k0 - h))) / (2 * h)
    assert grad == pytest.approx(fd, rel=1e-5)   # O(h^2) truncation of the difference
