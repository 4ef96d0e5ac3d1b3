"""Profile-likelihood inference on a :class:`~cevns_jax.likelihood.Measurement`.

Every frequentist driver (paper reproductions, data analyses, scans, the numpyro layer's
frequentist comparison, toys) asks its questions through these functions, so one question
gets one answer:

- :func:`profiled_twice_nll`: -2 ln L at physics parameters theta with the measurement's
  profiled nuisances minimised (:func:`cevns_jax.likelihood.measurement.profile`);
- :func:`curve`: that value along one physics parameter, minimised in addition over a grid of
  other physics parameters (e.g. the CP phases xi1, xi3), vectorised over the points;
- :func:`upper_limit`: where Delta(-2 ln L) from the minimum over x >= lower bound crosses
  ``level`` (2.71: 90% C.L. one-sided for one parameter by Wilks' theorem);
- :func:`nuisance_errors`: 1 sigma errors of the profiled nuisances from the Hessian.

Compilation happens once per measurement *structure*: the jitted kernels are module-level
functions with the model and parameter names static and the measurement passed as a pytree,
so new data, new templates or new parameter values reuse the compiled code (tests count traces).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize

from ..likelihood.measurement import profile
from ..likelihood.physics_model import channel_mu2s
from ..precision import require_x64

__all__ = ["LimitResult", "curve", "evaluate", "nuisance_errors", "profiled_twice_nll",
           "upper_limit"]

#: Number of traces of the jitted kernels (tests check that new values do not retrace).
TRACE_COUNT = {"profiled": 0, "curve": 0, "evaluate": 0, "hessian": 0}


def _theta(base, direction, x, grid_names, grid_point):
    """base + x * direction, with the grid parameters set to ``grid_point``."""
    theta = {k: base[k] + x * direction[k] for k in base}
    theta.update({n: grid_point[i] for i, n in enumerate(grid_names)})
    return theta


@partial(jax.jit, static_argnames=("model", "n_steps"))
def profiled_twice_nll(measurement, model, theta, n_steps: int = 30):
    """(min over profiled nuisances of -2 ln L at ``theta``, the nuisances at the minimum)."""
    TRACE_COUNT["profiled"] += 1
    return profile(measurement, channel_mu2s(measurement, model, theta), n_steps=n_steps)


@partial(jax.jit, static_argnames=("model", "n_steps"))
def _evaluate(measurement, model, thetas, n_steps):
    TRACE_COUNT["evaluate"] += 1
    return jax.vmap(lambda theta: profile(measurement, channel_mu2s(measurement, model, theta),
                                          n_steps=n_steps)[0])(thetas)


def evaluate(measurement, model, thetas: dict, *, n_steps: int = 30) -> np.ndarray:
    """Profiled -2 ln L at many points: ``thetas`` maps parameter names to equal-length
    arrays (missing parameters are 0); vectorised and compiled once per structure."""
    require_x64()
    unknown = sorted(set(thetas) - set(model.parameters))
    if unknown:
        raise KeyError(f"unknown parameter(s) {unknown} for {type(model).__name__}; "
                       f"known: {list(model.parameters)}")
    arrays = [np.atleast_1d(np.asarray(v, dtype=float)) for v in thetas.values()]
    n = max(a.size for a in arrays)
    full = {k: jnp.asarray(np.broadcast_to(np.atleast_1d(np.asarray(thetas.get(k, 0.0), float)),
                                           (n,))) for k in model.parameters}
    return np.asarray(_evaluate(measurement.canonical(), model, full, n_steps))


@partial(jax.jit, static_argnames=("model", "grid_names", "n_steps"))
def _curve(measurement, model, base, direction, xs, grid_names, grid_points, n_steps):
    TRACE_COUNT["curve"] += 1

    def at(x):
        def at_point(point):
            theta = _theta(base, direction, x, grid_names, point)
            return profile(measurement, channel_mu2s(measurement, model, theta),
                           n_steps=n_steps)[0]
        return jnp.min(jax.vmap(at_point)(grid_points))

    return jax.vmap(at)(xs)


def product_grid(grid):
    """(names, points): the product grid over ``grid`` = {name: values}, points of shape
    (n_points, n_names); one empty point for no grid."""
    if not grid:
        return (), np.zeros((1, 0))
    names = tuple(sorted(grid))
    axes = [np.asarray(grid[n], dtype=float).ravel() for n in names]
    return names, np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(names))


def _fixed(model, fixed, name, profile_grid):
    """(base theta with every parameter, one-hot direction of ``name``), names checked."""
    fixed = dict(fixed or {})
    known = set(model.parameters)
    for key in list(fixed) + [name] + list(profile_grid or {}):
        if key not in known:
            raise KeyError(f"unknown parameter {key!r} for {type(model).__name__}; "
                           f"known: {list(model.parameters)}")
    clash = set(fixed) & ({name} | set(profile_grid or {}))
    if clash:
        raise ValueError(f"parameter(s) {sorted(clash)} both fixed and scanned/profiled")
    base = {k: jnp.asarray(fixed.get(k, 0.0), dtype=jnp.float64) for k in model.parameters}
    base[name] = jnp.asarray(0.0, dtype=jnp.float64)
    direction = {k: jnp.asarray(1.0 if k == name else 0.0, dtype=jnp.float64)
                 for k in model.parameters}
    return base, direction


def curve(measurement, model, name: str, xs, *, fixed=None, profile_grid=None,
          n_steps: int = 30) -> np.ndarray:
    """-2 ln L along ``name`` = xs: nuisances profiled, and minimised over the product grid
    ``profile_grid`` = {parameter: values} of other physics parameters; the rest at ``fixed``
    (missing ones at 0)."""
    require_x64()
    base, direction = _fixed(model, fixed, name, profile_grid)
    grid_names, grid_points = product_grid(profile_grid)
    xs = jnp.atleast_1d(jnp.asarray(xs, dtype=jnp.float64))
    return np.asarray(_curve(measurement.canonical(), model, base, direction, xs, grid_names,
                             jnp.asarray(grid_points), n_steps))


@dataclasses.dataclass(frozen=True)
class LimitResult:
    """An upper limit: ``value`` where Delta(-2 ln L) = ``level``; ``x_min``/``twice_nll_min``
    the minimum it is measured from; ``valid`` False (value NaN) with ``status`` saying why."""

    value: float
    x_min: float
    twice_nll_min: float
    level: float
    valid: bool
    status: str
    bracket: tuple


def upper_limit(measurement, model, name: str, *, level: float = 2.71, fixed=None,
                profile_grid=None, lower: float = 0.0, upper: float = 1.0e4, n_grid: int = 96,
                n_steps: int = 30, rtol: float = 1e-10) -> LimitResult:
    """Upper limit on physics parameter ``name`` (e.g. "lambda1", "mu_e").

    Delta(-2 ln L)(x) is measured from the minimum over x in [lower, upper] (a grid of
    ``n_grid`` linear + geometric points, refined by a bounded scalar minimisation); the first
    crossing of ``level`` above the minimum is solved by Brent's method to ``rtol``. If
    Delta never reaches ``level`` in the range, the result is invalid with status
    "not reached within [lower, upper]".
    """
    require_x64()
    if not (math.isfinite(level) and level > 0):
        raise ValueError(f"level must be a finite positive Delta(-2 ln L), got {level!r}")
    if not (math.isfinite(lower) and math.isfinite(upper) and upper > lower):
        raise ValueError(f"need finite lower < upper, got [{lower!r}, {upper!r}]")
    span = upper - lower
    xs = np.unique(np.concatenate([np.linspace(lower, upper, n_grid // 2),
                                   lower + span * np.geomspace(1e-7, 1.0, n_grid - n_grid // 2)]))
    values = curve(measurement, model, name, xs, fixed=fixed, profile_grid=profile_grid,
                   n_steps=n_steps)
    if not np.all(np.isfinite(values)):
        bad = xs[~np.isfinite(values)][:3].tolist()
        return LimitResult(math.nan, math.nan, math.nan, level, False,
                           f"-2 ln L is not finite at {name} = {bad}", (lower, upper))

    def scalar(x):
        return float(curve(measurement, model, name, np.array([x]), fixed=fixed,
                           profile_grid=profile_grid, n_steps=n_steps)[0])

    i = int(np.argmin(values))
    x_min, f_min = float(xs[i]), float(values[i])
    a, b = float(xs[max(i - 1, 0)]), float(xs[min(i + 1, xs.size - 1)])
    if b > a:
        res = optimize.minimize_scalar(scalar, bounds=(a, b), method="bounded",
                                       options={"xatol": 1e-12 * max(1.0, abs(b))})
        if np.isfinite(res.fun) and res.fun < f_min:
            x_min, f_min = float(res.x), float(res.fun)
    above = (xs > x_min) & (values - f_min >= level)
    if not np.any(above):
        return LimitResult(math.nan, x_min, f_min, level, False,
                           f"Delta(-2 ln L) = {level} not reached within [{lower:g}, {upper:g}]",
                           (lower, upper))
    j = int(np.argmax(above))
    lo, hi = max(float(xs[j - 1]), x_min), float(xs[j])
    value = optimize.brentq(lambda x: scalar(x) - f_min - level, lo, hi, xtol=1e-14,
                            rtol=rtol, maxiter=200)
    return LimitResult(float(value), x_min, f_min, level, True, "ok", (lo, hi))


@jax.jit
def _hessian(measurement, mu2s, nu_hat):
    """Hessian of -2 ln L over the profiled nuisances at ``nu_hat`` (compiled once per
    measurement structure)."""
    TRACE_COUNT["hessian"] += 1
    names = measurement.profiled_names
    x0 = jnp.stack([jnp.asarray(nu_hat[k], dtype=jnp.float64) for k in names])

    def objective(x):
        nu = dict(nu_hat)
        nu.update({k: x[i] for i, k in enumerate(names)})
        return measurement.twice_nll(mu2s, nu)

    return jax.hessian(objective)(x0)


def nuisance_errors(measurement, mu2s, nu_hat) -> dict:
    """1 sigma errors of the profiled nuisances: sqrt(diag(2 H^-1)) with H the Hessian of
    -2 ln L over them at ``nu_hat`` (the Gaussian approximation of the likelihood)."""
    names = measurement.profiled_names
    nu = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in nu_hat.items()}
    mu2s = [jnp.asarray(m, dtype=jnp.float64) for m in mu2s]
    cov = 2.0 * np.linalg.inv(np.asarray(_hessian(measurement.canonical(), mu2s, nu)))
    return {k: float(np.sqrt(cov[i, i])) for i, k in enumerate(names)}
