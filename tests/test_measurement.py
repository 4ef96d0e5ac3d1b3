"""The measurement model and the profile-likelihood drivers: closed forms, SciPy, traces."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from cevns_jax.analyses.paper000_counting import eq34_measurement, eq35_measurement
from cevns_jax.inference import profile_grid as pg
from cevns_jax.inference import profile_likelihood as pl
from cevns_jax.likelihood import chi2_coherent_csi, chi2_single_nuisance
from cevns_jax.likelihood.measurement import Channel, Components, Measurement, Nuisance, profile
from cevns_jax.likelihood.physics_model import (EffectiveMoment, FlavourMoments, MassStateBeam,
                                                TransitionMoments, channel_mu2s)

SM = np.array([60.0, 35.0, 45.0])        # per-beam SM counts of an SNS-like setup
EM = np.array([0.8, 0.5, 0.6])           # unit-moment EM counts
BEAMS = ("prompt", "delayed_nue", "delayed_numubar")
FLAVOURS = ("numu", "nue", "numubar")


def _poisson_measurement(observed, bkg_sigma=0.1):
    def expected(data, nu):
        return Components(data["sm"] * (1.0 + nu["norm"]), data["em"] * (1.0 + nu["norm"]),
                          data["bkg"] * (1.0 + nu["bkg"]))
    channel = Channel(observed=jnp.asarray(observed, dtype=float),
                      data={"sm": jnp.array([[5.0, 12.0, 3.0]]), "em": jnp.array([[1.0, 0.5, 0.2]]),
                            "bkg": jnp.array([4.0, 9.0, 3.0])},
                      name="toy", beams=("nuebar",), expected_fn=expected)
    return Measurement((channel,), (Nuisance("norm", 0.0, 0.15),
                                    Nuisance("bkg", 0.0, bkg_sigma, lower=-1.0)))


@pytest.mark.parametrize("mu2", [0.0, 3.0, 40.0])
def test_eq35_profiled_matches_closed_form(mu2):
    m = eq35_measurement("X:current", "current", FLAVOURS, BEAMS, SM, EM, nuisance="profiled")
    value, _ = profile(m, [jnp.full(3, mu2)])
    n = SM.sum() + mu2 * EM.sum()
    # one Newton step is exact for a nuisance entering linearly; 1e-10 is round-off
    assert float(value) == pytest.approx(float(chi2_single_nuisance(n, SM.sum(), 0.2, 0.2)),
                                         rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("mu2", [0.0, 10.0, 200.0])
def test_eq34_profiled_matches_closed_form(mu2):
    m = eq34_measurement("CsI:current", FLAVOURS, BEAMS, SM, EM)
    value, nu = profile(m, [jnp.full(3, mu2)])
    n = SM.sum() + mu2 * EM.sum()
    assert float(value) == pytest.approx(float(chi2_coherent_csi(n)), rel=1e-10)


def test_poisson_profile_matches_scipy_and_gradient_is_envelope():
    m = _poisson_measurement([10.0, 20.0, 5.0])
    mu2s = [jnp.array([0.7])]
    value, nu = profile(m, mu2s)
    f = lambda x: float(m.twice_nll(mu2s, {"norm": x[0], "bkg": x[1]}))
    ref = optimize.minimize(f, [0.0, 0.0], method="Nelder-Mead",
                            options={"xatol": 1e-11, "fatol": 1e-13, "maxiter": 4000})
    assert float(value) == pytest.approx(ref.fun, rel=1e-9)     # Nelder-Mead tolerance
    np.testing.assert_allclose([nu["norm"], nu["bkg"]], ref.x, atol=1e-5)
    g = jax.grad(lambda s: profile(m, [jnp.array([s])])[0])(0.7)
    h = 1e-5
    fd = (profile(m, [jnp.array([0.7 + h])])[0] - profile(m, [jnp.array([0.7 - h])])[0]) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-6)        # central difference, h = 1e-5


def test_bounds_are_respected():
    m = _poisson_measurement([0.0, 0.0, 0.0], bkg_sigma=10.0)   # data pull the background to -1
    _, nu = profile(m, [jnp.zeros(1)])
    assert float(nu["bkg"]) >= -1.0


def test_sum_shares_nuisances_by_name():
    a = _poisson_measurement([10.0, 20.0, 5.0])
    b = _poisson_measurement([12.0, 18.0, 6.0])
    both = a + b
    assert both.nuisance_names == ("norm", "bkg") and len(both.channels) == 2
    mu2s = [jnp.zeros(1), jnp.zeros(1)]
    nu = {"norm": 0.05, "bkg": -0.1}
    stat = lambda m, k: float(m.twice_nll([jnp.zeros(1)], nu) - m.nuisances[0].penalty(0.05)
                              - m.nuisances[1].penalty(-0.1))
    # constraint terms counted once: combined = both statistics + one set of penalties
    expected = stat(a, 0) + stat(b, 1) + (0.05 / 0.15) ** 2 + (0.1 / 0.1) ** 2
    assert float(both.twice_nll(mu2s, nu)) == pytest.approx(expected, rel=1e-12)
    renamed = b.prefixed("b", keep=("norm",))
    assert (a + renamed).nuisance_names == ("norm", "bkg", "b/bkg")
    nu_b = {"norm": 0.05, "b/bkg": -0.1}
    assert float(renamed.twice_nll(mu2s[:1], nu_b)) == pytest.approx(
        float(b.twice_nll(mu2s[:1], nu)), rel=1e-14)
    with pytest.raises(ValueError, match="shared nuisance 'norm'"):
        a + Measurement(b.channels, (Nuisance("norm", 0.0, 0.3), Nuisance("bkg", 0.0, 0.1)))


def test_unknown_names_are_refused():
    m = _poisson_measurement([10.0, 20.0, 5.0])
    with pytest.raises(KeyError, match=r"'lamda1'.*known: \['lambda1'"):
        channel_mu2s(m, TransitionMoments(), {"lamda1": 1.0})
    with pytest.raises(KeyError, match="'nrom'"):
        m.twice_nll([jnp.zeros(1)], {"nrom": 0.1})
    with pytest.raises(KeyError, match="'mu_x'"):
        pl.upper_limit(m, FlavourMoments(), "mu_x")


def test_physics_models_agree_on_pure_flavour_beams():
    """nu_e beam: the flavour model with mu_e equals the effective model with mu = mu_e; a
    mass-state beam with P_e1..3 = |U_e i|^2 gives the same flavour weights as a nu_e beam."""
    from cevns_jax import moments
    u2 = np.abs(np.asarray(moments.pmns(moments.DEFAULT_OSCILLATION))) ** 2
    beam = MassStateBeam("e-like", *u2[0])
    flav = FlavourMoments().mu2({"mu_e": 2.0, "mu_mu": 1.0}, ("nue", beam))
    # |U|^2 is doubly stochastic, so P_e of the mass-state beam is sum_i |U_ei|^4 (not 1)
    p_e = float(np.sum(u2[0] ** 2))
    p_mu = float(u2[1] @ u2[0])
    assert float(flav[0]) == pytest.approx(4.0, rel=1e-14)
    assert float(flav[1]) == pytest.approx(4.0 * p_e + p_mu, rel=1e-12)
    assert float(EffectiveMoment().mu2({"mu": 2.0}, ("nue",))[0]) == pytest.approx(4.0)


def test_limits_compile_once_per_structure():
    """A second limit with new numbers (same structure) and another parameter traces nothing."""
    model = TransitionMoments()
    first = eq35_measurement("LAr:current", "current", FLAVOURS, BEAMS, SM, EM)
    pl.upper_limit(first, model, "lambda1")
    before = (dict(pl.TRACE_COUNT), dict(pg.TRACE_COUNT))
    second = eq35_measurement("LAr:current", "current", FLAVOURS, BEAMS, 2.0 * SM, 1.5 * EM)
    result = pl.upper_limit(second, model, "lambda2")
    assert (pl.TRACE_COUNT, pg.TRACE_COUNT) == before
    assert result.valid


def test_limit_not_reached_is_reported_not_crashed():
    m = eq35_measurement("tiny:current", "current", FLAVOURS, BEAMS, SM, EM * 1e-16)
    result = pl.upper_limit(m, TransitionMoments(), "lambda1", upper=100.0)
    assert not result.valid and np.isnan(result.value)
    assert "not reached within [0, 100]" in result.status


def test_nuisance_errors_match_closed_form_for_gaussian_constraint():
    """No data sensitivity to 'bkg' beyond its prior: a Gaussian measurement of a total with
    variance V and a normalisation nuisance a (sigma s) has sigma_a^-2 = N^2/V + 1/s^2."""
    m = eq35_measurement("X:future", "future", FLAVOURS, BEAMS, SM, EM, nuisance="profiled")
    mu2s = [jnp.zeros(3)]
    _, nu = profile(m, mu2s)
    n = SM.sum()
    variance = (1.0 + 0.1) * n               # "printed" denominator of Eq. 35
    expected = (n**2 / variance + 1.0 / 0.1**2) ** -0.5
    errors = pl.nuisance_errors(m, mu2s, nu)
    assert errors["signal"] == pytest.approx(expected, rel=1e-10)


def test_profile_converges_with_large_counts():
    """One bin, n = 2.5e6 observed, S = 2.4e6 expected x (1 + a), a ~ N(0, 0.1): the minimum
    of 2 (mu - n + n ln(n / mu)) + (a / sigma)^2 solves (S + a / sigma^2)(1 + a) = n, a
    quadratic (closed form). The deviance's round-off (~1e-9) exceeds its change near the
    minimum; the profile still reaches a to 1e-12, so the envelope-theorem derivative in the
    moment (d/d mu2 at fixed a) is right too."""
    from cevns_jax.likelihood.counting import binned_poisson_measurement

    S, n, sigma = 2.4e6, 2.5e6, 0.1
    m = binned_poisson_measurement("big", ("nue",), [[S]], [[1e4]], n_obs=[n],
                                   signal_sigma=sigma)
    b = S + 1.0 / sigma**2
    q = -0.5 * (b + np.sqrt(b * b - 4.0 * (S - n) / sigma**2))
    closed = (S - n) / q                        # the positive root, without cancellation
    value, nu = profile(m, [jnp.zeros(1)])
    assert float(nu["signal"]) == pytest.approx(closed, rel=1e-12)
    slope = jax.grad(lambda mu2: profile(m, [mu2])[0])(jnp.zeros(1))[0]
    # d/d mu2 of 2 (mu - n + n ln(n/mu)) with mu = (1 + a)(S + mu2 E), E = 1e4, is
    # 2 (1 - n/mu)(1 + a) E, and at the minimum 1 - n/mu = -a / (sigma^2 S); the profile's
    # own 1 - n/mu loses ~1e-10 to cancellation, hence 1e-8
    expected = -2.0 * closed / (sigma**2 * S) * (1.0 + closed) * 1e4
    assert float(slope) == pytest.approx(expected, rel=1e-8)


def test_profile_gradient_is_smooth_with_large_counts():
    """Nine bins with up to 2.4e6 counts (a reactor Ge design study): the deviance's
    round-off (~1e-9) hides its change near the minimum from the value test, and the profile
    used to stop ~1e-8 short in the nuisance, which made the envelope-theorem gradient jump
    by ~1e-6 between moments 1e-11 apart. Converged to the gradient's precision it is smooth:
    1e-9 relative between the three points (their true change is ~1e-11)."""
    from cevns_jax.likelihood.counting import binned_poisson_measurement

    S = np.array([2.3682725e6, 1.382777e5, 3.52034e4, 7947.3, 1622.3, 325.6, 66.9, 11.7, 1.0])
    E = np.array([8.337888e4, 4728.6, 1304.54, 322.89, 69.76, 13.99, 2.94, 0.64, 0.09])
    B = np.array([36525.0] + [18262.5] * 8)
    m = binned_poisson_measurement("design", ("nuebar",), S[None], E[None], n_obs=S + B,
                                   background=B, signal_sigma=0.1)
    grad = jax.jit(jax.grad(lambda mu2: profile(m, [mu2[None]])[0]))
    x = 2.163123471506356
    g = np.array([float(grad(jnp.asarray((x + k * 1e-11) ** 2))) for k in range(3)])
    np.testing.assert_allclose(g, g[0], rtol=1e-9)
