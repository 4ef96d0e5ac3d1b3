"""Effective moments per experiment beam: the bridge from model parameters to counts.

Expected counts are N = sum_b (S_b + mu_b^2 E_b) (see :mod:`cevns_jax.rates`); this module
gives the vector mu_b^2 (units of (1e-10 mu_B)^2) for an experiment's beams in two models:

- Majorana transition moments (paper 000): moduli |Lambda_i|, phases xi_1, xi_3 and the
  mixing of ``osc`` through the general helicity formula (Eqs. 5, 9); solar beams use
  Eq. (38) with P_e1^{2nu}.
- Flavour-diagonal effective moments (paper 004 Eqs. 6-11): mu_b^2 = sum_alpha P_{b->alpha}
  mu_alpha^2, with P the flavour composition at the detector (unity for short baselines,
  004 Eqs. 8-10 for solar beams).
"""

from __future__ import annotations

import jax.numpy as jnp

from . import moments

#: Beam flavour label (``cevns_jax.sources.Beam.flavour``) -> helicity preset of moments.BEAMS.
TMM_BEAM_PRESETS = {
    "numu": "sns_prompt_numu",
    "nue": "sns_delayed_nue",
    "numubar": "sns_delayed_numubar",
    "nuebar": "reactor_nuebar",
}


def _check_flavours(flavours, allowed):
    unknown = [f for f in flavours if f not in allowed]
    if unknown:
        raise ValueError(f"no effective-moment rule for beam flavour(s) {unknown}; "
                         f"known: {sorted(allowed)}")


def tmm_mu2(flavours, moduli, xi1=0.0, xi3=0.0, osc=moments.DEFAULT_OSCILLATION,
            pe1_2nu=None):
    """mu_b^2 for each beam flavour from the TMM moduli and phases (paper 000 Eqs. 9, 38).

    ``pe1_2nu`` (P_e1 in the two-flavour limit) is needed only for solar beams.
    """
    _check_flavours(flavours, set(TMM_BEAM_PRESETS) | {"nue_solar"})
    values = []
    for flavour in flavours:
        if flavour == "nue_solar":
            if pe1_2nu is None:
                raise ValueError("solar beams need pe1_2nu (paper 000 Eq. 38)")
            values.append(moments.mu_eff_squared_solar(moduli, pe1_2nu, osc))
        else:
            values.append(moments.mu_eff_squared(TMM_BEAM_PRESETS[flavour], moduli, xi1, xi3, osc))
    return jnp.stack(values)


#: Flavour composition at a short-baseline detector: beam flavour -> (e, mu, tau) weights.
SHORT_BASELINE_COMPOSITION = {
    "numu": (0.0, 1.0, 0.0), "numubar": (0.0, 1.0, 0.0),
    "nue": (1.0, 0.0, 0.0), "nuebar": (1.0, 0.0, 0.0),
}


def solar_flavour_composition(osc=moments.DEFAULT_OSCILLATION):
    """(P_ee, P_emu, P_etau) of paper 004 Eqs. (8)-(11):
    P_ee = P_eff c13^4 + s13^4, P_eff = 1 - sin^2(2 theta12)/2, P_emu = (1 - P_ee) c23^2,
    P_etau = (1 - P_ee) s23^2."""
    s12sq, s13sq, s23sq = osc.s12sq, osc.s13sq, osc.s23sq
    sin2_2t12 = 4.0 * s12sq * (1.0 - s12sq)
    p_eff = 1.0 - 0.5 * sin2_2t12
    p_ee = p_eff * (1.0 - s13sq) ** 2 + s13sq**2
    return jnp.stack([p_ee, (1.0 - p_ee) * (1.0 - s23sq), (1.0 - p_ee) * s23sq])


def flavour_mu2(flavours, mu_flavour, osc=moments.DEFAULT_OSCILLATION, solar_composition=None):
    """mu_b^2 = sum_alpha P_{b->alpha} mu_alpha^2 for flavour moments (mu_e, mu_mu, mu_tau)."""
    _check_flavours(flavours, set(SHORT_BASELINE_COMPOSITION) | {"nue_solar"})
    mu_sq = jnp.asarray(mu_flavour) ** 2
    solar = solar_flavour_composition(osc) if solar_composition is None else solar_composition
    rows = [solar if f == "nue_solar" else jnp.asarray(SHORT_BASELINE_COMPOSITION[f])
            for f in flavours]
    return jnp.stack(rows) @ mu_sq


def beam_flavours(experiment) -> tuple:
    """The flavour label of each beam of a built experiment."""
    return tuple(beam.flavour for beam in experiment.beams)
