"""The built Experiment as a pytree: round trip, compiled once per structure, and derivatives
and vmaps in the threshold, target mass and exposure (cevns_jax.experiments.vary)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax import rates
from cevns_jax.analyses.coherent_csi2021 import csi2021_experiment
from cevns_jax.analyses.dresden2 import dresden2_config
from cevns_jax.experiments import (build_experiment, get_config, with_exposure,
                                   with_target_mass, with_threshold)
from cevns_jax.quadrature import QuadratureConfig
from cevns_jax.rates import binned_templates, differential_rate, differential_rate_ee

#: Coarse rules: the tests compare two computations on the same nodes, or derivatives whose
#: quadrature error is far below the tolerances (measured: grad vs Leibniz < 1e-15 here).
QUAD = QuadratureConfig(24, 24, 8)
SMALL = QuadratureConfig(12, 12, 4)


def _total(experiment, quad=QUAD):
    return binned_templates(experiment, quad=quad).sm.sum()


def _rate_sum(rate_fn, experiment, energy):
    """Sum over beams of a differential rate at one energy, compiled (eager is slower)."""
    return float(jax.jit(lambda x: rate_fn(experiment, x, quad=QUAD).sm.sum())(
        jnp.array([energy])))


@pytest.fixture(scope="module")
def csi():
    """SNS, nr threshold 5 keVnr, COHERENT 2017 acceptance (steps at 5 and 6 PE)."""
    return build_experiment(get_config("COHERENT-CsI", "current"))


@pytest.fixture(scope="module")
def conus():
    """Reactor, ee threshold 100 eVee on Ge with Lindhard quenching, flat 50 % efficiency;
    no spectrum below 2 MeV (only E_nu > 4.47 MeV reach the threshold recoils anyway)."""
    config = get_config("CONUS", "current")
    config["source"]["spectrum"]["low_energy"] = "none"
    return build_experiment(config)


@pytest.mark.parametrize("which", ["csi", "conus", "dresden2", "csi2021"])
def test_flatten_unflatten_round_trip(which, request):
    if which == "dresden2":            # Ge, ee bins with Gaussian resolution, Fef quenching
        experiment = build_experiment(dresden2_config())
    elif which == "csi2021":           # the CsI 2021 real-data exposure
        experiment = csi2021_experiment()
    else:
        experiment = request.getfixturevalue(which)
    leaves, treedef = jax.tree_util.tree_flatten(experiment)
    copied = jax.tree_util.tree_unflatten(treedef, [np.array(x, copy=True) for x in leaves])
    assert jax.tree_util.tree_structure(copied) == treedef
    assert (copied.name, copied.setup, copied.config) == (experiment.name, experiment.setup,
                                                          experiment.config)
    before = rates.TRACE_COUNT
    a = binned_templates(experiment, quad=SMALL)
    b = binned_templates(copied, quad=SMALL)
    assert rates.TRACE_COUNT - before <= 1       # the copy reuses the compiled code
    # same leaves, same compiled code: equal up to rounding
    np.testing.assert_allclose(b.sm, a.sm, rtol=1e-14, atol=0)
    np.testing.assert_allclose(b.em, a.em, rtol=1e-14, atol=0)


def test_numbers_are_leaves_and_names_static(csi):
    leaves = jax.tree_util.tree_leaves(csi)
    fluence = csi.beams[0].fluence
    for value in (fluence, csi.detector.target.mass_kg, 5e-3):
        assert any(np.any(np.asarray(x) == value) for x in leaves), value
    assert not any(isinstance(x, str) for x in leaves)


def test_experiments_differing_in_numbers_share_compiled_code():
    """Another mass, threshold, baseline, time and name: one trace for both; so do CONUS
    and TEXONO [current] (Ge, 100 eVee, the same fission fractions and efficiency)."""
    config = get_config("CONUS", "current")
    other = get_config("CONUS", "current")
    other["detector"].update(mass="7 kg", threshold="150 eVee")
    other["source"].update(time="2 yr", baseline="25 m")
    other["name"] = "CONUS-variant"
    first, second = build_experiment(config), build_experiment(other)
    before = rates.TRACE_COUNT
    a, b = _total(first, SMALL), _total(second, SMALL)
    traced = rates.TRACE_COUNT
    _total(build_experiment(get_config("TEXONO", "current")), SMALL)
    assert traced - before <= 1 and rates.TRACE_COUNT == traced
    assert float(a) != float(b)


def test_threshold_gradient_nr_is_leibniz(csi):
    """dN/dT_th = -A(T_th) dN/dT(T_th) (Leibniz rule; one open bin), against the differential
    rate with efficiency and a central difference."""
    t0 = 5e-3
    grad = float(jax.jit(jax.grad(lambda t: _total(with_threshold(csi, t))))(t0))
    leibniz = -_rate_sum(differential_rate, csi, t0)
    # the quadrature is converged far beyond this (measured difference 5e-16)
    assert grad == pytest.approx(leibniz, rel=1e-10)
    h = 1e-4 * t0
    fd = (float(_total(with_threshold(csi, t0 + h))) - float(_total(with_threshold(csi, t0 - h)))) / (2 * h)
    # central difference: truncation h^2 f'''/6 / f' ~ 1e-8 (measured 5e-9)
    assert grad == pytest.approx(fd, rel=1e-7)


def test_threshold_gradient_ee_passes_through_the_quenching_inversion(conus):
    """ee threshold: dN/dT_ee = -eps sum_i dN_i/dT_nr (T_nr,i) dT_nr,i/dT_ee, which is
    -eps dN/dT_ee of differential_rate_ee (bisection + Jacobian, paper 004 Eq. 17)."""
    t0 = 100e-6
    grad = float(jax.jit(jax.grad(lambda t: _total(with_threshold(conus, t))))(t0))
    leibniz = -0.5 * _rate_sum(differential_rate_ee, conus, t0)
    # quadrature converged (measured 1e-16); the Newton step of the inversion is exact to
    # rounding
    assert grad == pytest.approx(leibniz, rel=1e-10)
    h = 1e-4 * t0
    fd = (float(_total(with_threshold(conus, t0 + h)))
          - float(_total(with_threshold(conus, t0 - h)))) / (2 * h)
    assert grad == pytest.approx(fd, rel=1e-7)      # truncation ~ 2e-8 measured


def test_threshold_gradient_pe_scale():
    """A PE threshold: dN/dn = -A(T) dN/dT(T) dT/dn with T = n / 1.17 keV (paper 000 Eq. 29)."""
    config = get_config("COHERENT-CsI", "current")
    config["detector"]["threshold"] = "5.5 PE"      # between the acceptance steps at 5 and 6 PE
    experiment = build_experiment(config)
    grad = float(jax.jit(jax.grad(lambda n: _total(with_threshold(experiment, n))))(5.5))
    recoil = 5.5 / 1.17 * 1e-3
    leibniz = -_rate_sum(differential_rate, experiment, recoil)
    assert grad == pytest.approx(leibniz * 1e-3 / 1.17, rel=1e-10)   # as in the nr test


@pytest.mark.slow
def test_threshold_gradient_with_resolution():
    """Dresden-II (Gaussian resolution, Fef quenching, 130 ee bins): the threshold moves the
    first observed edge and the start of the true-energy integral; grad against a central
    difference (no closed form with smearing)."""
    experiment = build_experiment(dresden2_config())
    t0 = 0.2e-3
    grad = float(jax.jit(jax.grad(lambda t: _total(with_threshold(experiment, t))))(t0))
    h = 1e-4 * t0
    fd = (float(_total(with_threshold(experiment, t0 + h)))
          - float(_total(with_threshold(experiment, t0 - h)))) / (2 * h)
    assert grad < 0
    assert grad == pytest.approx(fd, rel=1e-6)      # truncation ~ h^2 (measured 1.6e-8)


def test_mass_and_exposure_are_linear(csi):
    """d N / d m = N / m and d N / d s = N(s = 1) (counts proportional to both), and the
    varied experiments equal ones built from a modified configuration."""
    mass = csi.detector.target.mass_kg
    n = float(_total(csi))
    d_mass = float(jax.jit(jax.grad(lambda kg: _total(with_target_mass(csi, kg))))(mass))
    assert d_mass == pytest.approx(n / mass, rel=1e-12)      # rounding only
    d_scale = float(jax.jit(jax.grad(lambda s: _total(with_exposure(csi, s))))(1.7))
    assert d_scale == pytest.approx(n, rel=1e-12)

    config = get_config("COHERENT-CsI", "current")
    config["detector"]["mass"] = "29.14 kg"
    config["source"]["pot"] = "3.52e23 POT"      # twice 1.76e23
    built = binned_templates(build_experiment(config), quad=QUAD).sm
    varied = binned_templates(with_exposure(with_target_mass(csi, 29.14), 2.0), quad=QUAD).sm
    # n_nuclei and the fluence are linear in mass and POT: equal up to rounding
    np.testing.assert_allclose(varied, built, rtol=1e-13, atol=0)


def test_vmap_over_thresholds_equals_a_loop(conus):
    thresholds = jnp.array([80e-6, 100e-6, 150e-6, 300e-6])
    batched = jax.vmap(lambda t: binned_templates(with_threshold(conus, t), quad=SMALL).sm)(
        thresholds)
    looped = np.stack([np.asarray(binned_templates(with_threshold(conus, float(t)),
                                                   quad=SMALL).sm) for t in thresholds])
    # the same operations batched: equal to rounding
    np.testing.assert_allclose(batched, looped, rtol=1e-12, atol=0)
    assert np.all(np.diff(looped.sum(axis=(1, 2))) < 0)      # fewer counts above a higher threshold


def test_varied_values_are_checked(csi):
    config = get_config("COHERENT-CsI", "current")
    config["detector"]["bins"] = ["5 keVnr", "10 keVnr", "50 keVnr"]
    with pytest.raises(ValueError, match="second bin edge"):
        with_threshold(build_experiment(config), 12e-3)     # above the edge at 10 keVnr
    with pytest.raises(ValueError, match="threshold"):
        with_threshold(csi, -1e-3)
    with pytest.raises(ValueError, match="target mass"):
        with_target_mass(csi, 0.0)
    with pytest.raises(ValueError, match="exposure"):
        with_exposure(csi, float("nan"))
    assert float(with_threshold(csi, "2 keVnr").detector.edges[0]) == pytest.approx(2e-3)
    with pytest.raises(ValueError):
        with_threshold(csi, "2 keVee")           # the detector's scale is nr
