"""Paper 000's counting statistics as measurements (Sect. 5, Eqs. 34-35).

Both are one-bin Gaussian measurements of the total count N = sum_b (S_b + mu2_b E_b):

- Eq. (34), COHERENT CsI with the 2017 data: observed N_meas = 142, expected
  (1 + a1) N + (1 + a2) B_0n, variance sigma_stat^2 = N_meas + B_0n + 2 B_ss, Gaussian
  nuisances a1 (sigma 0.28, signal) and a2 (sigma 0.25, prompt neutrons), both profiled.
- Eq. (35), every other setup on Asimov data: observed N_meas = N_SM, expected (1 + a) N,
  variance from the reading of its denominator (``likelihood.statistics.single_nuisance_variance``),
  a Gaussian nuisance a with sigma_sys = sigma_stat (0.2 current, 0.1 future). The paper's
  numbers need a held at its null best fit (``nuisance="fixed"``); ``"profiled"`` minimises it.

``em_beams`` selects the beams that carry a moment (the timing groups of Table II: the prompt
beam alone, the delayed beams, or all); the SM counts of every beam stay in N.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from ..likelihood.measurement import Channel, Components, Measurement, Nuisance
from ..likelihood.statistics import EQ35_SIGMA, single_nuisance_variance

__all__ = ["EQ34_DATA", "eq34_measurement", "eq35_measurement", "counting_measurement"]

#: The numbers quoted with Eq. (34): COHERENT CsI 2017 (Science 357, 1123).
EQ34_DATA = {"n_meas": 142.0, "b_0n": 6.0, "b_ss": 405.0, "sigma_a1": 0.28, "sigma_a2": 0.25}


@dataclasses.dataclass(frozen=True)
class ScaledTotal:
    """Expected total (1 + signal nuisance) * signal + (1 + background nuisance) * B."""

    signal: str
    background: str | None = None

    def __call__(self, data, nu):
        scale = 1.0 + nu[self.signal]
        bkg = data["background"] * (1.0 + (nu[self.background] if self.background else 0.0))
        return Components(scale * data["sm"][:, None], scale * data["em"][:, None],
                          jnp.atleast_1d(bkg))


def _em_selected(beams, em, em_beams):
    if em_beams is None:
        return np.asarray(em, dtype=float)
    unknown = set(em_beams) - set(beams)
    if unknown:
        raise ValueError(f"beam(s) {sorted(unknown)} not in this setup's beams {list(beams)}")
    return np.array([e if b in em_beams else 0.0 for b, e in zip(beams, em)], dtype=float)


def eq34_measurement(name, flavours, beams, sm, em, em_beams=None, data=EQ34_DATA):
    """Paper 000 Eq. (34) for per-beam totals ``sm``, ``em`` (events; EM at 1e-10 mu_B)."""
    variance = data["n_meas"] + data["b_0n"] + 2.0 * data["b_ss"]
    channel = Channel(
        observed=jnp.asarray([data["n_meas"]]),
        data={"sm": jnp.asarray(sm, dtype=jnp.float64),
              "em": jnp.asarray(_em_selected(beams, em, em_beams)),
              "background": jnp.asarray(data["b_0n"]), "variance": jnp.asarray([variance])},
        name=name, beams=tuple(flavours), statistic="gaussian",
        expected_fn=ScaledTotal(f"{name}/a1", f"{name}/a2"))
    return Measurement((channel,), (Nuisance(f"{name}/a1", 0.0, data["sigma_a1"]),
                                    Nuisance(f"{name}/a2", 0.0, data["sigma_a2"])), name=name)


def eq35_measurement(name, setup, flavours, beams, sm, em, em_beams=None, nuisance="fixed",
                     denominator="printed", n_meas=None):
    """Paper 000 Eq. (35) on Asimov data (``n_meas`` defaults to N_SM = sum sm)."""
    sigma = EQ35_SIGMA[setup]
    n_meas = float(np.sum(sm)) if n_meas is None else float(n_meas)
    if not n_meas > 0:
        raise ValueError(f"Eq. (35) needs N_meas > 0 (its variance is proportional to it), "
                         f"got N_meas = {n_meas!r} for {name}")
    variance = float(single_nuisance_variance(n_meas, sigma, denominator))
    channel = Channel(
        observed=jnp.asarray([n_meas]),
        data={"sm": jnp.asarray(sm, dtype=jnp.float64),
              "em": jnp.asarray(_em_selected(beams, em, em_beams)),
              "background": jnp.asarray(0.0), "variance": jnp.asarray([variance])},
        name=name, beams=tuple(flavours), statistic="gaussian",
        expected_fn=ScaledTotal(f"{name}/a"))
    return Measurement((channel,), (Nuisance(f"{name}/a", 0.0, sigma, treatment=nuisance),),
                       name=name)


def counting_measurement(name, setup, flavours, beams, sm, em, statistic, em_beams=None,
                         nuisance="fixed", denominator="printed"):
    """Eq. (34) or Eq. (35) (``statistic`` "eq34" / "eq35") for one setup's beam totals."""
    if statistic == "eq34":
        return eq34_measurement(f"{name}:{setup}", flavours, beams, sm, em, em_beams)
    if statistic == "eq35":
        return eq35_measurement(f"{name}:{setup}", setup, flavours, beams, sm, em, em_beams,
                                nuisance, denominator)
    raise ValueError(f"statistic must be 'eq34' or 'eq35', got {statistic!r}")
