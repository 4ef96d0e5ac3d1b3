"""Paper 000's printed closed forms of mu_eff^2 (Eqs. 10-19), for validation.

Literal transcriptions of O.G. Miranda et al., JHEP 07 (2019) 103: the tests check the
general formula of :mod:`cevns_jax.moments` (Eqs. 5, 9) against them, and they are kept in the
package so users can read them. Arguments: ``moduli`` = (|L1|, |L2|, |L3|) (mass basis) unless
stated otherwise; ``moduli_flavour`` = (|Le|, |Lmu|, |Ltau|); ``xi1, xi3`` as in
:func:`cevns_jax.moments.tmm_complex` (xi2 = xi1 - xi3). Every printed form was found correct
with the conventions of :mod:`cevns_jax.moments`; Eq. 17 is garbled in the text and
reconstructed. Pure ``jax.numpy``: callers jit, grad and vmap.
"""

from __future__ import annotations

import jax.numpy as jnp

from .moments import DEFAULT_OSCILLATION, OscillationParameters, _trig

__all__ = [
    "closed_form_reactor_flavour",
    "closed_form_reactor_eq11",
    "closed_form_reactor_eq12",
    "closed_form_reactor_degenerate_eq13",
    "degenerate_reactor_moduli",
    "closed_form_prompt_flavour",
    "closed_form_delayed_flavour",
    "closed_form_prompt_eq17",
    "closed_form_delayed_nue_eq18",
    "closed_form_delayed_numubar_eq19",
]


def _split(moduli):
    m = jnp.asarray(moduli)
    return m[..., 0], m[..., 1], m[..., 2]


def closed_form_reactor_flavour(moduli_flavour):
    """Eq. (10): ``mu^2(reactor anti-nu_e, flavour) = |L_mu|^2 + |L_tau|^2``."""
    _, lmu, ltau = _split(moduli_flavour)
    return lmu**2 + ltau**2


def closed_form_reactor_eq11(moduli, zeta, osc: OscillationParameters = DEFAULT_OSCILLATION):
    """Eq. (11), in terms of the TMM phases ``zeta = (zeta1, zeta2, zeta3)``::

        |L|^2 - c12^2 c13^2 |L1|^2 - s12^2 c13^2 |L2|^2 - s13^2 |L3|^2
        - c13^2 sin2t12 |L1||L2| cos(z1 - z2) - c12 sin2t13 |L1||L3| cos(d + z1 - z3)
        - s12 sin2t13 |L2||L3| cos(d + z2 - z3)
    """
    s12, c12, s13, c13, _, _ = _trig(osc)
    d = jnp.asarray(osc.delta_cp)
    l1, l2, l3 = _split(moduli)
    z1, z2, z3 = _split(zeta)
    sin2t12 = 2 * s12 * c12
    sin2t13 = 2 * s13 * c13
    return (l1**2 + l2**2 + l3**2 - c12**2 * c13**2 * l1**2 - s12**2 * c13**2 * l2**2 - s13**2 * l3**2
            - c13**2 * sin2t12 * l1 * l2 * jnp.cos(z1 - z2)
            - c12 * sin2t13 * l1 * l3 * jnp.cos(d + z1 - z3)
            - s12 * sin2t13 * l2 * l3 * jnp.cos(d + z2 - z3))


def closed_form_reactor_eq12(moduli, xi1, xi3, osc: OscillationParameters = DEFAULT_OSCILLATION):
    """Eq. (12): Eq. (11) with ``z1 - z2 = xi3``, ``d + z1 - z3 = d - xi2``, ``d + z2 - z3 = d - xi1``::

        |L|^2 - c12^2 c13^2 |L1|^2 - s12^2 c13^2 |L2|^2 - s13^2 |L3|^2
        - c13^2 sin2t12 |L1||L2| cos xi3 - c12 sin2t13 |L1||L3| cos(d - xi2)
        - s12 sin2t13 |L2||L3| cos(d - xi1)
    """
    s12, c12, s13, c13, _, _ = _trig(osc)
    d = jnp.asarray(osc.delta_cp)
    l1, l2, l3 = _split(moduli)
    xi2 = xi1 - xi3
    sin2t12 = 2 * s12 * c12
    sin2t13 = 2 * s13 * c13
    return (l1**2 + l2**2 + l3**2 - c12**2 * c13**2 * l1**2 - s12**2 * c13**2 * l2**2 - s13**2 * l3**2
            - c13**2 * sin2t12 * l1 * l2 * jnp.cos(xi3)
            - c12 * sin2t13 * l1 * l3 * jnp.cos(d - xi2)
            - s12 * sin2t13 * l2 * l3 * jnp.cos(d - xi1))


def closed_form_reactor_degenerate_eq13(moduli, osc: OscillationParameters = DEFAULT_OSCILLATION):
    """Eq. (13): all cosine arguments of Eq. (12) zero (xi3 = 0, xi1 = xi2 = delta_CP)::

        |L|^2 - (c12 c13 |L1| + s12 c13 |L2| + s13 |L3|)^2
    """
    s12, c12, s13, c13, _, _ = _trig(osc)
    l1, l2, l3 = _split(moduli)
    return l1**2 + l2**2 + l3**2 - (c12 * c13 * l1 + s12 * c13 * l2 + s13 * l3) ** 2


def degenerate_reactor_moduli(norm, osc: OscillationParameters = DEFAULT_OSCILLATION):
    """Eq. (14): ``(|L1|, |L2|, |L3|) = |L| (c12 c13, s12 c13, s13)`` -- Eq. (13) vanishes."""
    s12, c12, s13, c13, _, _ = _trig(osc)
    return jnp.asarray(norm)[..., None] * jnp.stack(jnp.broadcast_arrays(c12 * c13, s12 * c13, s13), axis=-1)


def closed_form_prompt_flavour(moduli_flavour):
    """Eq. (15): ``mu^2(prompt nu_mu, flavour) = |L_e|^2 + |L_tau|^2``."""
    le, _, ltau = _split(moduli_flavour)
    return le**2 + ltau**2


def closed_form_delayed_flavour(moduli_flavour):
    """Eq. (16): ``(mu^2(nu_e), mu^2(anti-nu_mu)) = (|L_mu|^2 + |L_tau|^2, |L_e|^2 + |L_tau|^2)``."""
    le, lmu, ltau = _split(moduli_flavour)
    return lmu**2 + ltau**2, le**2 + ltau**2


def closed_form_prompt_eq17(moduli, xi1, xi3, osc: OscillationParameters = DEFAULT_OSCILLATION):
    """Eq. (17), prompt nu_mu, mass basis -- *reconstructed* (the printed text is garbled).

    The printed |L1 L2| term reads
    ``2|L1L2|[c23 c12^2 s13 s23 cos(d+xi3) - c23 s12^2 s13 s23 cos(d-xi3)] + c12 s12
    (c23^2 - s13^2 s23^2) cos xi3]`` with an unbalanced bracket, which taken literally
    leaves the last term without any |Lambda|^2 factor. Reconstructed (matching Eq. 19 and
    the general formula) as ``2|L1L2| [c23 s13 s23 (c12^2 cos(d+xi3) - s12^2 cos(d-xi3))
    + c12 s12 (c23^2 - s13^2 s23^2) cos xi3]``. The full form::

        |L1|^2 [-2 c12 c23 s12 s13 s23 cos d + s23^2 (c13^2 + s12^2 s13^2) + c12^2 c23^2]
      + |L2|^2 [ 2 c12 c23 s13 s23 s12 cos d + c23^2 s12^2 + s23^2 (c12^2 s13^2 + c13^2)]
      + |L3|^2 [c23^2 + s13^2 s23^2]
      + 2|L1L2| [c23 s13 s23 (c12^2 cos(d+xi3) - s12^2 cos(d-xi3)) + c12 s12 (c23^2 - s13^2 s23^2) cos xi3]
      + 2|L1L3| [c13 s23 (c12 s13 s23 cos(d-xi2) + c23 s12 cos xi2)]
      + 2|L2L3| [c13 s23 (s12 s13 s23 cos(d-xi1) - c12 c23 cos xi1)]

    It equals ``|Lambda|^2 - |Lambda_mu|^2`` with ``Lambda_mu = sum_i U[mu,i] Lambda_i``.
    """
    s12, c12, s13, c13, s23, c23 = _trig(osc)
    d = jnp.asarray(osc.delta_cp)
    l1, l2, l3 = _split(moduli)
    xi2 = xi1 - xi3
    return (l1**2 * (-2 * c12 * c23 * s12 * s13 * s23 * jnp.cos(d) + s23**2 * (c13**2 + s12**2 * s13**2)
                     + c12**2 * c23**2)
            + l2**2 * (2 * c12 * c23 * s13 * s23 * s12 * jnp.cos(d) + c23**2 * s12**2
                       + s23**2 * (c12**2 * s13**2 + c13**2))
            + l3**2 * (c23**2 + s13**2 * s23**2)
            + 2 * l1 * l2 * (c23 * s13 * s23 * (c12**2 * jnp.cos(d + xi3) - s12**2 * jnp.cos(d - xi3))
                             + c12 * s12 * (c23**2 - s13**2 * s23**2) * jnp.cos(xi3))
            + 2 * l1 * l3 * (c13 * s23 * (c12 * s13 * s23 * jnp.cos(d - xi2) + c23 * s12 * jnp.cos(xi2)))
            + 2 * l2 * l3 * (c13 * s23 * (s12 * s13 * s23 * jnp.cos(d - xi1) - c12 * c23 * jnp.cos(xi1))))


def closed_form_delayed_nue_eq18(moduli, xi1, xi3, osc: OscillationParameters = DEFAULT_OSCILLATION):
    """Eq. (18), delayed nu_e, mass basis::

        |L1|^2 [c13^2 s12^2 + s13^2] + |L2|^2 [c12^2 c13^2 + s13^2] + |L3|^2 c13^2
      - |L1L2| c13^2 sin2t12 cos xi3 - |L1L3| c12 sin2t13 cos(d - xi2)
      - |L2L3| s12 sin2t13 cos(d - xi1)

    (Identical to Eq. 12: a_- = e and a_+ = e give the same mu^2.)
    """
    s12, c12, s13, c13, _, _ = _trig(osc)
    d = jnp.asarray(osc.delta_cp)
    l1, l2, l3 = _split(moduli)
    xi2 = xi1 - xi3
    return (l1**2 * (c13**2 * s12**2 + s13**2) + l2**2 * (c12**2 * c13**2 + s13**2) + l3**2 * c13**2
            - l1 * l2 * (c13**2 * 2 * s12 * c12 * jnp.cos(xi3))
            - l1 * l3 * (c12 * 2 * s13 * c13 * jnp.cos(d - xi2))
            - l2 * l3 * (s12 * 2 * s13 * c13 * jnp.cos(d - xi1)))


def closed_form_delayed_numubar_eq19(moduli, xi1, xi3, osc: OscillationParameters = DEFAULT_OSCILLATION):
    """Eq. (19), delayed anti-nu_mu, mass basis (as printed)::

        |L1|^2 [-2 c12 c23 s12 s13 s23 cos d + s23^2 (c13^2 + s12^2 s13^2) + c12^2 c23^2]
      + |L2|^2 [ 2 c12 c23 s12 s13 s23 cos d + s23^2 (c13^2 + c12^2 s13^2) + s12^2 c23^2]
      + |L3|^2 [(2 c13^2 cos 2t23 - cos 2t13 + 3) / 4]
      + 2|L1L2| [c23 s13 s23 (c12^2 cos(d+xi3) - s12^2 cos(d-xi3)) + c12 c23^2 s12 cos xi3
                 - c12 s12 s13^2 s23^2 cos xi3]
      + 2|L1L3| [c13 s23 (c12 s13 s23 cos(d-xi2) + c23 s12 cos xi2)]
      + 2|L2L3| [c13 s23 (s12 s13 s23 cos(d-xi1) - c12 c23 cos xi1)]
    """
    s12, c12, s13, c13, s23, c23 = _trig(osc)
    d = jnp.asarray(osc.delta_cp)
    l1, l2, l3 = _split(moduli)
    xi2 = xi1 - xi3
    cos2t23 = c23**2 - s23**2
    cos2t13 = c13**2 - s13**2
    return (l1**2 * (-2 * c12 * c23 * s12 * s13 * s23 * jnp.cos(d) + s23**2 * (c13**2 + s12**2 * s13**2)
                     + c12**2 * c23**2)
            + l2**2 * (2 * c12 * c23 * s12 * s13 * s23 * jnp.cos(d) + s23**2 * (c13**2 + c12**2 * s13**2)
                       + s12**2 * c23**2)
            + l3**2 * (0.25 * (2 * c13**2 * cos2t23 - cos2t13 + 3))
            + 2 * l1 * l2 * (c23 * s13 * s23 * (c12**2 * jnp.cos(d + xi3) - s12**2 * jnp.cos(d - xi3))
                             + c12 * c23**2 * s12 * jnp.cos(xi3) - c12 * s12 * s13**2 * s23**2 * jnp.cos(xi3))
            + 2 * l1 * l3 * (c13 * s23 * (c12 * s13 * s23 * jnp.cos(d - xi2) + c23 * s12 * jnp.cos(xi2)))
            + 2 * l2 * l3 * (c13 * s23 * (s12 * s13 * s23 * jnp.cos(d - xi1) - c12 * c23 * jnp.cos(xi1))))
