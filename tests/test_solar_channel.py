"""Solar channel (cevns_jax.solar): fluxes, flavour composition, adiabatic P_ee, effective
moments, 8B rates against closed forms and published numbers, 004 Figure 2 spectra."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cevns_jax import datasets, effective_moments, moments, solar
from cevns_jax import constants as C
from cevns_jax.rates import binned_templates
from cevns_jax.physics.quenching import ee_jacobian, nuclear_recoil_from_ee
from cevns_jax.sources.solar import solar_beams
from cevns_jax.spectra import integrate_density

OSC = solar.PAPER004_OSCILLATION


# --------------------------------------------------------------------------------------
# fluxes and spectra
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["BS05OP", "B16-GS98", "B16-AGSS09met"])
def test_flux_times_spectrum_integrates_to_tabulated_total(model):
    totals = datasets.solar_total_fluxes(model)
    for beam in solar_beams(1.0, model):  # 1 s: fluence = flux [cm^-2]
        integral = sum(float(integrate_density(p)) for p in beam.parts) * beam.fluence
        # rtol 1e-3: the acceptance criterion; tables are renormalised to unit trapezoid
        # integral, lines are exact, so the actual agreement is ~1e-12
        assert integral == pytest.approx(totals[beam.name], rel=1e-3), beam.name


def test_adiabatic_split_conserves_every_spectrum():
    exp = solar.build_solar_experiment(solar.solar_config("Xe", "0.001 keVnr"),
                                       drop_unreachable=False)
    channel = solar.solar_channel(exp, "adiabatic")
    assert channel.n_beams == 2 * len(exp.beams)
    for beam in exp.beams:
        parts = [b for b, c in zip(channel.experiment.beams, channel.components)
                 if c == beam.name]
        split = sum(float(integrate_density(b.parts[0])) * b.fluence for b in parts)
        whole = float(integrate_density(beam.parts[0])) * beam.fluence
        # 1e-12: f P + f (1 - P) = f knot by knot, only round-off differs
        assert split == pytest.approx(whole, rel=1e-12), beam.name
    np.testing.assert_array_equal(channel.pe1[::2], 1.0)
    np.testing.assert_array_equal(channel.pe1[1::2], 0.0)


# --------------------------------------------------------------------------------------
# flavour composition
# --------------------------------------------------------------------------------------
def test_constant_composition_is_paper004_eqs_8_to_11():
    s12, s13, s23 = OSC.s12sq, OSC.s13sq, OSC.s23sq
    p_eff = 1.0 - 0.5 * (4.0 * s12 * (1.0 - s12))  # Eq. 11
    p_ee = p_eff * (1.0 - s13) ** 2 + s13**2  # Eq. 8
    expected = [p_ee, (1 - p_ee) * (1 - s23), (1 - p_ee) * s23]  # Eqs. 9-10
    got = solar.flavour_composition(1.0 - s12, OSC)
    # 1e-14: same closed form, different algebra (c12^4 + s12^4 vs 1 - sin^2(2 theta)/2)
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    np.testing.assert_allclose(got, effective_moments.solar_flavour_composition(OSC), rtol=1e-14)


@pytest.mark.parametrize("pee_model", ["constant", "adiabatic"])
def test_composition_sums_to_one(pee_model):
    exp = solar.build_solar_experiment(solar.solar_config("Ge", "0.001 keVnr"),
                                       drop_unreachable=False)
    channel = solar.solar_channel(exp, pee_model)
    comp = np.asarray(channel.composition)
    assert np.all(comp >= 0)
    np.testing.assert_allclose(comp.sum(axis=1), 1.0, rtol=0, atol=1e-15)  # round-off only
    pe1 = np.random.default_rng(1).uniform(0, 1, 50)
    np.testing.assert_allclose(np.asarray(solar.flavour_composition(pe1)).sum(-1), 1.0,
                               atol=1e-15)
    np.testing.assert_allclose(np.asarray(solar.mass_composition(pe1)).sum(-1), 1.0, atol=1e-15)


def test_adiabatic_survival_probability():
    energies = np.array([0.1, 0.3, 0.862, 2.0, 5.0, 10.0, 14.0])
    p_b8 = np.asarray(solar.survival_probability(energies, "b8", "adiabatic"))
    assert np.all(np.diff(p_b8) < 0)  # MSW: P_ee falls from the vacuum to the matter regime
    p_vacuum = float(solar.survival_probability(0.1, "b8", "constant"))
    # 0.01: at 0.1 MeV matter effects shift P_ee by < 1 % (beta ~ 0.02)
    assert p_b8[0] == pytest.approx(p_vacuum, abs=0.01)
    # SNO+SK measure P_ee(10 MeV) ~ 0.31-0.33 (SNO, PRC 88, 025501 (2013): 0.317 +- 0.016 at
    # 10 MeV in the polynomial fit); 0.03 covers the fit error and the oscillation inputs
    assert p_b8[5] == pytest.approx(0.317, abs=0.03)
    # paper 000 / moments docstring: P_e1^{2nu} ~ 0.60 at the 7Be production density (2018 fit)
    pe1_be7 = float(solar.pe1_production_averaged(0.862, "be7_862", "BS05OP",
                                                  moments.DE_SALAS_2018_NO))
    assert pe1_be7 == pytest.approx(0.605, abs=0.015)  # the 0.599-0.614 window quoted there


def test_radial_profiles_and_errors():
    r, n_e, w = solar.radial_profile("B16-GS98", "b8")
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    # 8B is produced deep in the core: mean radius ~ 0.05 R_sun, n_e ~ 90-100 N_A/cm^3
    assert 0.03 < float(np.sum(w * r)) < 0.08
    assert 70 < float(np.sum(w * n_e)) < 110
    with pytest.raises(ValueError, match="SFII"):
        solar.radial_profile("SFII-GS98", "b8")
    with pytest.raises(ValueError, match="kryptonite"):
        solar.radial_profile("BS05OP", "kryptonite")
    exp = solar.build_solar_experiment(solar.solar_config("Ge", "0.001 keVnr", components=["b8"]))
    with pytest.raises(ValueError, match="vacuum"):
        solar.solar_channel(exp, "vacuum")
    with pytest.raises(ValueError, match="source.type"):
        solar.build_solar_experiment({"source": {"type": "reactor"}})


def test_effective_moments_per_beam():
    exp = solar.build_solar_experiment(solar.solar_config("Xe", "0.001 keVnr",
                                                          components=["b8", "hep"]))
    const = solar.solar_channel(exp)
    mu = jnp.array([3.0, 5.0, 7.0])
    expected = effective_moments.flavour_mu2(("nue_solar",) * 2, mu, OSC)
    np.testing.assert_allclose(solar.mu2_flavour(const, mu), expected, rtol=1e-14)
    lam = jnp.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        solar.mu2_tmm(const, lam),
        moments.mu_eff_squared_solar(lam, moments.pe1_2nu_vacuum(OSC), OSC) * jnp.ones(2),
        rtol=1e-14)
    adiabatic = solar.solar_channel(exp, "adiabatic")
    # Eq. 38 is linear in P_e1: pe1 = 1 and 0 bracket every solar value
    values = np.asarray(solar.mu2_tmm(adiabatic, lam))
    np.testing.assert_allclose(values[0], moments.mu_eff_squared_solar(lam, 1.0, OSC))
    np.testing.assert_allclose(values[1], moments.mu_eff_squared_solar(lam, 0.0, OSC))
    with pytest.raises(ValueError, match="3 entries"):
        solar.mu2_flavour(const, [1.0, 2.0])


def test_beam_labels_for_the_moment_models():
    """Constant channels read paper 004's composition ("nue_solar"); adiabatic ones are
    mass-state beams whose electron fraction is the channel's own P_ee (000 Eq. 39 with
    |U_e1|^2 = c13^2 c12^2, |U_e2|^2 = c13^2 s12^2, |U_e3|^2 = s13^2)."""
    from cevns_jax.likelihood.physics_model import FlavourMoments, MassStateBeam

    exp = solar.build_solar_experiment(solar.solar_config("Xe", "0.001 keVnr",
                                                          components=["b8", "hep"]))
    assert solar.beam_labels(solar.solar_channel(exp, solar.PAPER004_PEE_MODEL)) == \
        ("nue_solar",) * 2
    adiabatic = solar.solar_channel(exp, solar.MSW_PEE_MODEL)
    labels = solar.beam_labels(adiabatic)
    assert [b.label for b in labels] == ["b8_nu1", "b8_nu2", "hep_nu1", "hep_nu2"]
    assert all(isinstance(b, MassStateBeam) for b in labels)
    model = FlavourMoments(adiabatic.osc)
    p_e = np.asarray(model.mu2({"mu_e": 1.0}, labels))
    # 1e-12: the same probabilities by two routes (PMNS moduli vs 004 Eq. 8), round-off only
    np.testing.assert_allclose(p_e, np.asarray(adiabatic.composition)[:, 0], rtol=1e-12)
    p_all = np.asarray(model.mu2({"mu_e": 1.0, "mu_mu": 1.0, "mu_tau": 1.0}, labels))
    np.testing.assert_allclose(p_all, 1.0, rtol=1e-12)  # unitarity


# --------------------------------------------------------------------------------------
# 8B rates: closed form, merge exactness, published numbers
# --------------------------------------------------------------------------------------
def _freedman_sigma(energy, nuclear_mass, q, t0):
    """Cross section of 004 Eq. 2 with F = 1 integrated over T in [t0, T_max] (exact kinematics,
    Eq. 14): sigma = G_F^2 Q^2 m / pi [(T_max - t0) - m (T_max^2 - t0^2) / (4 E^2)] [cm^2]."""
    t_max = np.maximum(2 * energy**2 / (2 * energy + nuclear_mass), t0)
    e2 = np.where(energy > 0, energy, 1.0) ** 2  # the table starts at E = 0 (T_max = t0 there)
    return (C.G_FERMI**2 * q**2 * nuclear_mass / math.pi * C.HBARC2_MEV2_CM2
            * ((t_max - t0) - nuclear_mass * (t_max**2 - t0**2) / (4 * e2)))


@pytest.fixture(scope="module")
def b8_totals():
    """All-recoil 8B events (threshold 1 eVnr) on Ge and Xe (F = 1) and Xe (Helm), 1 t yr."""
    out = {}
    for material, ff in (("Ge", "unity"), ("Xe", "unity"), ("Xe", "helm")):
        cfg = solar.solar_config(material, "0.001 keVnr", mass="1 t", time="1 yr",
                                 model="B16-GS98", components=["b8"], form_factor=ff)
        exp = solar.build_solar_experiment(cfg)
        events = jax.jit(lambda e=exp: binned_templates(e).sm.sum())()
        out[(material, ff)] = (exp, float(events))
    return out


@pytest.mark.parametrize("material", ["Ge", "Xe"])
def test_b8_total_rate_matches_freedman_closed_form(b8_totals, material):
    exp, events = b8_totals[(material, "unity")]
    energies, density = datasets.solar_spectrum("b8")
    fine = np.linspace(energies[0], energies[-1], 200001)
    f = np.interp(fine, energies, density)
    target = exp.detector.target
    expected = 0.0
    for m, z, n, nn in zip(np.asarray(target.nuclear_mass), np.asarray(target.Z),
                           np.asarray(target.N), np.asarray(target.n_nuclei)):
        q = 0.5 * (1 - 4 * 0.23863) * z - 0.5 * n  # 004 Eq. 3
        expected += nn * np.trapezoid(f * _freedman_sigma(fine, m, q, 1e-6), fine)
    expected *= exp.beams[0].fluence
    # rtol 1e-8: the library integrates the piecewise-linear table exactly; the reference
    # trapezoid on 2e5 points of that table is good to ~1e-11 (observed agreement 1e-12)
    assert events == pytest.approx(expected, rel=1e-8)


def test_b8_xe_cross_section_vs_xenonnt_measurement(b8_totals):
    exp, events = b8_totals[("Xe", "helm")]
    sigma = events / (float(np.sum(np.asarray(exp.detector.target.n_nuclei)))
                      * exp.beams[0].fluence)
    # XENONnT PRL 133, 191002 (2024) abstract: flux-weighted CEvNS cross section on Xe
    # (1.1 +0.8 -0.5) x 1e-39 cm^2, "consistent with the SM": the SM value must lie in the band
    assert 0.6e-39 < sigma < 1.9e-39
    # coherence: without form factor sigma ~ G_F^2 Q_W^2 <E^2> / (4 pi) for both targets
    sigmas = {}
    for material in ("Ge", "Xe"):
        exp_m, events_m = b8_totals[(material, "unity")]
        sigmas[material] = events_m / (float(np.sum(np.asarray(exp_m.detector.target.n_nuclei)))
                                       * exp_m.beams[0].fluence)
    qw = lambda z, n: n - (1 - 4 * 0.23863) * z
    ratio_q = (qw(32, 40.63) / qw(54, 77.29)) ** 2  # natural-abundance mean N
    # 1 %: the T_max(1 - m T / 2E^2) terms differ by O(E / m_A) ~ 1e-4 and the isotope spread
    # of Q_W^2 around the mean-N value by ~1e-3
    assert sigmas["Ge"] / sigmas["Xe"] == pytest.approx(ratio_q, rel=0.01)
    # the Helm form factor only trims the high-recoil tail: most 8B recoils on Xe sit below
    # 1 keV (q R < 0.5), so the all-recoil suppression is a few percent (observed 2 %)
    assert 0.95 < sigma / sigmas["Xe"] < 1.0


def test_merge_to_constant_is_exact():
    cfg = solar.solar_config("Xe", "1.0 keVnr", bins=["1.0 keVnr", "2.0 keVnr", "4.0 keVnr"],
                             components=["b8"], mass="1 t", time="1 yr")
    exp = solar.build_solar_experiment(cfg)
    adiabatic = solar.solar_channel(exp, "adiabatic")
    both = jax.jit(lambda: (binned_templates(adiabatic.experiment), binned_templates(exp)))()
    constant, merge = solar.merge_to_constant(adiabatic)
    # 1e-10: linear in the spectrum, the two split tables add up to the original knot by knot
    np.testing.assert_allclose(merge @ both[0].sm, both[1].sm, rtol=1e-10)
    np.testing.assert_allclose(merge @ both[0].em, both[1].em, rtol=1e-10)
    np.testing.assert_allclose(constant.pe1, 1 - OSC.s12sq)


# --------------------------------------------------------------------------------------
# 004 Figure 2 spectra
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ge_spectra():
    e_nr = np.geomspace(0.05, 3.0, 12)
    channel = solar.spectra_channel("Ge", components=("b8",), kappa=0.162)
    nr = jax.jit(lambda e: solar.channel_spectra(channel, e, "nr"))(jnp.asarray(e_nr * 1e-3))
    t_ee = np.geomspace(0.02, 0.5, 10)  # keVee
    ee = jax.jit(lambda e: solar.channel_spectra(channel, e, "ee"))(jnp.asarray(t_ee * 1e-3))
    return e_nr, nr, t_ee, ee, channel


def test_spectra_em_scales_and_sum(ge_spectra):
    e_nr, (sm, em), *_ = ge_spectra
    sp = solar.SolarSpectra(e_nr, "nr", "Ge", ("b8",), np.asarray(sm), np.asarray(em), "")
    for mu in solar.PAPER004_FIGURE2_MOMENTS:
        total = solar.spectra_rate(sp, (mu, mu, mu))
        # equal moments: compositions sum to one, so the EM part is mu^2 x the unit rate
        np.testing.assert_allclose(total, sp.sm[0] + mu**2 * sp.em[0].sum(0), rtol=1e-12)
    ratio = (sp.em[0].sum(0) / sp.sm[0])[e_nr < 1.0]
    # below 1 keVnr the MM excess grows towards low recoil (004 Sect. 4); near the 8B end point
    # the SM factor (1 - m T / 2E^2) vanishes first, so the ratio turns up again there
    assert np.all(np.diff(ratio) < 0)
    # 004 Sect. 4: for mu = 1e-9 mu_B the MM contribution is clearly visible below 1 keVnr
    assert solar.spectra_rate(sp, (10, 10, 10))[0] > 5 * sp.sm[0, 0]
    with pytest.raises(ValueError, match="mu_flavour"):
        solar.spectra_rate(sp, (1.0, 2.0))


def test_spectra_ee_jacobian(ge_spectra):
    *_, t_ee, (sm_ee, em_ee), channel = ge_spectra
    t_nr = nuclear_recoil_from_ee(jnp.asarray(t_ee * 1e-3), 32.0, 0.162)  # all Ge isotopes Z=32
    sm_nr, _ = jax.jit(lambda t: solar.channel_spectra(channel, t, "nr"))(t_nr)
    jac = ee_jacobian(t_nr, 32.0, 0.162)
    # dR/dT_ee = dR/dT_nr / (Q + T dQ/dT) (004 Eq. 17); 1e-10: same integrand, round-off
    np.testing.assert_allclose(np.asarray(sm_ee), np.asarray(sm_nr / jac), rtol=1e-10)


def test_spectra_wrapper_and_errors():
    sp = solar.spectra("Ar", [0.5, 1.0], components=["b8"])
    assert sp.sm.shape == (1, 2) and sp.em.shape == (1, 3, 2)
    assert sp.unit == "events / (kg keVnr day)"
    with pytest.raises(ValueError, match="scale"):
        solar.spectra("Xe", [1.0], scale="pe")
    with pytest.raises(ValueError, match="positive"):
        solar.spectra("Xe", [-1.0])
