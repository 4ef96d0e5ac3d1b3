"""Physics models of the neutrino magnetic moments: parameters theta -> mu2_b for every beam.

The one bridge between model parameters and a :class:`~cevns_jax.likelihood.Measurement`:
each channel lists its beams by flavour label, and a model returns the effective moment
squared of each (units of (1e-10 mu_B)^2):

- :class:`TransitionMoments` (paper 000): Majorana transition moments |Lambda_i| with phases
  xi1, xi3 and the mixing (Eqs. 5, 9 for short baselines; Eq. 38 for incoherent mass-state
  beams such as solar neutrinos).
- :class:`FlavourMoments` (paper 004 Eqs. 6-11): mu_b^2 = sum_alpha P_{b->alpha} mu_alpha^2.
- :class:`EffectiveMoment`: one moment mu shared by every beam (what a single-experiment
  "mu_nu" limit means).

Beam labels: "numu", "nue", "numubar", "nuebar" (short baseline: pure flavour, coherent
helicity state); "nue_solar" (paper 004's energy-independent composition, Eqs. 8-11); or a
:class:`MassStateBeam` carrying the mass-state fractions (P_e1, P_e2, P_e3) at the detector,
e.g. from the adiabatic MSW survival probability of a solar component.

Parameter dicts are checked: an unknown name raises ``KeyError`` naming it and the known ones;
missing names take their default (0: no moment, zero phase).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax.numpy as jnp

from .. import moments
from ..effective_moments import SHORT_BASELINE_COMPOSITION, TMM_BEAM_PRESETS, solar_flavour_composition

__all__ = ["EffectiveMoment", "FlavourMoments", "MassStateBeam", "TransitionMoments",
           "check_parameters", "channel_mu2s"]


class MassStateBeam(NamedTuple):
    """A beam arriving as an incoherent mixture of mass states with fractions (p1, p2, p3)."""

    label: str
    p1: float
    p2: float
    p3: float

    @property
    def probabilities(self):
        return jnp.asarray([self.p1, self.p2, self.p3], dtype=jnp.float64)


def check_parameters(theta: dict, known: tuple, model: str) -> dict:
    """``theta`` completed with zeros; unknown names raise ``KeyError`` listing the known ones."""
    unknown = sorted(set(theta) - set(known))
    if unknown:
        raise KeyError(f"unknown parameter(s) {unknown} for the {model} model; known: {list(known)}")
    return {k: jnp.asarray(theta.get(k, 0.0), dtype=jnp.float64) for k in known}


def _flavour_weights(beam, osc):
    """(P_e, P_mu, P_tau) of a beam at the detector."""
    if isinstance(beam, MassStateBeam):
        u2 = jnp.abs(moments.pmns(osc)) ** 2            # |U_alpha i|^2
        return u2 @ beam.probabilities
    if beam == "nue_solar":
        return solar_flavour_composition(osc)
    if beam in SHORT_BASELINE_COMPOSITION:
        return jnp.asarray(SHORT_BASELINE_COMPOSITION[beam], dtype=jnp.float64)
    raise ValueError(f"no flavour composition for beam {beam!r}; known: "
                     f"{sorted(SHORT_BASELINE_COMPOSITION) + ['nue_solar', 'MassStateBeam(...)']}")


@dataclasses.dataclass(frozen=True)
class FlavourMoments:
    """mu_b^2 = sum_alpha P_{b->alpha} mu_alpha^2 (paper 004 Eqs. 6-11)."""

    osc: moments.OscillationParameters = moments.DEFAULT_OSCILLATION
    parameters = ("mu_e", "mu_mu", "mu_tau")

    def mu2(self, theta, beams):
        p = check_parameters(theta, self.parameters, "flavour-moment")
        mu_sq = jnp.stack([p["mu_e"], p["mu_mu"], p["mu_tau"]]) ** 2
        if not beams:                                   # a channel without signal rows
            return jnp.zeros((0,))
        return jnp.stack([_flavour_weights(b, self.osc) @ mu_sq for b in beams])


@dataclasses.dataclass(frozen=True)
class TransitionMoments:
    """Majorana transition moments |Lambda_i|, phases xi1, xi3 (paper 000 Eqs. 5, 9, 38)."""

    osc: moments.OscillationParameters = moments.DEFAULT_OSCILLATION
    parameters = ("lambda1", "lambda2", "lambda3", "xi1", "xi3")

    def mu2(self, theta, beams):
        p = check_parameters(theta, self.parameters, "transition-moment")
        moduli = jnp.stack([p["lambda1"], p["lambda2"], p["lambda3"]])
        values = []
        for beam in beams:
            if isinstance(beam, MassStateBeam):
                lam_tilde = moments.lambda_mass(moments.tmm_complex(moduli, p["xi1"], p["xi3"]))
                values.append(moments.mu_eff_squared_incoherent(lam_tilde, beam.probabilities))
            elif beam in TMM_BEAM_PRESETS:
                values.append(moments.mu_eff_squared(TMM_BEAM_PRESETS[beam], moduli, p["xi1"],
                                                     p["xi3"], self.osc))
            else:
                raise ValueError(f"no transition-moment rule for beam {beam!r}; known: "
                                 f"{sorted(TMM_BEAM_PRESETS)} or a MassStateBeam")
        return jnp.stack(values) if values else jnp.zeros((0,))


@dataclasses.dataclass(frozen=True)
class EffectiveMoment:
    """One effective moment ``mu`` for every beam: mu_b^2 = mu^2."""

    parameters = ("mu",)

    def mu2(self, theta, beams):
        p = check_parameters(theta, self.parameters, "effective-moment")
        return jnp.full((len(beams),), p["mu"] ** 2)


def channel_mu2s(measurement, model, theta) -> list:
    """mu2 vector of every channel of ``measurement`` under ``model`` at ``theta``."""
    return [model.mu2(theta, channel.beams) for channel in measurement.channels]
