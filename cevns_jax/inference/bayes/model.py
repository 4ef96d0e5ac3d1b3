"""The numpyro model of a posterior problem.

The moduli are sampled as u ~ Uniform(0, 1)^3 through the inverse prior CDF
(:func:`_moduli_from_unit`); each phase is the angle of a 2-vector with a ring density
(:mod:`.problem`); one factor per measurement carries -(chi2 - pull) / 2.

Nuisance parameterisation ``"whitened"`` (default): the paper's nuisances enter linearly
with a Gaussian pull, so given the physics parameters theta their conditional posterior is
Gaussian, with mean and Cholesky factor C(theta) from one Newton step of the chi^2 at a = 0
(gradient and Hessian by autodiff of the same chi^2). The sample site is z ~ Normal(0, 1)
with eta = m(theta) + C(theta) z plus the Jacobian log|det C|: exact for any prior, a
perfect decorrelation for Gaussian nuisances in Eqs. 34-35. ``"centered"`` samples eta
directly; for a future reactor (10^7 events, 10 % normalisation) that gives a ridge 10^3
times thinner than long, which NUTS cannot traverse.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from ...effective_moments import flavour_mu2, tmm_mu2
from ...moments import OscillationParameters
from .measurements import _chi2_core, _numeric, _pull_core, _structure
from .problem import NUISANCE_PRIORS, PRIOR_KINDS, PosteriorProblem, Prior


_PRIOR_CODES = {name: float(i) for i, name in enumerate(PRIOR_KINDS)}
_NUISANCE_CODES = {name: float(i) for i, name in enumerate(NUISANCE_PRIORS)}


def _model_structure(problem: PosteriorProblem, include_likelihood: bool) -> tuple:
    """Hashable description of everything the compiled model depends on besides numbers."""
    return (problem.model, problem.sample_delta_cp, problem.parameterization,
            bool(include_likelihood), tuple(_structure(m) for m in problem.measurements))


def model_data(problem: PosteriorProblem) -> dict:
    """The numbers of ``problem`` as a pytree of float64 arrays: the model's argument."""
    prior = problem.prior
    if prior.upper is None:
        raise ValueError("problem.prior.upper is None: build problems with build_problem")
    f = lambda v: jnp.asarray(np.asarray(v, dtype=np.float64))  # noqa: E731
    return {
        "prior": {"upper": f(prior.upper), "cutoff": f(prior.lower_cutoff),
                  "kind": f(_PRIOR_CODES[prior.moduli]),
                  "nuisance_kind": f(_NUISANCE_CODES[prior.nuisance]),
                  "ring_width": f(prior.ring_width)},
        "osc": [f(v) for v in problem.osc],
        "measurements": [{k: f(v) for k, v in _numeric(m).items()}
                         for m in problem.measurements],
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


def _sample_nuisances(structure, parameterization, num, mu2, nuisance_kind, with_data):
    """Nuisances a (shape (k,)) of one measurement, prior and reparameterisation included.

    eta ~ Normal(0, sigma) is the Gaussian coordinate; a = eta (Gaussian prior) or
    e^eta - 1 (log-normal). ``whitened``: z ~ Normal(0, 1), eta = m + C z with (m, C C^T)
    the Gaussian approximation of p(eta | theta) from one Newton step of the data term at
    a = 0 (gradient and Hessian by autodiff); the factor adds log N(eta; 0, sigma) +
    log|det C| - log N(z; 0, 1), so the density of eta is exactly its prior.
    """
    statistic, _, _, denominator, _, slug, keys = structure
    k = len(keys)
    if k == 0:
        return jnp.zeros(0)
    sigma = num["nuisance_sigma"]
    if parameterization == "centered":
        eta = numpyro.sample(f"eta__{slug}", dist.Normal(0.0, sigma).to_event(1))
    else:
        if with_data:
            def data_term(a):
                return (_chi2_core(statistic, denominator, num, mu2, a) - _pull_core(num, a))

            zero = jnp.zeros(k)
            grad = jax.grad(data_term)(zero)
            hess = jax.hessian(data_term)(zero)
            half_hess = 0.25 * (hess + hess.T)
            # -log p(a | theta) ~ data_term / 2 + sum(a^2 / 2 sigma^2): one Newton step from
            # a = 0 (exact for Eqs. 34-35, whose data term is quadratic in a)
            precision_a = half_hess + jnp.diag(1.0 / sigma**2)
            mode_a = -jnp.linalg.solve(precision_a, 0.5 * grad)
            # log-normal: eta = log(1 + a); map the mode and the data curvature with the
            # Jacobian da/deta = 1 + a at the mode (Gauss-Newton, always positive definite)
            scale = 1.0 + jnp.clip(mode_a, -0.99, None)
            precision_eta = scale[:, None] * half_hess * scale[None, :] + jnp.diag(1.0 / sigma**2)
            lognormal = nuisance_kind != 0.0
            mean = jnp.where(lognormal, jnp.log(scale), mode_a)
            precision = jnp.where(lognormal, precision_eta, precision_a)
        else:
            precision = jnp.diag(1.0 / sigma**2)
            mean = jnp.zeros(k)
        chol = jnp.linalg.cholesky(precision)
        z = numpyro.sample(f"z__{slug}", dist.Normal(0.0, 1.0).expand([k]).to_event(1))
        eta = mean + jax.scipy.linalg.solve_triangular(chol.T, z, lower=False)
        numpyro.factor(f"nuisance_prior__{slug}",
                       jnp.sum(dist.Normal(0.0, sigma).log_prob(eta))
                       - jnp.sum(jnp.log(jnp.diag(chol)))
                       - jnp.sum(dist.Normal(0.0, 1.0).log_prob(z)))
    return jnp.where(nuisance_kind == 0.0, eta, jnp.expm1(eta))


def _make_model(structure: tuple) -> Callable:
    model_kind, sample_delta_cp, parameterization, with_data, measurements = structure
    phases = (("xi1", "xi3", "delta_cp") if sample_delta_cp else ("xi1", "xi3")) \
        if model_kind == "tmm" else ()

    def model(data):
        prior = data["prior"]
        u = numpyro.sample("moduli_unit", dist.Uniform(0.0, 1.0).expand([3]).to_event(1))
        moduli = numpyro.deterministic("moduli", _moduli_from_unit(u, prior))
        theta = {name: _sample_phase(name, prior["ring_width"]) for name in phases}
        osc = OscillationParameters(*data["osc"])
        if sample_delta_cp:
            osc = osc._replace(delta_cp=theta["delta_cp"])
        total = 0.0
        for meas_structure, num in zip(measurements, data["measurements"]):
            statistic, flavours, _, denominator, has_pe1, slug, keys = meas_structure
            if model_kind == "tmm":
                mu2 = tmm_mu2(flavours, moduli, theta["xi1"], theta["xi3"], osc,
                              pe1_2nu=num["pe1_2nu"] if has_pe1 else None)
            else:
                mu2 = flavour_mu2(flavours, moduli, osc)
            a = _sample_nuisances(meas_structure, parameterization, num, mu2,
                                  prior["nuisance_kind"], with_data)
            for key, value in zip(keys, a):
                numpyro.deterministic(key, value)
            chi2 = _chi2_core(statistic, denominator, num, mu2, a)
            total = total + chi2
            if with_data:
                numpyro.factor(f"chi2__{slug}", -0.5 * (chi2 - _pull_core(num, a)))
        numpyro.deterministic("chi2", total)

    return model


def numpyro_model(problem: PosteriorProblem, *, include_likelihood: bool = True):
    """The numpyro model of ``problem`` and its argument: ``(model, data)``; run it as
    ``model(data)`` (e.g. ``NUTS(model)`` with ``mcmc.run(key, data)``).

    Sample sites: ``moduli_unit`` (3,) (uniform; the prior enters through the inverse CDF
    :func:`_moduli_from_unit`), ``<phase>_vec`` (2,) per phase, ``z__<exp>`` (whitened) or
    ``eta__<exp>`` (centered) nuisances. Deterministic sites: ``moduli`` (3,), phases by
    name, nuisances ``<a>__<exp>``, ``chi2`` (the paper's total chi^2 at the sample). One
    factor per experiment: ``chi2__<exp>`` = -(chi2 - pull) / 2.
    ``include_likelihood=False`` gives the prior (prior-sensitivity studies).
    """
    return _make_model(_model_structure(problem, include_likelihood)), model_data(problem)
