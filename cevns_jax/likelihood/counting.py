"""A total-count measurement: one bin, Gaussian statistic, normalisation nuisances.

    -2 ln L = (n_obs - (1 + a) N(mu2) - (1 + b) B)^2 / V + (a / sigma_a)^2 + (b / sigma_b)^2,

N(mu2) = sum_b (S_b + mu2_b E_b) the signal of the beams. This is the form of paper 000
Eqs. (34) (a, b both constrained) and (35) (no background); the paper-specific numbers live in
:mod:`cevns_jax.analyses.paper000_counting`. Nuisance names are local: "signal" and
"background" (combine measurements with :meth:`Measurement.prefixed`).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from ..precision import require_x64
from .measurement import Channel, Components, Measurement, Nuisance

__all__ = ["ScaledBins", "ScaledTotal", "binned_poisson_measurement", "total_count_measurement"]


@dataclasses.dataclass(frozen=True)
class ScaledTotal:
    """Expected total (1 + nu[signal]) * signal + (1 + nu[background]) * B."""

    signal: str
    background: str | None = None

    def __call__(self, data, nu):
        scale = 1.0 + nu[self.signal]
        bkg = data["background"] * (1.0 + (nu[self.background] if self.background else 0.0))
        return Components(scale * data["sm"][:, None], scale * data["em"][:, None],
                          jnp.atleast_1d(bkg))


def total_count_measurement(name, beams, sm, em, *, n_obs, variance, signal_sigma,
                            background=0.0, background_sigma=None, treatment="profiled"):
    """The measurement of the module docstring for per-beam totals ``sm``, ``em`` (events;
    EM at mu = 1e-10 mu_B). ``treatment`` applies to both nuisances. A background nuisance
    exists only when ``background_sigma`` is given."""
    sm = np.asarray(sm, dtype=float)
    em = np.asarray(em, dtype=float)
    if sm.shape != em.shape or sm.ndim != 1 or sm.size != len(beams):
        raise ValueError(f"{name}: need one SM and one EM total per beam ({len(beams)}), got "
                         f"shapes {sm.shape} and {em.shape}")
    for label, value in (("n_obs", n_obs), ("variance", variance)):
        if not np.isfinite(value):
            raise ValueError(f"{name}: {label} must be finite, got {value!r}")
    if not variance > 0:
        raise ValueError(f"{name}: the variance must be > 0, got {variance!r}")
    nuisances = [Nuisance("signal", 0.0, signal_sigma, treatment=treatment)]
    if background_sigma is not None:
        nuisances.append(Nuisance("background", 0.0, background_sigma, treatment=treatment))
    channel = Channel(
        observed=jnp.asarray([float(n_obs)]),
        data={"sm": jnp.asarray(sm), "em": jnp.asarray(em),
              "background": jnp.asarray(float(background)),
              "variance": jnp.asarray([float(variance)])},
        name=name, beams=tuple(beams), statistic="gaussian",
        expected_fn=ScaledTotal("signal", "background" if background_sigma is not None else None))
    return Measurement((channel,), tuple(nuisances), name=name)


@dataclasses.dataclass(frozen=True)
class ScaledBins:
    """Expected counts per bin: (1 + nu[signal]) (S + mu2 E) + B."""

    signal: str

    def __call__(self, data, nu):
        scale = 1.0 + nu[self.signal]
        return Components(scale * data["sm"], scale * data["em"], data["background"])


def binned_poisson_measurement(name, beams, sm, em, *, n_obs, background=0.0, signal_sigma):
    """Poisson counts per bin with a Gaussian-constrained signal normalisation (bounded at
    1 + a >= 0.01): templates ``sm``, ``em`` of shape (n_beams, n_bins). Traceable: the
    templates, counts and background may depend on parameters under ``jit`` or ``grad``."""
    require_x64()
    sm = jnp.asarray(sm, dtype=jnp.float64)
    em = jnp.asarray(em, dtype=jnp.float64)
    n_obs = jnp.asarray(n_obs, dtype=jnp.float64)
    if sm.ndim != 2 or sm.shape != em.shape or n_obs.shape != (sm.shape[1],):
        raise ValueError(f"{name}: need (n_beams, n_bins) templates and n_bins counts, got "
                         f"{sm.shape}, {em.shape}, {n_obs.shape}")
    channel = Channel(
        observed=n_obs,
        data={"sm": sm, "em": em,
              "background": jnp.broadcast_to(jnp.asarray(background, dtype=jnp.float64),
                                             (sm.shape[1],))},
        name=name, beams=tuple(beams), statistic="poisson", expected_fn=ScaledBins("signal"))
    return Measurement((channel,), (Nuisance("signal", 0.0, signal_sigma, lower=-0.99),),
                       name=name)
