"""COHERENT CsI[Na] 2021 response: nuclear recoil -> photoelectrons (PE), arrival time -> t_rec.

Pure JAX functions of their parameters (differentiable in every nuisance), following the
data release of arXiv:2110.07730 (PRL 129, 081801 (2022)):

- Scintillation response (release file ``scintRespCoefficients``):
  Eee(T) = a T + b T^2 + c T^3 + d T^4, T in MeVnr, Eee in MeVee.
- Mean PE = LY Eee with LY = 13.35 PE/keVee (paper); the PE count is Gamma distributed with
  mean LY Eee and shape k = 1 + 9.56 Eee[keVee], i.e. the release's
  P(x | Eee) = (a(1+b))^(1+b) / Gamma(1+b) x^b exp(-a(1+b) x), a = 0.0749/Eee, b = 9.56 Eee
  (1/0.0749 = 13.35 = LY, so the mean is LY Eee and the variance mean^2 / (1+b)).
- PE efficiency (release file ``effCoefficients``): eff(x) = a / (1 + exp(-b (x - c))) + d,
  clipped at 0 (it crosses zero at x = 7.07 PE for the nominal set).
- Timing efficiency: 1 for t < 0.52 us, exp(-0.0494 (t - 0.52)/us) after (release
  supplement, as applied by third-party reproductions; not contained in the release files).
- Arrival times: :mod:`cevns_jax.sources.sns_timing` (Gaussian POT trace x pi / mu decay).

Nuisances interpolate released +-1 sigma coefficient sets: for z in units of sigma,
c(z) = c0 + z (c+ - c-)/2 + z^2 (c+ + c- - 2 c0)/2, the parabola through the three sets
(exact at z = -1, 0, 1, smooth everywhere).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from ..quadrature import linear_nodes
from ..sources.sns_timing import arrival_cdf

__all__ = ["LIGHT_YIELD_PE_PER_KEVEE", "GAMMA_SHAPE_PER_KEVEE", "TIMING_EFFICIENCY_ONSET_US",
           "TIMING_EFFICIENCY_DECAY_PER_US", "interpolate_sets", "scintillation_eee_kev",
           "pe_efficiency", "efficiency_onset", "gamma_pe_pdf", "pe_response_matrix", "timing_efficiency",
           "time_bin_probabilities", "bin_fine"]

LIGHT_YIELD_PE_PER_KEVEE = 13.35
GAMMA_SHAPE_PER_KEVEE = 9.56
TIMING_EFFICIENCY_ONSET_US = 0.52
TIMING_EFFICIENCY_DECAY_PER_US = 0.0494


def interpolate_sets(nominal, plus, minus, z):
    """Coefficients at z sigma: the parabola through (-1, minus), (0, nominal), (1, plus)."""
    nominal, plus, minus = (jnp.asarray(v, dtype=jnp.float64) for v in (nominal, plus, minus))
    return nominal + z * 0.5 * (plus - minus) + z**2 * 0.5 * (plus + minus - 2.0 * nominal)


def scintillation_eee_kev(recoil_mev, coefficients):
    """Electron-equivalent energy [keVee] of a nuclear recoil [MeV]: 1e3 (a T + b T^2 + c T^3
    + d T^4) (release polynomial), floored at 1e-9 keVee so that later logs stay finite."""
    a, b, c, d = coefficients[0], coefficients[1], coefficients[2], coefficients[3]
    t = jnp.asarray(recoil_mev, dtype=jnp.float64)
    eee = 1e3 * t * (a + t * (b + t * (c + t * d)))
    return jnp.maximum(eee, 1e-9)


def pe_efficiency(pe, coefficients):
    """Detection efficiency at reconstructed ``pe``: max(a / (1 + exp(-b (x - c))) + d, 0)."""
    a, b, c, d = coefficients[0], coefficients[1], coefficients[2], coefficients[3]
    return jnp.maximum(a / (1.0 + jnp.exp(-b * (pe - c))) + d, 0.0)


def efficiency_onset(coefficients):
    """PE where a / (1 + exp(-b (x - c))) + d crosses zero: c - ln(a / (-d) - 1) / b when
    0 < -d < a, else 0 (efficiency positive everywhere). Double ``where`` keeps the
    gradient finite in the other branch."""
    a, b, c, d = coefficients[0], coefficients[1], coefficients[2], coefficients[3]
    crosses = (-d > 0) & (a > -d)
    ratio = jnp.where(crosses, a / jnp.where(crosses, -d, 1.0) - 1.0, 1.0)
    return jnp.where(crosses, jnp.maximum(c - jnp.log(ratio) / b, 0.0), 0.0)


def gamma_pe_pdf(pe, mean_pe, shape):
    """Gamma density of the observed PE: shape k, mean ``mean_pe`` (rate k / mean).
    ``pe`` must be > 0 (quadrature nodes are interior points)."""
    rate = shape / mean_pe
    log_pdf = shape * jnp.log(rate) + (shape - 1.0) * jnp.log(pe) - rate * pe - gammaln(shape)
    return jnp.exp(log_pdf)


def pe_response_matrix(recoil_mev, qf_coefficients, eff_coefficients, pe_edges,
                       light_yield=LIGHT_YIELD_PE_PER_KEVEE, shape_per_kevee=GAMMA_SHAPE_PER_KEVEE,
                       n_sub: int = 4, n_nodes: int = 4):
    """M[i, j] = int_{bin i} eff(x) Gamma(x | LY Eee(T_j), 1 + 9.56 Eee(T_j)) dx.

    The integral starts where the efficiency becomes positive (:func:`efficiency_onset`, so
    its kink is an end point); each bin's remaining range is cut into ``n_sub`` equal pieces
    integrated with ``n_nodes`` Gauss-Legendre points. Shape (n_pe_bins, n_recoil)."""
    edges = jnp.asarray(pe_edges, dtype=jnp.float64)
    fractions = jnp.linspace(0.0, 1.0, n_sub + 1)
    lo = jnp.clip(efficiency_onset(eff_coefficients), edges[:-1], edges[1:])
    cuts = lo[:, None] + (edges[1:] - lo)[:, None] * fractions[None, :]
    x, w = linear_nodes(cuts[:, :-1], cuts[:, 1:], n_nodes)          # (n_bins, n_sub, n_nodes)
    x = jnp.maximum(x, 1e-12)
    eee = scintillation_eee_kev(recoil_mev, qf_coefficients)         # (n_recoil,)
    mean = light_yield * eee
    shape = 1.0 + shape_per_kevee * eee
    pdf = gamma_pe_pdf(x[..., None], mean, shape)                    # (..., n_recoil)
    weight = (w * pe_efficiency(x, eff_coefficients))[..., None]
    return jnp.sum(pdf * weight, axis=(1, 2))


def timing_efficiency(t_us):
    """Fraction of events kept at reconstructed time ``t_us``: 1 before 0.52 us, then
    exp(-0.0494 (t - 0.52))."""
    t = jnp.asarray(t_us, dtype=jnp.float64)
    late = jnp.exp(-TIMING_EFFICIENCY_DECAY_PER_US * jnp.maximum(t - TIMING_EFFICIENCY_ONSET_US, 0.0))
    return jnp.where(t < TIMING_EFFICIENCY_ONSET_US, 1.0, late)


def time_bin_probabilities(t_edges, beam: str, pot_mean, pot_width, step_us: float = 0.01):
    """P(arrival in bin) x timing efficiency for an SNS beam, per t_rec bin.

    The arrival CDF of :func:`cevns_jax.sources.sns_timing.arrival_cdf` is differenced on a
    ``step_us`` grid inside each bin and weighted by the efficiency at each sub-bin centre
    (the efficiency changes by < 5e-4 over 10 ns). Bin edges must be multiples of ``step_us``."""
    edges = np.asarray(t_edges, dtype=np.float64)
    n_fine = int(round((edges[-1] - edges[0]) / step_us))
    fine = edges[0] + step_us * np.arange(n_fine + 1)
    cdf = arrival_cdf(jnp.asarray(fine), beam, pot_mean, pot_width)
    mass = jnp.diff(cdf) * timing_efficiency(0.5 * (fine[1:] + fine[:-1]))
    return bin_fine(mass, fine, edges)


def bin_fine(values, fine_edges, edges):
    """Sum ``values`` given on the fine bins ``fine_edges`` into the coarse bins ``edges``
    (static NumPy arrays; each fine bin goes to the coarse bin holding its centre, so coarse
    edges must lie on the fine grid, which is checked)."""
    fine_edges = np.asarray(fine_edges, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    step = np.min(np.diff(fine_edges))
    offsets = np.abs(edges[:, None] - fine_edges[None, :]).min(axis=1)
    if np.any(offsets > 1e-6 * step):
        raise ValueError(f"bin edges {edges} are not on the fine grid of step {step}")
    centres = 0.5 * (fine_edges[1:] + fine_edges[:-1])
    index = np.searchsorted(edges, centres, side="right") - 1
    inside = (index >= 0) & (index < len(edges) - 1)
    matrix = np.zeros((len(edges) - 1, len(centres)))
    matrix[index[inside], np.nonzero(inside)[0]] = 1.0
    return jnp.asarray(matrix) @ values
