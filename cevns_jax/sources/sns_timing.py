"""Arrival-time structure of the SNS pi-DAR beams.

Neutrinos reach the detector at t = t_POT + t_decay: the proton-on-target time t_POT follows
the beam's POT trace, modelled as a Gaussian (mean ``pot_mean``, width ``pot_width``), and the
decay times are exponential. Prompt nu_mu come from pi+ decay (lifetime tau_pi = 26.03 ns);
delayed nu_e and anti-nu_mu from the subsequent mu+ decay, t_decay = t_pi + t_mu with
tau_mu = 2196.98 ns (PDG 2024).

Closed forms. The Gaussian convolved with one exponential (an exponentially modified Gaussian)
has the CDF

    F(t; tau) = Phi(z) - exp(-x/tau + s^2/2) Phi(z - s),   x = t - mu, z = x/sigma, s = sigma/tau,

evaluated with log Phi so that no term overflows. The sum of two exponentials (hypoexponential)
has CDF [tau_mu E_mu(t) - tau_pi E_pi(t)] / (tau_mu - tau_pi), E_tau(t) = 1 - exp(-t/tau),
so by linearity the delayed CDF is [tau_mu F(t; tau_mu) - tau_pi F(t; tau_pi)] / (tau_mu - tau_pi).

Pure functions of the timing parameters (differentiable in ``pot_mean`` for a beam-timing
offset nuisance); times in microseconds.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import log_ndtr, ndtr

__all__ = ["TAU_PION_US", "TAU_MUON_US", "BEAM_DECAYS", "arrival_cdf", "arrival_bin_probabilities"]

TAU_PION_US = 0.026033     # pi+ lifetime, PDG 2024
TAU_MUON_US = 2.1969811    # mu+ lifetime, PDG 2024

#: Decay chain of each SNS beam: "prompt" (pi decay) or "delayed" (pi then mu decay).
BEAM_DECAYS = {"prompt": "prompt", "delayed_nue": "delayed", "delayed_numubar": "delayed"}


def _exgauss_cdf(t, mean, width, tau):
    """CDF of Gaussian(mean, width) convolved with Exp(tau), stable for all t."""
    x = t - mean
    z = x / width
    s = width / tau
    tail = jnp.exp(-x / tau + 0.5 * s**2 + log_ndtr(z - s))
    return ndtr(z) - tail


def arrival_cdf(t, beam: str, pot_mean, pot_width):
    """P(arrival time < t) for an SNS beam ("prompt", "delayed_nue", "delayed_numubar")."""
    if beam not in BEAM_DECAYS:
        raise ValueError(f"unknown SNS beam {beam!r}; expected one of {tuple(BEAM_DECAYS)}")
    t = jnp.asarray(t, dtype=jnp.float64)
    if BEAM_DECAYS[beam] == "prompt":
        return _exgauss_cdf(t, pot_mean, pot_width, TAU_PION_US)
    f_mu = _exgauss_cdf(t, pot_mean, pot_width, TAU_MUON_US)
    f_pi = _exgauss_cdf(t, pot_mean, pot_width, TAU_PION_US)
    return (TAU_MUON_US * f_mu - TAU_PION_US * f_pi) / (TAU_MUON_US - TAU_PION_US)


def arrival_bin_probabilities(edges, beam: str, pot_mean, pot_width):
    """Probability of arrival in each time bin [edges[i], edges[i+1]) (microseconds)."""
    cdf = arrival_cdf(jnp.asarray(edges, dtype=jnp.float64), beam, pot_mean, pot_width)
    return jnp.diff(cdf)
