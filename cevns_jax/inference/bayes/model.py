"""The numpyro model of a posterior problem: priors, the physics model, and the shared
measurement's -2 ln L as the likelihood.

Physics parameters: the moduli are sampled as u ~ Uniform(0, 1)^3 through the inverse prior
CDF (:func:`_moduli_from_unit`); each phase is the angle of a 2-vector with a ring density
(:mod:`.problem`). They are mapped to mu_b^2 of every beam by the physics model
(:func:`cevns_jax.likelihood.physics_model.channel_mu2s`).

Nuisances: those with treatment ``"profiled"`` are marginalised, ``"fixed"`` ones stay at
their nominal value. The posterior density is

    p(theta, nu | n) ∝ prior(theta) exp(-twice_nll(theta, nu) / 2)    on the nuisance bounds,

with ``twice_nll`` :meth:`Measurement.twice_nll`: the statistic every other inference path
uses. Its constraint terms ((nu - centre) / sigma)^2 *are* the Gaussian nuisance priors;
an unconstrained nuisance is flat within its (finite) bounds. One factor ``twice_nll``
carries all of it.

Each sampled nuisance lives on the real line through a bound transform nu = T(u)
(identity; lower + e^u; upper - e^u; lower + (upper - lower) sigmoid(u)). The sample site is
z ~ Normal(0, I) with u = m + C z and the Jacobian log|det C| + sum log T'(u) added, so the
density of nu is exactly the one above for any (m, C):

* ``"whitened"`` (default): (m, C C^T) is the Gaussian approximation of p(u | theta), one
  Newton step of -log p from the nominal point (autodiff gradient and Hessian of the same
  twice_nll). Exact for Gaussian statistics with nuisances entering linearly (paper 000
  Eqs. 34-35): z is then independent of theta, which removes the ridge a precise
  normalisation makes (a future reactor: 10^7 events, 10 % normalisation, ~10^3 times
  thinner than long).
* ``"centered"``: the same with the constraint terms alone (C independent of theta).

A Hessian that is not positive definite (a non-convex expectation) falls back to its
absolute diagonal; the map stays exact, only less efficient.
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from ...likelihood.physics_model import FlavourMoments, TransitionMoments, channel_mu2s
from ...moments import OscillationParameters
from .measurements import nuisance_key
from .problem import _MODEL_PARAMETER, FLAVOUR_MODULI, PRIOR_KINDS, TMM_MODULI, \
    PosteriorProblem, Prior

#: Traces of the model function; a second run of a problem with the same structure and new
#: numbers (data, templates, prior bounds) must not add any.
TRACE_COUNT = {"model": 0}

_PRIOR_CODES = {name: float(i) for i, name in enumerate(PRIOR_KINDS)}


def _model_structure(problem: PosteriorProblem, include_likelihood: bool) -> tuple:
    """Hashable description of everything the compiled model depends on besides numbers:
    the model, phases, parameterisation and the measurement's pytree structure (channel
    shapes, beams, expectation functions, nuisance names, priors and treatments)."""
    return (problem.model, problem.sample_delta_cp, problem.parameterization,
            bool(include_likelihood),
            jax.tree_util.tree_structure(problem.measurement.canonical()))


def model_data(problem: PosteriorProblem) -> dict:
    """The numbers of ``problem`` as a pytree: the model's argument (prior, oscillation
    parameters, and the measurement itself, whose arrays are leaves)."""
    prior = problem.prior
    if prior.upper is None:
        raise ValueError("problem.prior.upper is None: build problems with build_problem")
    f = lambda v: jnp.asarray(np.asarray(v, dtype=np.float64))  # noqa: E731
    return {
        "prior": {"upper": f(prior.upper), "cutoff": f(prior.lower_cutoff),
                  "kind": f(_PRIOR_CODES[prior.moduli]), "ring_width": f(prior.ring_width)},
        "osc": [f(v) for v in problem.osc],
        "measurement": problem.measurement.canonical(),
    }


def _moduli_from_unit(u, prior):
    """Inverse prior CDFs: u ~ Uniform(0, 1)^3 -> moduli under the selected prior.

    flat: upper u; flat_in_square: upper sqrt(u) (density 2x / upper^2); log_flat:
    cutoff (upper / cutoff)^u. The kind is a number in the data (one compiled model serves
    every prior); all branches are finite, so ``where`` keeps gradients clean.
    """
    upper, cutoff, kind = prior["upper"], prior["cutoff"], prior["kind"]
    flat = upper * u
    square = upper * jnp.sqrt(u)
    logflat = cutoff * jnp.exp(u * jnp.log(upper / cutoff))
    return jnp.where(kind == 0.0, flat, jnp.where(kind == 1.0, square, logflat))


def _unit_from_moduli(moduli, prior: Prior):
    """Inverse of :func:`_moduli_from_unit` (NumPy, for initial values)."""
    m = np.asarray(moduli, dtype=float)
    upper = float(prior.upper)
    if prior.moduli == "flat":
        return m / upper
    if prior.moduli == "flat_in_square":
        return (m / upper) ** 2
    return np.log(m / prior.lower_cutoff) / np.log(upper / prior.lower_cutoff)


def _sample_phase(name: str, ring_width):
    """Uniform angle atan2(v_y, v_x) of a 2-vector with a ring density (the phase prior of
    :mod:`.problem`)."""
    v = numpyro.sample(f"{name}_vec", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
    r = jnp.sqrt(jnp.sum(v**2))
    # replace the Normal(0, I) base density by the ring exp(-(r - 1)^2 / 2 w^2)
    numpyro.factor(f"{name}_ring", -0.5 * ((r - 1.0) / ring_width) ** 2 + 0.5 * r**2)
    return numpyro.deterministic(name, jnp.mod(jnp.arctan2(v[1], v[0]), 2 * jnp.pi))


# ---------------------------------------------------------------------------- bound transforms
def _bound_kind(n) -> str:
    lo, hi = math.isfinite(n.lower), math.isfinite(n.upper)
    return {(False, False): "real", (True, False): "lower", (False, True): "upper",
            (True, True): "interval"}[(lo, hi)]


def _to_nuisance(n, u):
    """nu = T(u) for nuisance ``n`` (static bounds)."""
    kind = _bound_kind(n)
    if kind == "real":
        return u
    if kind == "lower":
        return n.lower + jnp.exp(u)
    if kind == "upper":
        return n.upper - jnp.exp(u)
    return n.lower + (n.upper - n.lower) * jax.nn.sigmoid(u)


def _log_jacobian(n, u):
    """log |dT/du|."""
    kind = _bound_kind(n)
    if kind == "real":
        return jnp.zeros_like(u)
    if kind in ("lower", "upper"):
        return u
    return math.log(n.upper - n.lower) - jax.nn.softplus(u) - jax.nn.softplus(-u)


def nominal_unconstrained(n) -> float:
    """Starting point u0 of the Newton step: T^-1 of the nominal value, moved to at least one
    scale (sigma, or a quarter of a finite range) inside each bound so that the curvature
    there is informative (a nominal on a bound would sit at u = -inf)."""
    kind = _bound_kind(n)
    width = n.upper - n.lower
    scale = min(n.sigma or math.inf, width / 4.0) if kind == "interval" else (n.sigma or 1.0)
    x = n.nominal
    if kind in ("lower", "interval"):
        x = max(x, n.lower + scale)
    if kind in ("upper", "interval"):
        x = min(x, n.upper - scale)
    if kind == "real":
        return float(x)
    if kind == "lower":
        return math.log(x - n.lower)
    if kind == "upper":
        return math.log(n.upper - x)
    return math.log((x - n.lower) / (n.upper - x))


def _constraint_terms(measurement, nu):
    """Sum of the constraint terms of twice_nll (the Gaussian nuisance priors)."""
    centres = measurement.centres or {}
    return sum((n.penalty(nu[n.name], centres.get(n.name)) for n in measurement.nuisances),
               jnp.zeros(()))


def _positive_definite(h):
    """``h`` if its Cholesky factor exists, else its absolute diagonal (a safe fallback whose
    gradient never mixes in the NaN factor)."""
    h = 0.5 * (h + h.T)
    ok = jnp.all(jnp.isfinite(jnp.linalg.cholesky(jax.lax.stop_gradient(h))))
    fallback = jnp.diag(jnp.abs(jnp.diag(h)) + 1e-12)
    return jnp.where(ok, h, fallback)


def _sample_nuisances(measurement, mu2s, whitened: bool, with_data: bool) -> dict:
    """All nuisances {name: value}: sampled ones through z ~ N(0, I) (module docstring),
    fixed ones at nominal; adds the Jacobian factor."""
    nu = measurement.nominal_nuisances()
    sampled = [n for n in measurement.nuisances if n.treatment == "profiled"]
    if not sampled:
        return nu
    u0 = jnp.asarray([nominal_unconstrained(n) for n in sampled])

    def full(u):
        out = dict(nu)
        out.update({n.name: _to_nuisance(n, u[i]) for i, n in enumerate(sampled)})
        return out

    use_data = whitened and with_data

    def minus_log_density(u):
        """-log of the conditional density of u (twice_nll, or the constraints alone)."""
        values = full(u)
        total = (measurement.twice_nll(mu2s, values) if use_data
                 else _constraint_terms(measurement, values))
        return 0.5 * total - sum(_log_jacobian(n, u[i]) for i, n in enumerate(sampled))

    grad = jax.grad(minus_log_density)(u0)
    hess = _positive_definite(jax.hessian(minus_log_density)(u0))
    mean = u0 - jnp.linalg.solve(hess, grad)
    chol = jnp.linalg.cholesky(hess)
    z = numpyro.sample("nuisance_z", dist.Normal(0.0, 1.0).expand([len(sampled)]).to_event(1))
    u = mean + jax.scipy.linalg.solve_triangular(chol.T, z, lower=False)
    numpyro.factor("nuisance_jacobian",
                   sum(_log_jacobian(n, u[i]) for i, n in enumerate(sampled))
                   - jnp.sum(jnp.log(jnp.diag(chol)))
                   - jnp.sum(dist.Normal(0.0, 1.0).log_prob(z)))
    return full(u)


def _make_model(structure: tuple) -> Callable:
    model_kind, sample_delta_cp, parameterization, with_data, _ = structure
    moduli_names = TMM_MODULI if model_kind == "tmm" else FLAVOUR_MODULI
    phases = (("xi1", "xi3", "delta_cp") if sample_delta_cp else ("xi1", "xi3")) \
        if model_kind == "tmm" else ()

    def model(data):
        TRACE_COUNT["model"] += 1
        prior, measurement = data["prior"], data["measurement"]
        u = numpyro.sample("moduli_unit", dist.Uniform(0.0, 1.0).expand([3]).to_event(1))
        moduli = numpyro.deterministic("moduli", _moduli_from_unit(u, prior))
        angles = {name: _sample_phase(name, prior["ring_width"]) for name in phases}
        osc = OscillationParameters(*data["osc"])
        if sample_delta_cp:
            osc = osc._replace(delta_cp=angles["delta_cp"])
        physics = TransitionMoments(osc) if model_kind == "tmm" else FlavourMoments(osc)
        theta = {_MODEL_PARAMETER[n]: moduli[i] for i, n in enumerate(moduli_names)}
        theta.update({p: angles[p] for p in ("xi1", "xi3") if p in angles})
        mu2s = channel_mu2s(measurement, physics, theta)
        nu = _sample_nuisances(measurement, mu2s, parameterization == "whitened", with_data)
        for n in measurement.nuisances:
            if n.treatment == "profiled":
                numpyro.deterministic(nuisance_key(n.name), nu[n.name])
        twice_nll = numpyro.deterministic("chi2", measurement.twice_nll(mu2s, nu))
        numpyro.factor("twice_nll", -0.5 * (twice_nll if with_data
                                            else _constraint_terms(measurement, nu)))

    return model


def numpyro_model(problem: PosteriorProblem, *, include_likelihood: bool = True):
    """The numpyro model of ``problem`` and its argument: ``(model, data)``; run it as
    ``model(data)`` (e.g. ``NUTS(model)`` with ``mcmc.run(key, data)``).

    Sample sites: ``moduli_unit`` (3,) (uniform; the prior enters through the inverse CDF
    :func:`_moduli_from_unit`), ``<phase>_vec`` (2,) per phase, ``nuisance_z`` (k,) for the
    k marginalised nuisances. Deterministic sites: ``moduli`` (3,), phases by name,
    nuisances by :func:`~.measurements.nuisance_key`, ``chi2`` (-2 ln L of the measurement
    at the draw). Factors: ``twice_nll`` = -twice_nll / 2 (the likelihood and the Gaussian
    nuisance priors), ``nuisance_jacobian``, one ring factor per phase.
    ``include_likelihood=False`` keeps the constraint terms only (the prior).
    """
    return _make_model(_model_structure(problem, include_likelihood)), model_data(problem)
