"""Best fit, chain start and frequentist limits from the profiled -2 ln L of a posterior
problem's measurement (the statistic the posterior uses; paper 000 Table II convention for
single limits)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from typing import NamedTuple

from ...precision import require_x64
from .. import profile_likelihood
from ..fit import MODULUS, PHASE, minimize, profile_nuisances, uniform_starts
from ..limits import upper_limit
from .problem import (_MODEL_PARAMETER, PosteriorProblem, _single_parameter_limits, _theta_from,
                      chi2_profiled, physics_model)


def frequentist_limits(problem: PosteriorProblem, level: float = 2.71, *,
                       mode: str = "single", n_starts: int = 8, seed: int = 0) -> dict:
    """90 % C.L. (Delta chi^2 = ``level``) limits on each modulus from the profiled chi^2.

    ``mode="single"``: the other moduli and the phases at zero (paper 000 Table II).
    ``mode="profiled"``: Delta chi^2 minimised over the other moduli, the phases (and
    delta_CP when sampled) with ``n_starts`` L-BFGS starts (pure JAX, vmapped); NaN where
    a flat direction leaves the parameter unbounded (e.g. a reactor alone, 000 Eqs. 13-14).
    Limits via :func:`cevns_jax.inference.limits.upper_limit`. Returns ``{name: value}``.
    """
    require_x64()
    if mode == "single":
        return _single_parameter_limits(problem, level)
    if mode != "profiled":
        raise ValueError(f"mode must be 'single' or 'profiled', got {mode!r}")
    names = problem.moduli_names
    phases = problem.phase_names
    rng = np.random.default_rng(seed)
    upper = float(problem.prior.upper)
    out = {}
    # global minimum over everything, to measure Delta chi^2 from
    chi2_min = best_fit(problem, n_starts=n_starts, seed=seed).value
    for i, name in enumerate(names):
        others = [j for j in range(len(names)) if j != i]
        starts = np.concatenate([np.sqrt(rng.uniform(0, upper, (n_starts, len(others)))),
                                 rng.uniform(0, 2 * np.pi, (n_starts, len(phases)))], axis=1)
        starts[0] = 0.0
        starts = jnp.asarray(starts)

        def chi2_fixed(x, u, i=i, others=tuple(others)):
            moduli = jnp.zeros(len(names)).at[i].set(x)
            moduli = moduli.at[jnp.asarray(others)].set(u[:len(others)] ** 2)
            values = {"moduli": moduli}
            values.update({p: u[len(others) + k] for k, p in enumerate(phases)})
            return chi2_profiled(problem, _theta_from(problem, values))

        def chi2_of_x(x, starts=starts, chi2_fixed=chi2_fixed):
            runs = jax.vmap(lambda u0: profile_nuisances(chi2_fixed, x, u0, gtol=1e-8,
                                                         ftol=1e-14))(starts)
            return jnp.min(runs.value)

        f = jax.jit(chi2_of_x)
        if float(f(100.0 * upper)) - chi2_min < level:
            out[name] = float("nan")
            continue
        lim = upper_limit(chi2_of_x, level, (0.0, upper), chi2_min=chi2_min, n_grid=24,
                          max_expand=20)
        out[name] = lim.value if lim.valid else float("nan")
    return out


def best_fit(problem: PosteriorProblem, *, n_starts: int = 6, seed: int = 0):
    """Multi-start L-BFGS minimum (:func:`cevns_jax.inference.fit.minimize`) of the
    profiled chi^2 (:func:`chi2_profiled`) over the moduli (>= 0, squared map) and phases
    (periodic); start 0 is the origin, the others uniform in the prior box. Returns the
    FitResult (params ``moduli`` (3,) and phases by name). The starts run in a Python loop
    (``vectorize=False``): for a few starts that compiles in a third of the time."""
    require_x64()
    upper = float(problem.prior.upper) if problem.prior.upper is not None else 1.0
    transforms = {"moduli": MODULUS}
    ranges = {"moduli": (np.zeros(3), np.full(3, upper))}
    for p in problem.phase_names:
        transforms[p] = PHASE
        ranges[p] = (0.0, 2 * np.pi)
    starts = uniform_starts(n_starts, ranges, seed=seed)
    starts[0]["moduli"] = np.full(3, 1e-6)

    def fun(params):
        return chi2_profiled(problem, _theta_from(problem, params))

    return minimize(fun, starts, transforms, vectorize=False)


class StartPoint(NamedTuple):
    """Where the chains start: ``params`` (``moduli`` (3,), phases by name), the profiled
    -2 ln L there (``value``), ``valid`` (finite) and how it was found (``status``)."""

    params: dict
    value: float
    valid: bool
    status: str


def start_point(problem: PosteriorProblem, *, n_points: int = 64, seed: int = 0) -> StartPoint:
    """The lowest profiled -2 ln L among the origin and ``n_points - 1`` points uniform in the
    prior box (phases uniform), through :func:`cevns_jax.inference.profile_likelihood.evaluate`:
    compiled once per measurement structure, so a new data set costs no compilation (unlike
    :func:`best_fit`). NUTS warm-up does the rest."""
    require_x64()
    rng = np.random.default_rng(seed)
    upper = float(problem.prior.upper)
    moduli = rng.uniform(0.0, upper, (n_points, 3))
    moduli[0] = 0.0
    phases = {p: rng.uniform(0.0, 2 * np.pi, n_points) for p in ("xi1", "xi3")
              if p in problem.phase_names}
    thetas = {_MODEL_PARAMETER[n]: moduli[:, i] for i, n in enumerate(problem.moduli_names)}
    thetas.update(phases)
    values = profile_likelihood.evaluate(problem.measurement, physics_model(problem), thetas)
    ranked = np.where(np.isfinite(values), values, np.inf)
    i = int(np.argmin(ranked))
    params = {"moduli": moduli[i], **{p: float(v[i]) for p, v in phases.items()}}
    if "delta_cp" in problem.phase_names:
        params["delta_cp"] = float(problem.osc.delta_cp)
    return StartPoint(params, float(values[i]), bool(np.isfinite(values[i])),
                      f"best of {n_points} points")
