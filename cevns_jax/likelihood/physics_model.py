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
- :class:`WithOscillation`: either moment model with the mixing angles theta12, theta13,
  theta23 and delta_CP as further parameters (defaults: the wrapped model's values), so a fit
  can profile them under the constraints of :data:`NUFIT_60_NO` (added by the limit call).

Beam labels: "numu", "nue", "numubar", "nuebar" (short baseline: pure flavour, coherent
helicity state); "nue_solar" (paper 004's energy-independent composition, Eqs. 8-11); or a
:class:`MassStateBeam` carrying the mass-state fractions (P_e1, P_e2, P_e3) at the detector,
e.g. from the adiabatic MSW survival probability of a solar component.

Parameter dicts are checked: an unknown name raises ``KeyError`` naming it and the known ones;
missing names take their default (0: no moment, zero phase).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax.numpy as jnp

from .. import moments
from ..effective_moments import SHORT_BASELINE_COMPOSITION, TMM_BEAM_PRESETS, solar_flavour_composition

__all__ = ["EffectiveMoment", "FlavourMoments", "MassStateBeam", "NUFIT_60_NO",
           "NUFIT_60_NO_SIGMA", "OSCILLATION_PARAMETERS", "TransitionMoments", "WithOscillation",
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


#: Mixing parameters a :class:`WithOscillation` model adds (radians).
OSCILLATION_PARAMETERS = ("theta12", "theta13", "theta23", "delta_cp")

#: NuFIT 6.0 (2024), normal ordering, with the Super-Kamiokande and IceCube atmospheric chi^2
#: tables: I. Esteban et al., JHEP 12 (2024) 216, arXiv:2410.05380, table of www.nu-fit.org
#: (v6.0, node/294): theta12 = 33.68 +0.73 -0.70 deg, theta13 = 8.56 +-0.11 deg,
#: theta23 = 43.3 +1.0 -0.8 deg, delta_CP = 212 +26 -41 deg, Delta m^2_21 = 7.49e-5 eV^2,
#: Delta m^2_31 = 2.513e-3 eV^2 (best fit +- 1 sigma).
NUFIT_60_NO = moments.OscillationParameters(
    s12sq=math.sin(math.radians(33.68)) ** 2, s13sq=math.sin(math.radians(8.56)) ** 2,
    s23sq=math.sin(math.radians(43.3)) ** 2, delta_cp=math.radians(212.0), dm21sq=7.49e-5,
    dm31sq=2.513e-3)

#: Gaussian widths of the NuFIT 6.0 NO angles (radians): the mean of the upper and lower
#: 1 sigma errors quoted with :data:`NUFIT_60_NO`.
NUFIT_60_NO_SIGMA = {"theta12": math.radians(0.715), "theta13": math.radians(0.11),
                     "theta23": math.radians(0.9), "delta_cp": math.radians(33.5)}


def _angles(osc) -> dict:
    """(theta12, theta13, theta23, delta_cp) in radians from the sin^2 fields of ``osc``."""
    return {"theta12": math.asin(math.sqrt(osc.s12sq)), "theta13": math.asin(math.sqrt(osc.s13sq)),
            "theta23": math.asin(math.sqrt(osc.s23sq)), "delta_cp": float(osc.delta_cp)}


@dataclasses.dataclass(frozen=True)
class WithOscillation:
    """``inner`` (:class:`TransitionMoments` or :class:`FlavourMoments`) with the mixing as
    parameters: theta -> ``inner.mu2`` evaluated with sin^2 theta_ij = sin^2(theta_ij) and
    delta_CP from theta (missing ones at ``inner.osc``, see :attr:`defaults`)."""

    inner: TransitionMoments | FlavourMoments

    @property
    def parameters(self) -> tuple:
        return tuple(self.inner.parameters) + OSCILLATION_PARAMETERS

    @property
    def defaults(self) -> dict:
        """Values of the parameters missing from theta: moments and phases 0, the mixing of
        the wrapped model."""
        return {**{k: 0.0 for k in self.inner.parameters}, **_angles(self.inner.osc)}

    def mu2(self, theta, beams):
        unknown = sorted(set(theta) - set(self.parameters))
        if unknown:
            raise KeyError(f"unknown parameter(s) {unknown} for the oscillation-profiled "
                           f"model; known: {list(self.parameters)}")
        p = {k: jnp.asarray(theta.get(k, v), dtype=jnp.float64) for k, v in self.defaults.items()}
        osc = self.inner.osc._replace(
            s12sq=jnp.sin(p["theta12"]) ** 2, s13sq=jnp.sin(p["theta13"]) ** 2,
            s23sq=jnp.sin(p["theta23"]) ** 2, delta_cp=p["delta_cp"])
        inner = dataclasses.replace(self.inner, osc=osc)
        return inner.mu2({k: p[k] for k in self.inner.parameters}, beams)


def channel_mu2s(measurement, model, theta) -> list:
    """mu2 vector of every channel of ``measurement`` under ``model`` at ``theta``."""
    return [model.mu2(theta, channel.beams) for channel in measurement.channels]
