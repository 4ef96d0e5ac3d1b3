"""Profile-likelihood questions on a :class:`~cevns_jax.likelihood.Measurement`, one at a time.

Every frequentist driver (paper reproductions, data analyses, scans, the numpyro layer's
frequentist comparison) asks its questions through these functions or the batched ones of
:mod:`cevns_jax.inference.profile_grid` they call, so one question gets one answer:

- :func:`profiled_twice_nll`: -2 ln L at physics parameters theta with the measurement's
  profiled nuisances minimised (:func:`cevns_jax.likelihood.measurement.profile`), and the
  nuisances at the minimum;
- :func:`evaluate`: that value at many points;
- :func:`curve`: that value along one physics parameter, minimised in addition over a grid of
  other physics parameters (e.g. the CP phases xi1, xi3);
- :func:`upper_limit`: where Delta(-2 ln L) from the minimum over x >= lower bound first
  crosses ``level`` above it (2.71: 90% C.L. one-sided for one parameter by Wilks' theorem);
- :func:`nuisance_errors`: 1 sigma errors of the profiled nuisances from the Hessian.

Compilation happens once per measurement *structure*: the jitted kernels take the measurement
as a pytree with the model static, so new data, templates or parameter values reuse the
compiled code (tests count traces).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..likelihood.measurement import profile
from ..likelihood.physics_model import channel_mu2s
from .profile_grid import UpperLimit, evaluate_points, product_grid, upper_limits

__all__ = ["curve", "evaluate", "nuisance_errors", "profiled_twice_nll", "upper_limit"]

#: Number of traces of the jitted kernels (tests check that new values do not retrace).
TRACE_COUNT = {"profiled": 0, "hessian": 0}


@partial(jax.jit, static_argnames=("model", "n_steps"))
def profiled_twice_nll(measurement, model, theta, n_steps: int = 30):
    """(min over profiled nuisances of -2 ln L at ``theta``, the nuisances at the minimum)."""
    TRACE_COUNT["profiled"] += 1
    return profile(measurement, channel_mu2s(measurement, model, theta), n_steps=n_steps)


def evaluate(measurement, model, thetas: dict, *, chunk: int = 64,
             n_steps: int = 30) -> np.ndarray:
    """Profiled -2 ln L at many points: ``thetas`` maps parameter names to equal-length
    arrays or scalars (missing parameters at the model's defaults); ``chunk`` points per
    compiled call (larger for maps of small measurements: fewer calls, one more compilation)."""
    return evaluate_points(measurement, model, thetas, chunk=chunk, n_steps=n_steps)


def curve(measurement, model, name: str, xs, *, fixed=None, profile_grid=None,
          n_steps: int = 30) -> np.ndarray:
    """-2 ln L along ``name`` = xs: nuisances profiled, and minimised over the product grid
    ``profile_grid`` = {parameter: values} of other physics parameters; the rest at ``fixed``
    (missing ones at the model's defaults)."""
    fixed = dict(fixed or {})
    clash = set(fixed) & ({name} | set(profile_grid or {}))
    if clash:
        raise ValueError(f"parameter(s) {sorted(clash)} both fixed and scanned/profiled")
    grid_names, grid_points = product_grid(profile_grid)
    xs = np.atleast_1d(np.asarray(xs, dtype=float))
    points = {k: np.full(xs.size * grid_points.shape[0], float(v)) for k, v in fixed.items()}
    points[name] = np.repeat(xs, grid_points.shape[0])
    points.update({k: np.tile(grid_points[:, i], xs.size) for i, k in enumerate(grid_names)})
    values = evaluate_points(measurement, model, points, n_steps=n_steps)
    return values.reshape(xs.size, grid_points.shape[0]).min(axis=1)


def upper_limit(measurement, model, name: str, *, level: float = 2.71, fixed=None,
                profile_grid=None, lower: float = 0.0, upper: float = 1.0e4,
                nuisance_start=None, n_coarse: int | None = None, rtol: float = 1e-10,
                chunk: int | None = None, n_steps: int = 30) -> UpperLimit:
    """Upper limit on physics parameter ``name`` (e.g. "lambda1", "mu_e"): the
    :class:`~cevns_jax.inference.profile_grid.UpperLimit` of
    :func:`~cevns_jax.inference.profile_grid.upper_limits` for this one parameter, the others
    at ``fixed`` (missing ones at the model's defaults) and ``profile_grid`` profiled. If
    Delta(-2 ln L) never reaches ``level`` in [lower, upper] the value is NaN and the status
    says "not reached within [lower, upper]". ``nuisance_start``: where the nuisances'
    minimisation starts (e.g. a previous fit); ``n_coarse``, ``rtol``, ``chunk``: the search.
    By default one point per call on a CPU (``chunk=1``, 16 coarse points: as few evaluations
    as a scalar root finder, where a batch costs as much as its points) and 64 on an
    accelerator (48 coarse points, a batch costing about one point)."""
    if chunk is None:
        chunk = 1 if jax.default_backend() == "cpu" else 64
    if n_coarse is None:
        n_coarse = 16 if chunk == 1 else 48
    return upper_limits(measurement, model, [name], grid=profile_grid, fixed=fixed, level=level,
                        nuisance_start=nuisance_start, lower=lower, upper=upper,
                        n_coarse=n_coarse, rtol=rtol, chunk=chunk, n_steps=n_steps)[name]


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
