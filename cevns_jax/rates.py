"""Differential rates and binned event counts, paper 000 Eq. (33) and paper 004 Eq. (12).

    N_bin = sum_isotopes N_x Phi int_bin dT A(T) int_{E_min(T)}^{E_max} f(E) dsigma/dT dE

The recoil integral runs on Gauss-Legendre nodes in log T over each bin, split at
efficiency steps and at T_max(knot) of tabulated spectra (where the integrand has kinks),
and stopped at each spectrum part's kinematic end point T_max(E_max);
the neutrino-energy integral is the tail-moment contraction of :mod:`cevns_jax.spectra`
(Gauss-Legendre on [E_min(T), E_max] for analytic spectra, exact for lines and tables).
Isotopes are vmapped. SM counts and unit-moment EM counts (mu = 1e-10 mu_B) are returned
per beam, so any effective moment combines them linearly: N = S + mu_eff^2 E.

Parameters (a dict, differentiable): ``flux_scale`` (multiplies every beam),
``radius_scale`` (form-factor size), ``kappa`` (Lindhard kappa per isotope, used by the
lindhard and modified_lindhard quenching models),
``sin2_theta_w``. :func:`binned_templates` compiles once per experiment *structure* and
quadrature: the experiment is a pytree argument of one module-level ``jit``, so experiments
that differ only in exposure, target mass, thresholds, bin edges or fluences, and new
parameter values, reuse the compiled code (run op by op, one call costs several times its
compilation); under an outer ``jit``, ``grad`` or ``vmap`` it is traced inline, and those
numbers can be traced too (:mod:`cevns_jax.experiments.vary`). The differential rates are
pure and undecorated: jit them at the call site.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .physics.cross_sections import em_coefficients, sm_coefficients, weak_charges
from .physics.form_factors import form_factor
from .physics.kinematics import e_nu_min, momentum_transfer, recoil_max
from .physics.quenching import ee_jacobian, nuclear_recoil_from_ee
from .precision import require_x64
from .quadrature import QuadratureConfig, log_nodes
from .spectra import TabulatedSpectrum


class Templates(NamedTuple):
    """SM counts and unit-moment EM counts, each of shape (n_beams, n_bins) or (n_beams, n_T)."""

    sm: jnp.ndarray
    em: jnp.ndarray


#: Admissible range of each rate parameter (checked when the value is concrete, not traced).
_PARAM_RANGES = {"flux_scale": (0.0, False), "radius_scale": (0.0, True),
                 "kappa": (0.0, True), "sin2_theta_w": (0.0, True)}


def _check_param(name, value):
    """Raise ValueError for a concrete non-finite or out-of-range parameter value."""
    if isinstance(value, jax.core.Tracer):
        return
    arr = jnp.asarray(value)
    low, strict = _PARAM_RANGES[name]
    bad = ~jnp.isfinite(arr) | ((arr <= low) if strict else (arr < low))
    if name == "sin2_theta_w":
        bad = bad | (arr >= 1.0)
    if bool(jnp.any(bad)):
        bound = "in (0, 1)" if name == "sin2_theta_w" else f"{'>' if strict else '>='} {low}"
        raise ValueError(f"rate parameter {name} must be finite and {bound}, got {value!r}")


def _resolve(experiment, params):
    merged = dict(experiment.default_params)
    params = dict(params or {})
    unknown = [k for k in params if k not in merged]
    if unknown:
        raise KeyError(f"unknown rate parameter(s) {unknown}; known: {sorted(merged)}")
    for name, value in params.items():
        _check_param(name, value)
    merged.update(params)
    merged = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in merged.items()}
    merged["kappa"] = jnp.broadcast_to(merged["kappa"], experiment.detector.target.Z.shape)
    return merged


def _isotope_arrays(experiment, params):
    target = experiment.detector.target
    return dict(Z=target.Z, N=target.N, A=target.A, mass=target.nuclear_mass,
                dz=target.delta_z, dn=target.delta_n, n_nuclei=target.n_nuclei,
                kappa=params["kappa"])


def _coefficients(recoil, iso, params, options):
    """SM and unit-EM cross-section coefficient triples at recoil T for one isotope."""
    q = momentum_transfer(recoil, iso["mass"])
    ff_sq = form_factor(options.form_factor, q, iso["A"], params["radius_scale"]) ** 2
    q_v, q_a = weak_charges(iso["Z"], iso["N"], iso["dz"], iso["dn"], params["sin2_theta_w"],
                            options.cross_section)
    return (sm_coefficients(recoil, iso["mass"], q_v, q_a, ff_sq),
            em_coefficients(recoil, iso["Z"], ff_sq))


def _contract(coefficients, moments):
    return sum(c * m for c, m in zip(coefficients, moments))


def _part_integrand(part, recoil, iso, params, options, quad):
    """(SM, EM) of int f dsigma/dT dE for one spectrum part at recoil T."""
    moments = part.tail_moments(e_nu_min(recoil, iso["mass"], options.kinematics), quad.n_energy)
    sm, em = _coefficients(recoil, iso, params, options)
    return _contract(sm, moments), _contract(em, moments)


def _recoil_intervals(edges, breakpoints):
    """Sub-intervals (n_bins, n_sub) of each bin, split at the (unordered) ``breakpoints``."""
    lo, hi = edges[:-1, None], edges[1:, None]
    inner = jnp.clip(jnp.sort(jnp.asarray(breakpoints, dtype=jnp.float64))[None, :], lo, hi)
    points = jnp.concatenate([lo, inner, hi], axis=1)
    return points[:, :-1], points[:, 1:]


def _isotope_counts(iso, edges, experiment, params, options, quad):
    """(SM, EM) counts per (beam, bin) for one isotope, before the flux scale.

    ``edges`` are the recoil edges of the integration (:meth:`Detector.integration_edges_nr`):
    the bins themselves, or with energy resolution one span split at every bin edge, whose
    nodes are shared out among the bins by :meth:`Detector.bin_response`."""
    detector = experiment.detector
    efficiency = detector.efficiency
    smeared = detector.resolution is not None
    bin_edges = (detector.isotope_edges_nr(iso["Z"], iso["kappa"]) if smeared
                 else jnp.zeros(0))
    sm_beams, em_beams = [], []
    for beam in experiment.beams:
        sm_total = em_total = 0.0
        for part in beam.parts:
            # split where the efficiency steps, where E_min(T) crosses a table knot and,
            # with resolution, at the bin edges
            knot_recoils = recoil_max(jnp.asarray(part.knots), iso["mass"], options.kinematics)
            lo, hi = _recoil_intervals(edges, jnp.concatenate(
                [jnp.asarray(efficiency.breakpoints_nr()), knot_recoils, bin_edges]))
            t_end = recoil_max(part.e_max, iso["mass"], options.kinematics)
            top = jnp.maximum(jnp.minimum(hi, t_end), lo)
            n_nodes = quad.n_piece if isinstance(part, TabulatedSpectrum) else quad.n_recoil
            recoil, weight = log_nodes(lo, top, n_nodes)
            sm, em = _part_integrand(part, recoil, iso, params, options, quad)
            weight = weight * efficiency(recoil) * detector.bin_response(recoil, iso["Z"],
                                                                         iso["kappa"])
            sm_total = sm_total + jnp.sum(weight * sm, axis=(-1, -2))
            em_total = em_total + jnp.sum(weight * em, axis=(-1, -2))
        sm_beams.append(beam.fluence * sm_total)
        em_beams.append(beam.fluence * em_total)
    scale = iso["n_nuclei"]
    return scale * jnp.stack(sm_beams), scale * jnp.stack(em_beams)


def binned_templates(experiment, params=None, quad: QuadratureConfig = QuadratureConfig()):
    """Expected SM and unit-moment EM events per beam and bin (paper 000 Eq. 33).

    Returns :class:`Templates` with arrays of shape (n_beams, n_bins). Parameter names and
    concrete values are checked here; the integration runs in :func:`_compiled_templates`,
    compiled once per experiment structure and quadrature.
    """
    require_x64()
    params = _resolve(experiment, params)
    return _compiled_templates(jax.tree_util.tree_map(_float64, experiment), params, quad)


def _float64(leaf):
    """A leaf as a float64 array, so Python floats and arrays key the same compiled code."""
    if isinstance(leaf, jax.Array):
        return leaf if leaf.dtype == jnp.float64 else leaf.astype(jnp.float64)
    return np.asarray(leaf, dtype=np.float64)


def _templates(experiment, params, quad):
    edges = experiment.detector.integration_edges_nr(params["kappa"])
    per_isotope = jax.vmap(
        lambda iso, e: _isotope_counts(iso, e, experiment, params, experiment.options, quad)
    )(_isotope_arrays(experiment, params), edges)
    scale = params["flux_scale"]
    return Templates(scale * per_isotope[0].sum(0), scale * per_isotope[1].sum(0))


#: Number of times :func:`_compiled_templates` has been traced (one per structure and quadrature).
TRACE_COUNT = 0


@partial(jax.jit, static_argnames="quad")
def _compiled_templates(experiment, params, quad):
    """:func:`_templates` with the experiment's leaves (as float64 arrays) as arguments."""
    global TRACE_COUNT
    TRACE_COUNT += 1
    return _templates(experiment, params, quad)


def _isotope_differential(iso, recoil, experiment, params, options, quad, with_efficiency):
    sm_beams, em_beams = [], []
    for beam in experiment.beams:
        sm_total = em_total = 0.0
        for part in beam.parts:
            sm, em = _part_integrand(part, recoil, iso, params, options, quad)
            sm_total, em_total = sm_total + sm, em_total + em
        sm_beams.append(beam.fluence * sm_total)
        em_beams.append(beam.fluence * em_total)
    weight = iso["n_nuclei"] * (experiment.detector.efficiency(recoil) if with_efficiency else 1.0)
    return weight * jnp.stack(sm_beams), weight * jnp.stack(em_beams)


def differential_rate(experiment, recoil_nr, params=None,
                      quad: QuadratureConfig = QuadratureConfig(), with_efficiency=True):
    """dN/dT_nr [events per MeV of nuclear recoil] per beam at the recoils ``recoil_nr`` [MeV]
    (paper 004 Eq. 12 times exposure), summed over isotopes. Shape (n_beams, n_T)."""
    require_x64()
    params = _resolve(experiment, params)
    recoil_nr = jnp.asarray(recoil_nr, dtype=jnp.float64)
    sm, em = jax.vmap(lambda iso: _isotope_differential(
        iso, recoil_nr, experiment, params, experiment.options, quad, with_efficiency)
    )(_isotope_arrays(experiment, params))
    return Templates(params["flux_scale"] * sm.sum(0), params["flux_scale"] * em.sum(0))


def differential_rate_ee(experiment, recoil_ee, params=None,
                         quad: QuadratureConfig = QuadratureConfig()):
    """dN/dT_ee [events per MeVee] per beam: each isotope's dN/dT_nr at T_nr(T_ee) divided
    by the Jacobian dT_ee/dT_nr = Q + T dQ/dT (paper 004 Eqs. 16-17) of the detector's
    quenching model. Efficiency not applied."""
    require_x64()
    params = _resolve(experiment, params)
    recoil_ee = jnp.asarray(recoil_ee, dtype=jnp.float64)

    quenching = experiment.detector.quenching

    def one(iso):
        recoil = nuclear_recoil_from_ee(recoil_ee, iso["Z"], iso["kappa"], model=quenching)
        sm, em = _isotope_differential(iso, recoil, experiment, params, experiment.options,
                                       quad, with_efficiency=False)
        jac = ee_jacobian(recoil, iso["Z"], iso["kappa"], quenching)
        return sm / jac, em / jac

    sm, em = jax.vmap(one)(_isotope_arrays(experiment, params))
    return Templates(params["flux_scale"] * sm.sum(0), params["flux_scale"] * em.sum(0))
