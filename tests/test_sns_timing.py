"""SNS arrival-time closed forms against direct numerical convolution."""

import jax
import numpy as np
import pytest
from scipy import integrate, stats

from cevns_jax.sources.sns_timing import (TAU_MUON_US, TAU_PION_US, arrival_bin_probabilities,
                                          arrival_cdf)

MEAN, WIDTH = 0.44, 0.15   # COHERENT LAr 2020 POT trace (LArParametersAnlA.yaml), microseconds


def _numerical_cdf(t, beam):
    """Monte-Carlo-free reference: integrate the decay-time density against the Gaussian CDF."""
    gauss = stats.norm(MEAN, WIDTH)
    if beam == "prompt":
        density = lambda u: np.exp(-u / TAU_PION_US) / TAU_PION_US
    else:
        density = lambda u: ((np.exp(-u / TAU_MUON_US) - np.exp(-u / TAU_PION_US))
                             / (TAU_MUON_US - TAU_PION_US))
    upper = t - MEAN + 12.0 * WIDTH          # gauss.cdf(t - u) < 1e-32 beyond
    if upper <= 0.0:
        return 0.0
    value, _ = integrate.quad(lambda u: density(u) * gauss.cdf(t - u), 0.0, upper,
                              epsabs=1e-13, epsrel=1e-12, limit=400)
    return value


@pytest.mark.parametrize("beam", ["prompt", "delayed_nue"])
@pytest.mark.parametrize("t", [-0.5, 0.3, 0.44, 0.8, 2.0, 6.0, 12.0])
def test_cdf_matches_numerical_convolution(beam, t):
    # 1e-9 absolute: adaptive quad of smooth integrands reaches ~1e-12; the closed form is exact.
    assert float(arrival_cdf(t, beam, MEAN, WIDTH)) == pytest.approx(_numerical_cdf(t, beam),
                                                                     abs=1e-9)


def test_probabilities_sum_to_one_and_prompt_is_early():
    edges = np.linspace(-2.0, 60.0, 621)
    prompt = np.asarray(arrival_bin_probabilities(edges, "prompt", MEAN, WIDTH))
    delayed = np.asarray(arrival_bin_probabilities(edges, "delayed_numubar", MEAN, WIDTH))
    # the delayed tail beyond 62 us is exp(-61.5/2.197) ~ 7e-13
    assert prompt.sum() == pytest.approx(1.0, abs=1e-12)
    assert delayed.sum() == pytest.approx(1.0, abs=1e-11)
    assert np.all(prompt >= -1e-16) and np.all(delayed >= -1e-16)
    # mean arrival: mu + tau_pi (prompt), mu + tau_pi + tau_mu (delayed); bin-centre mean
    # with 0.1 us bins is exact to ~1e-3 us for these smooth densities
    centres = 0.5 * (edges[1:] + edges[:-1])
    assert centres @ prompt == pytest.approx(MEAN + TAU_PION_US, abs=2e-3)
    assert centres @ delayed == pytest.approx(MEAN + TAU_PION_US + TAU_MUON_US, abs=2e-3)


def test_gradient_in_timing_offset_is_finite_and_matches_fd():
    edges = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 6.0])
    f = lambda m: arrival_bin_probabilities(edges, "delayed_nue", m, WIDTH)
    jac = np.asarray(jax.jacfwd(f)(MEAN))
    h = 1e-6
    fd = (np.asarray(f(MEAN + h)) - np.asarray(f(MEAN - h))) / (2 * h)
    assert np.all(np.isfinite(jac))
    np.testing.assert_allclose(jac, fd, rtol=1e-5, atol=1e-10)   # central differences, h = 1e-6


def test_unknown_beam_is_named():
    with pytest.raises(ValueError, match="'late'"):
        arrival_cdf(1.0, "late", MEAN, WIDTH)
