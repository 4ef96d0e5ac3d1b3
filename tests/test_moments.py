"""Tests for cevns_jax.moments (paper 000, Eqs. 5-19 and 37-39)."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax import moments as M
from cevns_jax import moments_closed_forms as CF

N_DRAWS = 50
TOL = 1e-12


def _random_points(seed, n=N_DRAWS):
    """Random moduli in (0, 2), phases in [0, 2 pi), mixing angles in (0, pi/2)."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0.02, math.pi / 2 - 0.02, size=(n, 3))
    osc = M.OscillationParameters(
        s12sq=jnp.asarray(np.sin(theta[:, 0]) ** 2),
        s13sq=jnp.asarray(np.sin(theta[:, 1]) ** 2),
        s23sq=jnp.asarray(np.sin(theta[:, 2]) ** 2),
        delta_cp=jnp.asarray(rng.uniform(0, 2 * math.pi, n)),
        dm21sq=jnp.asarray(rng.uniform(5e-5, 1e-4, n)),
        dm31sq=jnp.asarray(rng.uniform(2e-3, 3e-3, n)),
    )
    moduli = jnp.asarray(rng.uniform(0.0, 2.0, size=(n, 3)))
    xi1 = jnp.asarray(rng.uniform(0, 2 * math.pi, n))
    xi3 = jnp.asarray(rng.uniform(0, 2 * math.pi, n))
    return moduli, xi1, xi3, osc


@functools.lru_cache(maxsize=None)
def _general(beam):
    return jax.jit(jax.vmap(lambda m, x1, x3, o: M.mu_eff_squared(beam, m, x1, x3, o)))


def _flavour_moduli(moduli, xi1, xi3, osc):
    """|Lambda_alpha| through the matrix map lambda = U^* lambda_tilde U^dagger (inverse Eq. 8)."""

    def one(m, x1, x3, o):
        lam = M.mass_to_flavour(M.lambda_mass(M.tmm_complex(m, x1, x3)), M.pmns(o))
        return jnp.abs(M.lambda_vector(lam))

    return jax.vmap(one)(moduli, xi1, xi3, osc)


def _close(a, b, tol=TOL):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=tol)


# --- basics -----------------------------------------------------------------------------


def test_default_parameters_de_salas_2018():
    o = M.DE_SALAS_2018_NO
    assert (o.s12sq, o.s13sq, o.s23sq) == (0.320, 0.02160, 0.547)
    assert (o.dm21sq, o.dm31sq) == (7.55e-5, 2.50e-3)
    assert o.delta_cp == pytest.approx(1.32 * math.pi)


def test_pmns_unitary_det_one_complex128():
    _, _, _, osc = _random_points(1)
    U = jax.vmap(M.pmns)(osc)
    assert U.dtype == jnp.complex128
    eye = np.broadcast_to(np.eye(3), U.shape)
    _close(jnp.conj(jnp.swapaxes(U, -1, -2)) @ U, eye, 1e-14)
    _close(jnp.linalg.det(U), np.ones(N_DRAWS), 1e-14)
    U0 = M.pmns(M.DE_SALAS_2018_NO)
    assert abs(U0[0, 2]) ** 2 == pytest.approx(0.02160, rel=1e-14)
    assert abs(U0[1, 2]) ** 2 == pytest.approx(0.547 * (1 - 0.02160), rel=1e-14)


def test_lambda_matrices_eq6():
    L = jnp.asarray([1.0 + 2.0j, 3.0 - 1.0j, -0.5 + 0.25j])
    lt = M.lambda_mass(L)
    expected = np.array([[0, L[2], -L[1]], [-L[2], 0, L[0]], [L[1], -L[0], 0]])
    _close(lt, expected, 0)
    _close(M.lambda_flavour(L), expected, 0)
    _close(M.lambda_vector(lt), L, 0)


def test_tmm_complex_phase_convention():
    m = jnp.asarray([1.0, 2.0, 3.0])
    L = M.tmm_complex(m, 0.7, 0.3)
    zeta = np.angle(np.asarray(L))
    _close(np.abs(L), m, 1e-15)
    _close(zeta[2] - zeta[1], 0.7, 1e-15)  # xi1 = zeta3 - zeta2
    _close(zeta[0] - zeta[1], 0.3, 1e-15)  # xi3 = zeta1 - zeta2
    _close(zeta[2] - zeta[0], 0.4, 1e-15)  # xi2 = zeta3 - zeta1 = xi1 - xi3


def test_basis_change_roundtrip_and_vector_map():
    moduli, xi1, xi3, osc = _random_points(2)

    def one(m, x1, x3, o):
        U = M.pmns(o)
        Lm = M.tmm_complex(m, x1, x3)
        lt = M.lambda_mass(Lm)
        lam = M.mass_to_flavour(lt, U)
        return (M.flavour_to_mass(lam, U) - lt, lam + jnp.swapaxes(lam, -1, -2),
                M.lambda_vector(lam) - M.lambda_vector_mass_to_flavour(Lm, U))

    back, antisym, vec = jax.vmap(one)(moduli, xi1, xi3, osc)
    _close(back, np.zeros(back.shape), 1e-14)
    _close(antisym, np.zeros(antisym.shape), 1e-14)
    # Lambda_alpha = sum_i U[alpha, i] Lambda_i (det U = 1)
    _close(vec, np.zeros(vec.shape), 1e-14)


def test_flavour_formula_eq5_equals_mass_formula_eq9_random_complex():
    rng = np.random.default_rng(3)
    _, _, _, osc = _random_points(3)
    Lt = rng.normal(size=(N_DRAWS, 3)) + 1j * rng.normal(size=(N_DRAWS, 3))
    am = rng.normal(size=(N_DRAWS, 3)) + 1j * rng.normal(size=(N_DRAWS, 3))
    ap = rng.normal(size=(N_DRAWS, 3)) + 1j * rng.normal(size=(N_DRAWS, 3))

    def one(Lt, am, ap, o):
        U = M.pmns(o)
        lt = M.lambda_mass(Lt)
        return (M.mu_eff_squared_mass(lt, U, am, ap),
                M.mu_eff_squared_flavour(M.mass_to_flavour(lt, U), am, ap))

    mass, flav = jax.vmap(one)(jnp.asarray(Lt), jnp.asarray(am), jnp.asarray(ap), osc)
    assert mass.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(mass), np.asarray(flav), rtol=TOL)


# --- closed forms (Eqs. 10-19) ----------------------------------------------------------


@pytest.mark.parametrize(
    "beam, closed",
    [
        ("reactor_nuebar", CF.closed_form_reactor_eq12),
        ("sns_prompt_numu", CF.closed_form_prompt_eq17),
        ("sns_delayed_nue", CF.closed_form_delayed_nue_eq18),
        ("sns_delayed_numubar", CF.closed_form_delayed_numubar_eq19),
    ],
)
def test_general_formula_equals_mass_basis_closed_form(beam, closed):
    moduli, xi1, xi3, osc = _random_points(10)
    gen = _general(beam)(moduli, xi1, xi3, osc)
    cf = jax.vmap(closed)(moduli, xi1, xi3, osc)
    _close(gen, cf)
    assert np.all(np.asarray(gen) > 1e-6)  # non-trivial draws


def test_reactor_eq11_with_raw_zeta_phases():
    # Eq. 11 in terms of zeta_i: independent of the zeta2 = 0 choice (overall phase).
    moduli, _, _, osc = _random_points(11)
    zeta = jnp.asarray(np.random.default_rng(11).uniform(0, 2 * math.pi, (N_DRAWS, 3)))

    def gen(m, z, o):
        lt = M.lambda_mass(m * jnp.exp(1j * z))
        return M.mu_eff_squared_mass(lt, M.pmns(o), *M.helicity_amplitudes("reactor_nuebar"))

    _close(jax.vmap(gen)(moduli, zeta, osc), jax.vmap(CF.closed_form_reactor_eq11)(moduli, zeta, osc))


def test_flavour_closed_forms_eq10_15_16():
    moduli, xi1, xi3, osc = _random_points(12)
    fm = _flavour_moduli(moduli, xi1, xi3, osc)
    reactor = _general("reactor_nuebar")(moduli, xi1, xi3, osc)
    prompt = _general("sns_prompt_numu")(moduli, xi1, xi3, osc)
    nue = _general("sns_delayed_nue")(moduli, xi1, xi3, osc)
    numubar = _general("sns_delayed_numubar")(moduli, xi1, xi3, osc)
    _close(reactor, CF.closed_form_reactor_flavour(fm))
    _close(prompt, CF.closed_form_prompt_flavour(fm))
    d_nue, d_numubar = CF.closed_form_delayed_flavour(fm)
    _close(nue, d_nue)
    _close(numubar, d_numubar)


def test_eq10_flavour_equals_eq11_mass_through_inverse_eq8():
    moduli, xi1, xi3, osc = _random_points(13)
    fm = _flavour_moduli(moduli, xi1, xi3, osc)
    zeta = jnp.stack([xi3, jnp.zeros_like(xi1), xi1], axis=-1)
    _close(CF.closed_form_reactor_flavour(fm), jax.vmap(CF.closed_form_reactor_eq11)(moduli, zeta, osc))


def test_general_flavour_basis_beams_direct():
    # Eq. 5 directly in the flavour basis with a random complex Lambda_flavour.
    rng = np.random.default_rng(14)
    Lf = rng.normal(size=(N_DRAWS, 3)) + 1j * rng.normal(size=(N_DRAWS, 3))
    lam = M.lambda_flavour(jnp.asarray(Lf))
    absf = np.abs(Lf)
    for beam, closed in (("reactor_nuebar", CF.closed_form_reactor_flavour),
                         ("sns_prompt_numu", CF.closed_form_prompt_flavour),
                         ("sns_delayed_nue", lambda f: CF.closed_form_delayed_flavour(f)[0]),
                         ("sns_delayed_numubar", lambda f: CF.closed_form_delayed_flavour(f)[1])):
        am, ap = M.helicity_amplitudes(beam)
        got = jax.vmap(lambda lm: M.mu_eff_squared_flavour(lm, am, ap))(lam)
        np.testing.assert_allclose(np.asarray(got), np.asarray(closed(absf)), rtol=TOL)


def test_neutrino_and_antineutrino_of_same_flavour_agree_for_all_phases():
    # lambda antisymmetric => lambda lambda^dagger = (lambda^dagger lambda)^*, so the diagonal
    # entries agree: prompt nu_mu == delayed anti-nu_mu, delayed nu_e == reactor anti-nu_e.
    moduli, xi1, xi3, osc = _random_points(15)
    _close(_general("sns_prompt_numu")(moduli, xi1, xi3, osc),
           _general("sns_delayed_numubar")(moduli, xi1, xi3, osc))
    _close(_general("sns_delayed_nue")(moduli, xi1, xi3, osc),
           _general("reactor_nuebar")(moduli, xi1, xi3, osc))


def test_sns_components_dict():
    moduli, xi1, xi3, osc = _random_points(16, n=1)
    o = jax.tree_util.tree_map(lambda x: x[0], osc)
    comps = M.mu_eff_squared_sns_components(moduli[0], xi1[0], xi3[0], o)
    assert tuple(comps) == M.SNS_FULL_BEAM
    for b, v in comps.items():
        _close(v, M.mu_eff_squared(b, moduli[0], xi1[0], xi3[0], o))
    with pytest.raises(ValueError):
        M.mu_eff_squared("sns_full", moduli[0], xi1[0], xi3[0], o)


# --- degenerate reactor direction (Eqs. 13-14) ------------------------------------------


def test_degenerate_direction_all_phases_zero():
    _, _, _, osc = _random_points(20)
    osc = osc._replace(delta_cp=jnp.zeros(N_DRAWS))
    norm = jnp.asarray(np.random.default_rng(20).uniform(0.5, 2.0, N_DRAWS))
    mod = jax.vmap(CF.degenerate_reactor_moduli)(norm, osc)
    zero = jnp.zeros(N_DRAWS)
    gen = _general("reactor_nuebar")(mod, zero, zero, osc)
    assert np.max(np.abs(np.asarray(gen))) < 1e-14
    assert np.max(np.abs(np.asarray(jax.vmap(CF.closed_form_reactor_degenerate_eq13)(mod, osc)))) < 1e-14
    # Eq. 13 is Eq. 12 with all cosines = 1, for any moduli:
    moduli, _, _, _ = _random_points(21)
    _close(jax.vmap(CF.closed_form_reactor_degenerate_eq13)(moduli, osc),
           _general("reactor_nuebar")(moduli, zero, zero, osc))


def test_degenerate_direction_general_phases():
    # The cosine arguments of Eq. 12 vanish whenever xi3 = 0 and xi1 = xi2 = delta_CP.
    _, _, _, osc = _random_points(22)
    norm = jnp.ones(N_DRAWS)
    mod = jax.vmap(CF.degenerate_reactor_moduli)(norm, osc)
    gen = _general("reactor_nuebar")(mod, osc.delta_cp, jnp.zeros(N_DRAWS), osc)
    assert np.max(np.abs(np.asarray(gen))) < 1e-14
    # ... but not for xi1 = 0 when delta_CP is generic: the reactor then sees the moment.
    gen0 = _general("reactor_nuebar")(mod, jnp.zeros(N_DRAWS), jnp.zeros(N_DRAWS), osc)
    assert np.median(np.asarray(gen0)) > 1e-4


# --- oscillations (Eq. 37) -----------------------------------------------------------


def test_phase_constant():
    # Delta m^2 L / 2E = 2.534 * dm2[eV^2] L[m] / E[MeV]  (2 x 1.267)
    assert M.OSC_PHASE_PER_EV2_CM_PER_MEV * 100 == pytest.approx(2.5338653588, rel=1e-9)


@pytest.mark.parametrize("alpha", ["e", "mu", "tau"])
def test_eq37_reduces_at_zero_baseline(alpha):
    moduli, xi1, xi3, osc = _random_points(30)
    a = np.eye(3)[M.FLAVOURS.index(alpha)]

    def one(m, x1, x3, o):
        lt = M.lambda_mass(M.tmm_complex(m, x1, x3))
        U = M.pmns(o)
        return (M.mu_eff_squared_oscillated(alpha, 0.0, 1.0, lt, o),
                M.mu_eff_squared_mass(lt, U, a, np.zeros(3)),
                M.mu_eff_squared_oscillated(alpha, 0.0, 1.0, lt, o, antineutrino=True),
                M.mu_eff_squared_mass(lt, U, np.zeros(3), a))

    osc37, mass, osc37bar, massbar = jax.vmap(one)(moduli, xi1, xi3, osc)
    _close(osc37, mass)
    _close(osc37bar, massbar)


@pytest.mark.parametrize("antineutrino", [False, True])
def test_eq37_equals_eq5_with_propagated_amplitudes(antineutrino):
    moduli, xi1, xi3, osc = _random_points(31)
    rng = np.random.default_rng(31)
    L_cm = jnp.asarray(rng.uniform(1e5, 1e8, N_DRAWS))
    E = jnp.asarray(rng.uniform(1.0, 50.0, N_DRAWS))

    def one(m, x1, x3, o, L, E):
        lt = M.lambda_mass(M.tmm_complex(m, x1, x3))
        U = M.pmns(o)
        m2 = jnp.stack([0.0 * o.dm21sq, o.dm21sq, o.dm31sq])
        prop = jnp.exp(-1j * m2 * L / E * M.OSC_PHASE_PER_EV2_CM_PER_MEV)
        e_mu = jnp.asarray([0.0, 1.0, 0.0])
        if antineutrino:  # a_+(L) = U^* diag(prop) U^T e_mu  (a~_+ = U^T a_+ evolves with prop)
            a = jnp.conj(U) @ (prop * (U.T @ e_mu))
            ref = M.mu_eff_squared_flavour(M.mass_to_flavour(lt, U), jnp.zeros(3), a)
        else:  # a_-(L) = U diag(prop) U^dagger e_mu
            a = U @ (prop * (jnp.conj(U).T @ e_mu))
            ref = M.mu_eff_squared_flavour(M.mass_to_flavour(lt, U), a, jnp.zeros(3))
        return M.mu_eff_squared_oscillated("mu", L, E, lt, o, antineutrino=antineutrino), ref

    got, ref = jax.vmap(one)(moduli, xi1, xi3, osc, L_cm, E)
    _close(got, ref)
    # oscillations matter at these baselines
    zero_L = jax.vmap(lambda m, x1, x3, o: M.mu_eff_squared_oscillated(
        "mu", 0.0, 1.0, M.lambda_mass(M.tmm_complex(m, x1, x3)), o, antineutrino=antineutrino))(
        moduli, xi1, xi3, osc)
    assert np.max(np.abs(np.asarray(got - zero_L))) > 1e-3


# --- solar / Borexino (Eqs. 38-39) --------------------------------------------------------


def test_eq38_equals_incoherent_mixture():
    moduli, xi1, xi3, osc = _random_points(40)
    P = jnp.asarray(np.random.default_rng(40).uniform(0, 1, N_DRAWS))

    def one(m, x1, x3, o, p):
        lt = M.lambda_mass(M.tmm_complex(m, x1, x3))
        return (M.mu_eff_squared_solar(m, p, o),
                M.mu_eff_squared_incoherent(lt, M.solar_mass_probabilities(p, o)),
                jnp.sum(M.solar_coefficients(p, o) * m**2))

    eq38, inc, coef = jax.vmap(one)(moduli, xi1, xi3, osc, P)
    _close(eq38, inc)
    _close(eq38, coef)
    probs = jax.vmap(M.solar_mass_probabilities)(P, osc)
    _close(jnp.sum(probs, axis=-1), np.ones(N_DRAWS), 1e-15)


def test_incoherent_average_of_eq37_vacuum():
    # Vacuum incoherent limit: P_ei = |U_ei|^2 reproduces the L-average of Eq. 37 when
    # the two oscillation frequencies are incommensurate (average over many L).
    o = M.DE_SALAS_2018_NO
    lt = M.lambda_mass(M.tmm_complex(jnp.asarray([0.3, 1.1, 0.7]), 1.0, 2.0))
    L = jnp.linspace(0.0, 3e9, 100001)  # cm, E = 1 MeV: many solar-frequency periods
    avg = jnp.mean(M.mu_eff_squared_oscillated("e", L, jnp.ones_like(L), lt[None], o))
    inc = M.mu_eff_squared_incoherent(lt, jnp.abs(M.pmns(o)[0]) ** 2)
    assert float(avg) == pytest.approx(float(inc), rel=2e-3)


def test_pe1_helpers():
    o = M.DE_SALAS_2018_NO
    assert float(M.pe1_2nu_vacuum(o)) == pytest.approx(0.68, rel=1e-14)
    assert float(M.pe1_2nu_adiabatic(0.862, 0.0, o)) == pytest.approx(0.68, rel=1e-12)
    assert float(M.pe1_2nu_adiabatic(1e3, 100.0, o)) < 1e-3  # high-energy MSW: nu_2 only
    # 7Be at its production density (~90 N_A/cm^3): P_e1 ~ 0.61, well below vacuum c12^2
    assert 0.59 < float(M.pe1_2nu_adiabatic(0.862, 90.0, o)) < 0.62


def test_borexino_table_ii_row():
    o = M.DE_SALAS_2018_NO
    table = np.array([0.44, 0.36, 0.28])
    # P_e1^{2nu} ~ 0.60 (window 0.599-0.614) reproduces Table II; the vacuum value does not.
    for P in (0.600, 0.605, 0.610):
        lim = np.asarray(M.borexino_single_parameter_limits(0.28, P, o))
        np.testing.assert_array_equal(np.round(lim, 2), table)
    lim_vac = np.asarray(M.borexino_single_parameter_limits(0.28, M.pe1_2nu_vacuum(o), o))
    assert np.round(lim_vac[0], 2) != 0.44
    lim_ad = np.asarray(M.borexino_single_parameter_limits(0.28, M.pe1_2nu_adiabatic(0.862, 92.0, o), o))
    np.testing.assert_array_equal(np.round(lim_ad, 2), table)


# --- autodiff, vmap, dtype ----------------------------------------------------------------


@pytest.mark.parametrize("beam", sorted(M.BEAMS))
def test_gradients_match_finite_differences(beam):
    osc0 = M.DE_SALAS_2018_NO
    m0 = jnp.asarray([0.7, 1.3, 0.9])
    p0 = jnp.asarray([0.4, 2.1, osc0.delta_cp])  # xi1, xi3, delta_cp

    @jax.jit
    def f(m, p):
        return M.mu_eff_squared(beam, m, p[0], p[1], osc0._replace(delta_cp=p[2]))

    gm, gp = jax.jit(jax.grad(f, argnums=(0, 1)))(m0, p0)
    h = 1e-5
    eye = np.eye(3)
    fd_m = [(f(m0 + h * eye[i], p0) - f(m0 - h * eye[i], p0)) / (2 * h) for i in range(3)]
    fd_p = [(f(m0, p0 + h * eye[i]) - f(m0, p0 - h * eye[i])) / (2 * h) for i in range(3)]
    assert np.all(np.isfinite(np.asarray(gm))) and np.all(np.isfinite(np.asarray(gp)))
    np.testing.assert_allclose(np.asarray(gm), np.asarray(fd_m), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.asarray(gp), np.asarray(fd_p), rtol=1e-6, atol=1e-9)


def test_gradients_oscillated_and_solar():
    o = M.DE_SALAS_2018_NO

    @jax.jit
    def f(m, L):
        lt = M.lambda_mass(M.tmm_complex(m, 0.3, 1.2))
        return M.mu_eff_squared_oscillated("e", L, 10.0, lt, o) + M.mu_eff_squared_solar(m, 0.6, o)

    m0, L0 = jnp.asarray([0.7, 1.3, 0.9]), 2.0e6
    gm, gL = jax.grad(f, argnums=(0, 1))(m0, L0)
    h = 1e-5
    fd_m = [(f(m0 + h * e, L0) - f(m0 - h * e, L0)) / (2 * h) for e in np.eye(3)]
    fd_L = (f(m0, L0 + 10.0) - f(m0, L0 - 10.0)) / 20.0
    np.testing.assert_allclose(np.asarray(gm), np.asarray(fd_m), rtol=1e-6)
    np.testing.assert_allclose(float(gL), float(fd_L), rtol=1e-6)


def test_vmap_matches_loop_and_float64():
    moduli, xi1, xi3, osc = _random_points(50, n=5)
    batched = jax.vmap(lambda m, a, b, o: M.mu_eff_squared("sns_delayed_numubar", m, a, b, o))(
        moduli, xi1, xi3, osc)
    assert batched.dtype == jnp.float64 and batched.shape == (5,)
    for k in range(5):
        o = jax.tree_util.tree_map(lambda x: x[k], osc)
        _close(batched[k], M.mu_eff_squared("sns_delayed_numubar", moduli[k], xi1[k], xi3[k], o))
    # float64 preserved end to end, including tiny physical magnitudes (1e-11 mu_B)
    v = M.mu_eff_squared("reactor_nuebar", jnp.asarray([3e-11, 0.0, 0.0]), 0.0, 0.0)
    assert v.dtype == jnp.float64
    assert float(v) == pytest.approx(9e-22 * (1 - 0.68 * (1 - 0.0216)), rel=1e-12)
    assert M.mu_eff_squared_solar(jnp.ones(3), 0.6).dtype == jnp.float64
    assert M.borexino_single_parameter_limits(0.28, 0.6).dtype == jnp.float64


def test_closed_forms_fix_the_delta_sign_but_not_the_orientation():
    # The printed closed forms are all cosines, so conjugating *every* phase at once
    # (delta -> -delta, xi -> -xi: the opposite orientation lambda~ = U^dagger lambda U^*)
    # leaves them unchanged ...
    moduli, xi1, xi3, osc = _random_points(60)
    flipped = osc._replace(delta_cp=-osc.delta_cp)
    for beam, closed in (("reactor_nuebar", CF.closed_form_reactor_eq12),
                         ("sns_prompt_numu", CF.closed_form_prompt_eq17)):
        _close(_general(beam)(moduli, -xi1, -xi3, flipped), jax.vmap(closed)(moduli, xi1, xi3, osc))
        # ... while flipping only delta (U_e3 = s13 e^{+i delta}) breaks them for generic input.
        diff = _general(beam)(moduli, xi1, xi3, flipped) - jax.vmap(closed)(moduli, xi1, xi3, osc)
        assert np.median(np.abs(np.asarray(diff))) > 1e-6
