"""Anti-coincidence (AC) side band of the COHERENT CsI[Na] analyses as a second Poisson channel.

The template treatment (``ss_model="template"`` of :mod:`.coherent_csi2021` and
:mod:`.coherent_csi2017`) takes the steady-state (SS) expectation in the coincidence (C)
window from the AC events and constrains only its normalisation (sigma 1/sqrt(N_AC)); the
statistical uncertainty of the AC PE shape is not propagated. Here the AC histogram is a
channel of its own and the SS rate is free in every PE bin k:

    C:   N_C[k, t]  = signal + a_k b_t SS[k, t] + neutrons
    AC:  N_AC[k, t] = a_k b_t SS[k, t]

with SS the template built from the AC events (equal C and AC window lengths, so one a_k
serves both) and a_k >= 0 unconstrained (nominal 1). b_t = 1 when the template's time shape
is known (2021: the timing efficiency); when the time shape is itself taken from the AC
counts (2017), b_t is free in every time bin but the first (b_0 = 1 fixes the scale shared
with a_k). The AC counts enter the likelihood once,
as Poisson data, and the template's normalisation prior ``ss_norm`` is removed (it would count
the AC statistics twice). Profiling a_k is the Barlow-Beeston treatment of a side-band
template with one parameter per PE bin (Barlow and Beeston, Comput. Phys. Commun. 77, 219
(1993)).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from ..likelihood.measurement import Channel, Components, Measurement, Nuisance

__all__ = ["with_ac_sideband", "amplitude_names"]


def amplitude_names(prefix: str, n_pe: int, n_t: int = 0) -> tuple:
    """Names of the SS amplitudes: ``<prefix>ss_pe0`` ... ``<prefix>ss_pe<n_pe-1>`` and, for
    ``n_t`` > 0, ``<prefix>ss_t1`` ... ``<prefix>ss_t<n_t-1>``."""
    return (tuple(f"{prefix}ss_pe{k}" for k in range(n_pe))
            + tuple(f"{prefix}ss_t{j}" for j in range(1, n_t)))


def _scaled(nu, names, n_pe, template):
    """a_k b_t SS[k, t] (b_t = 1 without time amplitudes), flattened."""
    a = jnp.stack([nu[k] for k in names[:n_pe]])
    b = jnp.concatenate([jnp.ones(1), jnp.stack([nu[k] for k in names[n_pe:]])]) \
        if len(names) > n_pe else jnp.ones(template.shape[1])
    return (a[:, None] * b[None, :] * template).ravel()


def _coincidence_fn(expected_fn, prefix, names, shape):
    def expected(data, nu):
        comp = expected_fn(data, {**nu, prefix + "ss_norm": jnp.asarray(1.0)})
        scaled = _scaled(nu, names, shape[0], data["ss"].reshape(shape))
        return Components(comp.signal_sm, comp.signal_em, comp.background - data["ss"] + scaled)
    return expected


def _anticoincidence_fn(names, shape, n_beams):
    def expected(data, nu):
        zero = jnp.zeros((n_beams, shape[0] * shape[1]))
        return Components(zero, zero, _scaled(nu, names, shape[0], data["ss"].reshape(shape)))
    return expected


def with_ac_sideband(measurement: Measurement, ac_histogram, prefix: str,
                     time_free: bool = False) -> Measurement:
    """The one-channel CsI ``measurement`` (C counts, SS template ``data["ss"]``, nuisance
    ``<prefix>ss_norm``) turned into the two-channel C + AC likelihood of the module
    docstring. ``ac_histogram`` (n_pe, n_t): the AC counts in the C binning; ``time_free``:
    free time amplitudes b_t (for a template whose time shape comes from the AC counts)."""
    if len(measurement.channels) != 1:
        raise ValueError(f"expected a one-channel CsI measurement, got "
                         f"{len(measurement.channels)} channels")
    channel = measurement.channels[0]
    ac = jnp.asarray(ac_histogram, dtype=jnp.float64)
    if ac.ndim != 2 or ac.size != channel.observed.size:
        raise ValueError(f"AC histogram of shape {ac.shape} does not match the "
                         f"{channel.observed.size} C bins")
    if prefix + "ss_norm" not in measurement.nuisance_names:
        raise KeyError(f"{prefix}ss_norm not among {measurement.nuisance_names}")
    shape = tuple(ac.shape)
    names = amplitude_names(prefix, shape[0], shape[1] if time_free else 0)
    coincidence = dataclasses.replace(
        channel, expected_fn=_coincidence_fn(channel.expected_fn, prefix, names, shape))
    anticoincidence = Channel(
        observed=ac.ravel(), data={"ss": channel.data["ss"]}, name=channel.name + "_ac",
        beams=channel.beams, statistic="poisson",
        expected_fn=_anticoincidence_fn(names, shape, len(channel.beams)))
    nuisances = tuple(n for n in measurement.nuisances if n.name != prefix + "ss_norm")
    nuisances += tuple(Nuisance(name, 1.0, None, lower=0.0) for name in names)
    return Measurement((coincidence, anticoincidence), nuisances,
                       name=measurement.name + "_ac_sideband")
