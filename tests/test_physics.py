"""Cross sections, form factors, kinematics and quenching against closed forms and SciPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import spherical_jn

from cevns_jax import constants as C
from cevns_jax.physics import cross_sections as xs
from cevns_jax.physics import form_factors as ff
from cevns_jax.physics.kinematics import e_nu_min, momentum_transfer, recoil_max
from cevns_jax.physics.quenching import (ee_jacobian, electron_equivalent, lindhard,
                                         lindhard_kappa, nuclear_recoil_from_ee)

Q_GRID = np.concatenate([[0.0, 1e-6, 1e-3, 0.1], np.linspace(1.0, 200.0, 60)])  # MeV


def _sf_direct(q, A):
    """Paper 000 Eq. (23) exactly as printed (valid away from q = 0)."""
    c, a = 1.23 * A ** (1 / 3) - 0.60, 0.52
    Q = q / C.HBARC_MEV_FM
    x, y = Q * c, np.pi * Q * a
    return 3 / (x * (x**2 + y**2)) * (y / np.sinh(y)) * (y * np.sin(x) / np.tanh(y) - x * np.cos(x))


@pytest.mark.parametrize("A", [28, 40, 73, 127, 133])
def test_symmetrized_fermi_matches_printed_formula(A):
    q = Q_GRID[Q_GRID > 20.0]  # away from q -> 0 the printed formula has no cancellation
    # rtol 1e-12: the two forms are algebraically identical; only rounding differs.
    np.testing.assert_allclose(ff.symmetrized_fermi(jnp.asarray(q), A), _sf_direct(q, A), rtol=1e-12)


@pytest.mark.parametrize("A", [28, 73, 133])
def test_helm_and_klein_nystrand_against_scipy_bessel(A):
    q = Q_GRID[Q_GRID > 0] / C.HBARC_MEV_FM
    c, a, s = 1.23 * A ** (1 / 3) - 0.60, 0.52, 0.9
    r0 = np.sqrt(c**2 + 7 / 3 * np.pi**2 * a**2 - 5 * s**2)
    helm = 3 * spherical_jn(1, q * r0) / (q * r0) * np.exp(-(q * s) ** 2 / 2)
    ra = 1.2 * A ** (1 / 3)
    kn = 3 * spherical_jn(1, q * ra) / (q * ra) / (1 + (q * 0.7) ** 2)
    qm = jnp.asarray(Q_GRID[Q_GRID > 0])
    # rtol 1e-10: SciPy's j1 loses digits to cancellation at q -> 0; our series branch does not.
    np.testing.assert_allclose(ff.helm(qm, A), helm, rtol=1e-10)
    np.testing.assert_allclose(ff.klein_nystrand(qm, A), kn, rtol=1e-10)


@pytest.mark.parametrize("model", ["symmetrized_fermi", "helm", "klein_nystrand"])
def test_form_factors_at_zero_momentum_value_and_gradient(model):
    f = lambda q: ff.form_factor(model, q, 73.0)
    assert float(f(jnp.asarray(0.0))) == pytest.approx(1.0, abs=1e-15)
    g = jax.grad(f)(jnp.asarray(0.0))
    assert np.isfinite(g) and abs(g) < 1e-12  # F is even in q: dF/dq = 0 at q = 0
    # continuity across the series cutoff of every kernel: finite differences straddling it
    for x in (ff._SERIES_CUTOFF * (1 - 1e-9), ff._SERIES_CUTOFF * (1 + 1e-9)):
        for kernel in (ff.j1_over_x, ff._sinc, ff._y_over_sinh, ff._coth_excess):
            assert np.isfinite(kernel(jnp.asarray(x)))
    lo = ff.j1_over_x(jnp.asarray(ff._SERIES_CUTOFF * (1 - 1e-12)))
    hi = ff.j1_over_x(jnp.asarray(ff._SERIES_CUTOFF * (1 + 1e-12)))
    assert abs(lo - hi) < 1e-14  # branches agree at the cutoff to the direct form's rounding


def test_series_kernels_against_high_precision_values():
    # exact values from the closed forms at x = 0.04 evaluated with numpy longdouble
    x = np.longdouble("0.04")
    j1x = (np.sin(x) - x * np.cos(x)) / x**3
    coth = (x / np.tanh(x) - 1) / x**2
    # rtol 1e-9: longdouble carries ~19 digits, the cancellation costs ~ 3 of them here.
    assert float(ff.j1_over_x(jnp.asarray(0.04))) == pytest.approx(float(j1x), rel=1e-9)
    assert float(ff._coth_excess(jnp.asarray(0.04))) == pytest.approx(float(coth), rel=1e-9)


def test_kinematics_inverse_pair():
    m = 67000.0
    T = jnp.logspace(-6, -1, 30)
    # rtol 1e-12: T_max(E_min(T)) = T algebraically.
    np.testing.assert_allclose(recoil_max(e_nu_min(T, m), m), T, rtol=1e-12)
    E = jnp.linspace(1.0, 50.0, 20)
    np.testing.assert_allclose(e_nu_min(recoil_max(E, m), m), E, rtol=1e-12)
    # the paper-000 approximation differs at relative order T/m
    approx = e_nu_min(T, m, "approx")
    np.testing.assert_allclose(approx / e_nu_min(T, m), 1.0, atol=1e-3)


def test_quark_couplings_give_nucleon_weak_charges():
    # Summing Eq. (22) by hand: the kappa s^2 terms cancel for the neutron,
    # g_V^n = -rho/2 + lambda_uL + lambda_uR + 2 (lambda_dL + lambda_dR),
    # g_V^p = rho (1/2 - 2 kappa s^2) + 2 (lambda_uL + lambda_uR) + lambda_dL + lambda_dR.
    s2 = C.SIN2_THETA_W_PAPER000
    lam_u, lam_d = C.LAMBDA_U_L + C.LAMBDA_U_R, C.LAMBDA_D_L + C.LAMBDA_D_R
    q_v_n, _ = xs.weak_charges(0.0, 1.0, 0.0, 0.0, s2)
    q_v_p, _ = xs.weak_charges(1.0, 0.0, 0.0, 0.0, s2)
    # abs 1e-15: a few roundings of numbers of order 1
    assert float(q_v_n) == pytest.approx(-C.RHO_NC_NU_N / 2 + lam_u + 2 * lam_d, abs=1e-15)
    assert float(q_v_p) == pytest.approx(
        C.RHO_NC_NU_N * (0.5 - 2 * C.KAPPA_NC_NU_N * s2) + 2 * lam_u + lam_d, abs=1e-15)
    # tree level (rho = kappa = 1, lambda = 0) gives the textbook -1/2 and 1/2 - 2 s^2:
    assert float(q_v_n) == pytest.approx(-0.5, abs=0.015)  # corrections are ~2%
    assert float(q_v_p) == pytest.approx(0.5 - 2 * s2, abs=0.015)


def test_sm_and_em_cross_sections_closed_forms():
    Z, N, m = 32.0, 41.0, 72.923458956 * C.AMU_MEV - 32 * C.M_ELECTRON
    E, T = jnp.asarray(10.0), jnp.asarray(1e-3)
    qv, qa = xs.weak_charges(Z, N, 0.0, 0.0, 0.23863, "paper004")
    coef = xs.sm_coefficients(T, m, qv, qa, 1.0)
    expected = C.G_FERMI**2 * m / np.pi * (0.5 * (1 - 4 * 0.23863) * Z - 0.5 * N) ** 2 \
        * (1 - m * T / (2 * E**2)) * C.HBARC2_MEV2_CM2
    # rtol 1e-13: same arithmetic in a different order.
    assert float(xs.evaluate(coef, E, T, m)) == pytest.approx(float(expected), rel=1e-13)
    em = xs.evaluate(xs.em_coefficients(T, Z, 1.0), E, T, m)
    expected_em = np.pi * C.ALPHA_EM**2 * 1e-20 * Z**2 / C.M_ELECTRON**2 * (1 / T - 1 / E) \
        * C.HBARC2_MEV2_CM2
    assert float(em) == pytest.approx(float(expected_em), rel=1e-13)
    # above the kinematic end point both vanish
    T_big = recoil_max(E, m) * 1.001
    assert float(xs.evaluate(coef, E, T_big, m)) == 0.0


def test_lindhard_round_trip_and_derivatives():
    Z, A = 32.0, 72.6
    kappa = lindhard_kappa(Z, A)
    T = jnp.logspace(-5, -1.5, 25)
    ee = electron_equivalent(T, Z, kappa)
    # rtol 1e-12: 60 bisection steps + one Newton step reach machine precision.
    np.testing.assert_allclose(nuclear_recoil_from_ee(ee, Z, kappa), T, rtol=1e-12)
    # derivative of the inverse = 1 / Jacobian (implicit function theorem)
    d_inv = jax.vmap(jax.grad(lambda e: nuclear_recoil_from_ee(e, Z, kappa)))(ee)
    np.testing.assert_allclose(d_inv, 1.0 / ee_jacobian(T, Z, kappa), rtol=1e-10)
    # derivative with respect to kappa against a central finite difference
    f = lambda k: nuclear_recoil_from_ee(jnp.asarray(1e-4), Z, k)
    h = 1e-6
    fd = (f(kappa + h) - f(kappa - h)) / (2 * h)
    assert float(jax.grad(f)(kappa)) == pytest.approx(float(fd), rel=1e-7)  # FD error O(h^2)
    # Ge quenching near 10 keVnr is about 0.2 (Lindhard, k = 0.157): sanity of units
    assert 0.18 < float(lindhard(jnp.asarray(0.01), Z, kappa)) < 0.25


def test_momentum_transfer_units():
    # q = sqrt(2 m T): 1 keV on a 100 GeV nucleus gives sqrt(200) MeV
    assert float(momentum_transfer(1e-3, 1e5)) == pytest.approx(np.sqrt(200.0), rel=1e-15)
