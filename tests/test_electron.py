"""Neutrino-electron scattering: kernels against closed forms and the SciPy reference,
binding models against the shell table, rates against adaptive quadrature, gradients at
shell edges, and the named configuration errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax import constants as C
from cevns_jax import datasets
from cevns_jax import electron_rates as er
from cevns_jax.likelihood.physics_model import FlavourMoments, TransitionMoments
from cevns_jax.physics import electron as pe
from cevns_jax.reference import electron as ref
from cevns_jax.spectra import LineSpectrum, TabulatedSpectrum

S2W = 0.23863
POINTS = [(0.01, 1e-5), (0.42, 3e-3), (0.8618, 0.2), (10.0, 5.0), (2.0, 1e-3)]


@pytest.mark.parametrize("flavour", pe.FLAVOURS)
def test_sm_coefficients_match_vogel_engel_closed_form(flavour):
    ref_flavour = flavour.replace("tau", "mu")
    for e_nu, t in POINTS:
        ours = float(pe.evaluate(pe.sm_coefficients(t, flavour, S2W), e_nu, t))
        # rtol 1e-10: the same formula written two ways (g_L,g_R vs g_V,g_A), round-off only
        assert ours == pytest.approx(ref.dsigma_sm(e_nu, t, ref_flavour, S2W), rel=1e-10)


def test_em_coefficients_and_kinematics_closed_forms():
    for e_nu, t in POINTS:
        ours = float(pe.evaluate(pe.em_coefficients(t), e_nu, t))
        assert ours == pytest.approx(ref.dsigma_mm(e_nu, t), rel=1e-10)  # round-off only
        assert float(pe.recoil_max(e_nu)) == pytest.approx(ref.t_max(e_nu), rel=1e-12)
        assert float(pe.e_nu_min(t)) == pytest.approx(ref.e_min(t), rel=1e-12)
        # E_min inverts T_max: rtol 1e-12 (a square root, round-off only)
        assert float(pe.recoil_max(pe.e_nu_min(t))) == pytest.approx(t, rel=1e-12)
    # above T_max the cross section vanishes
    assert float(pe.evaluate(pe.em_coefficients(0.3), 0.42, 0.3)) == 0.0


def test_magnetic_to_weak_ratio_at_small_recoil():
    """dsigma_mu/dsigma_SM for nu_e at T << E -> pi^2 alpha^2 mu^2 /(2 G_F^2 m_e^3 T
    (g_L^2 + g_R^2)) with g_L = 1/2 + s_W^2, g_R = s_W^2 (Vogel & Engel Eqs. 2-3)."""
    e_nu, t = 1.0e3, 1.0e-3                    # T/E = 1e-6
    g2 = (0.5 + S2W) ** 2 + S2W**2
    mu = 1e-10                                 # one library unit, in Bohr magnetons
    analytic = math.pi**2 * (1 / 137.035999084) ** 2 * mu**2 / (
        2 * 1.1663787e-11**2 * 0.51099895**3 * t * g2)
    ratio = (pe.evaluate(pe.em_coefficients(t), e_nu, t)
             / pe.evaluate(pe.sm_coefficients(t, "nue", S2W), e_nu, t))
    # rtol 1e-5: the neglected terms are O(T/E) = 1e-6 and O(m_e T/E^2) = 5e-10
    assert float(ratio) == pytest.approx(analytic, rel=1e-5)


def test_antineutrino_swaps_couplings():
    g_l, g_r = pe.couplings("nuebar", S2W)
    assert (float(g_l), float(g_r)) == pytest.approx((S2W, 0.5 + S2W), rel=1e-15)


@pytest.mark.parametrize("t_kev,count", [(1.0, 40), (2.0, 44), (5.0, 48), (30.0, 52)])
def test_xenon_stepping_counts(t_kev, count):
    """Xe (X-ray Data Booklet): at 1 keV the K, L (>= 4.786 keV), M1 (1.1487) and M2 (1.0021)
    shells are closed: 54 - 14 = 40; at 2 keV all M open: 44; at 5 keV L3 (4.786) opens: 48;
    at 30 keV every L opens, K (34.56 keV) stays closed: 52."""
    assert float(er.electron_target("Xe").electrons(t_kev * 1e-3)) == count
    assert float(er.electron_target("Xe", "free").electrons(t_kev * 1e-3)) == 54


def test_shell_tables_fill_atomic_numbers():
    for element, shells in pe.SHELLS.items():
        assert sum(n for _, _, n in shells) == pe.ATOMIC_NUMBER[element], element


def test_tabulated_correction_interpolates():
    model = er.electron_target("Ge", "tabulated", correction=([1.0, 3.0], [0.5, 0.9]))
    # Z x linear interpolation, held at the end values outside the table
    assert np.asarray(model.electrons(np.array([0.5, 2.0, 9.0]) * 1e-3)) == pytest.approx(
        [32 * 0.5, 32 * 0.7, 32 * 0.9], rel=1e-14)


@pytest.fixture(scope="module")
def pp_and_be7():
    energies, values = datasets.solar_spectrum("pp")
    pp = er.ElectronBeam("pp", "nue", (TabulatedSpectrum(energies, values),), 1.0, 0.55)
    be7 = er.ElectronBeam("be7", "nue", (LineSpectrum(0.8618),), 1.0, 0.55)
    return (energies, values), (pp, be7)


def test_binned_rates_match_scipy_quad(pp_and_be7):
    (energies, values), beams = pp_and_be7
    target = er.electron_target("Xe")
    edges = np.array([1.0, 5.0]) * 1e-3
    t = jax.jit(lambda: er.binned_templates(target, beams, edges, 1.0))()
    shells = pe.SHELLS["Xe"]
    sm_pp = ref.table_rate(energies, values, 1e-3, 5e-3, 0.55, S2W, shells)
    em_pp = ref.table_rate(energies, values, 1e-3, 5e-3, 0.55, S2W, shells, mu=1.0) - sm_pp
    sm_be = ref.line_rate(0.8618, 1e-3, 5e-3, 0.55, S2W, shells)
    em_be = ref.line_rate(0.8618, 1e-3, 5e-3, 0.55, S2W, shells, mu=1.0) - sm_be
    # rtol 1e-6: Gauss-Legendre on smooth pieces vs adaptive quad at epsrel 1e-10
    assert np.asarray(t.sm[:, 0]) == pytest.approx([sm_pp, sm_be], rel=1e-6)
    assert np.asarray(t.em[:, 0]) == pytest.approx([em_pp, em_be], rel=1e-6)


def test_gradient_finite_at_shell_edges(pp_and_be7):
    """Bin edges exactly on the Xe M2 and M1 edges: d N / d sin^2 theta_W is finite and equals
    a central difference."""
    _, beams = pp_and_be7
    target = er.electron_target("Xe")
    edges = np.array([1.0, 1.0021, 1.1487, 5.0]) * 1e-3

    def total(s2w):
        return er.binned_templates(target, beams, edges, 1.0, {"sin2_theta_w": s2w}).sm.sum()

    grad = jax.jit(jax.grad(total))(S2W)
    h = 1e-5
    value = jax.jit(total)
    numeric = (value(S2W + h) - value(S2W - h)) / (2 * h)
    assert np.isfinite(float(grad))
    # rtol 1e-7: the counts are quadratic in sin^2, so the central difference is exact up to
    # round-off of order 1e-16 / 1e-5
    assert float(grad) == pytest.approx(float(numeric), rel=1e-7)


def test_mass_state_beams_feed_every_moment_model():
    beams = er.solar_electron_beams(1.0, components=("be7_862",))
    labels = tuple(b.label for b in beams)
    assert [b.name for b in beams] == ["be7_862_nu1", "be7_862_nu2"]
    # the P_e of each split beam is |U_e1|^2 p1 + |U_e2|^2 p2 + |U_e3|^2 p3 of its label
    flavour = FlavourMoments().mu2({"mu_e": 1.0}, labels)
    assert np.asarray(flavour) == pytest.approx([b.p_e for b in beams], rel=1e-12)
    # paper 000 Eq. 38 with P_e1 = 1: mu^2 = |L|^2 - c13^2 |L1|^2 for Lambda_1 alone
    lam = TransitionMoments().mu2({"lambda1": 1.0}, labels)
    c13sq = 1.0 - float(TransitionMoments().osc.s13sq)
    assert np.asarray(lam) == pytest.approx([1.0 - c13sq, 1.0], rel=1e-12)
    # the split conserves the line's flux
    assert beams[0].fluence + beams[1].fluence == pytest.approx(
        datasets.solar_total_fluxes("B16-GS98")["be7_862"], rel=1e-12)


def test_reactor_antineutrino_beam():
    (beam,) = er.reactor_electron_beams(3e9, 2000.0, 1.0, {"U235": 1.0})
    assert beam.antineutrino and beam.p_e == 1.0 and beam.label == "nuebar"


def test_named_errors():
    with pytest.raises(KeyError, match="Kr"):
        er.electron_target("Kr")
    with pytest.raises(er.ThresholdError, match="lowest binding energy"):
        er.electron_target("Xe", "stepping", threshold_kev=0.01)
    er.electron_target("Xe", "free", threshold_kev=0.01)       # fine without shells
    with pytest.raises(er.ChannelError, match="muon"):
        er.check_channel("muon")
    with pytest.raises(ValueError, match="binding model"):
        er.electron_target("Xe", "rrpa")
    with pytest.raises(ValueError, match="correction table"):
        er.electron_target("Xe", "tabulated")
    with pytest.raises(ValueError, match="strictly increasing"):
        er.electron_target("Xe", "tabulated", correction=([2.0, 1.0], [1.0, 1.0]))
    with pytest.raises(KeyError, match="flux"):
        er.binned_templates(er.electron_target("Xe"), (), [1e-3, 2e-3], 1.0, {"flux": 1.0})


def test_unit_conventions():
    assert er.atoms_per_tonne("Xe") == pytest.approx(1e6 / 131.293 * C.AVOGADRO, rel=1e-15)
    assert float(jnp.asarray(pe.EM_PREFACTOR_CM2)) > 0


def test_config_builds_the_electron_channel():
    config = {"channel": "electron", "element": "Xe", "binding": "stepping",
              "bins": ["1 keV", "5 keV"], "mass": "2 t",
              "source": {"type": "solar", "time": "1 yr", "components": ["be7_862"],
                         "pee_model": "constant"}}
    setup = er.electron_setup(config)
    assert setup.n_atoms == pytest.approx(2 * er.atoms_per_tonne("Xe"), rel=1e-15)
    assert setup.edges_mev == pytest.approx([1e-3, 5e-3], rel=1e-15)
    assert [b.name for b in setup.beams] == ["be7_862"]
    with pytest.raises(er.ChannelError, match="'nucleus'"):
        er.electron_setup({**config, "channel": "nucleus"})
    with pytest.raises(er.ThresholdError, match="lowest binding energy"):
        er.electron_setup({**config, "bins": ["5 eV", "5 keV"]})
    with pytest.raises(KeyError, match="Kr"):
        er.electron_setup({**config, "element": "Kr"})


@pytest.mark.parametrize("antineutrino", [False, True])
def test_differential_rate_of_a_line_is_the_closed_form(antineutrino):
    """dN/dT of a unit line = Z_eff(T) [P_e dsigma_e + (1 - P_e) dsigma_mu + dsigma_mm]."""
    beam = er.ElectronBeam("line", "nuebar" if antineutrino else "nue",
                           (LineSpectrum(1.442),), 2.0, 0.3, antineutrino)
    recoil = np.array([0.5, 1.5, 4.0, 40.0]) * 1e-3
    target = er.electron_target("Xe")
    rate = er.differential_rate(target, (beam,), recoil, 3.0)
    e_lab, mu_lab = ("nuebar", "numubar") if antineutrino else ("nue", "numu")
    for k, t in enumerate(recoil):
        count = ref.stepping_count(pe.SHELLS["Xe"], t * 1e3)
        sm = 0.3 * ref.dsigma_sm(1.442, t, e_lab, S2W) + 0.7 * ref.dsigma_sm(1.442, t, mu_lab, S2W)
        # rtol 1e-10: closed forms on both sides, round-off only
        assert float(rate.sm[0, k]) == pytest.approx(6.0 * count * sm, rel=1e-10)
        assert float(rate.em[0, k]) == pytest.approx(6.0 * count * ref.dsigma_mm(1.442, t),
                                                     rel=1e-10)


def test_adiabatic_split_reproduces_the_survival_probability():
    """sum over the split beams of fluence x P_e = flux x P_ee(E) of the adiabatic MSW model
    (cevns_jax.solar.survival_probability) for the 7Be line: the split is exact."""
    from cevns_jax.moments import DEFAULT_OSCILLATION
    from cevns_jax.solar import survival_probability

    beams = er.solar_electron_beams(1.0, components=("be7_862",))
    flux = datasets.solar_total_fluxes("B16-GS98")["be7_862"]
    p_ee = float(survival_probability(0.8618, "be7_862", "adiabatic", "B16-GS98",
                                      DEFAULT_OSCILLATION))
    # rtol 1e-12: both sides are the same linear function of P_e1, round-off only
    assert sum(b.fluence * b.p_e for b in beams) == pytest.approx(flux * p_ee, rel=1e-12)
    # matter effects lower 7Be below the vacuum average (0.541 here) but far above 8B (~0.34)
    assert 0.45 < p_ee < 0.54


def test_unit_correction_table_equals_free_electrons(pp_and_be7):
    _, beams = pp_and_be7
    edges = np.array([1.0, 3.0]) * 1e-3
    free = er.binned_templates(er.electron_target("Ge", "free"), beams, edges, 1.0)
    unit = er.binned_templates(
        er.electron_target("Ge", "tabulated", correction=([0.1, 100.0], [1.0, 1.0])),
        beams, edges, 1.0)
    # rtol 1e-13: identical integrands (Z x 1), round-off only
    assert np.asarray(unit.em) == pytest.approx(np.asarray(free.em), rel=1e-13)
