"""Frequentist limits from toys: the Neyman construction with Feldman-Cousins ordering.

Near the physical boundary (moments >= 0) and with few events the Delta(-2 ln L) of a
magnetic moment is not chi^2-distributed, so Wilks' 2.71 does not give 90% coverage
(shown for COHERENT CsI in arXiv:2008.06062). This module replaces it by the distribution of
the statistic itself (Feldman & Cousins, PRD 57, 3873 (1998); with nuisances the "profile
construction", e.g. Cranmer, PHYSTAT 2011, and Sect. 40 of the PDG Review of Statistics):

    t(x) = -2 ln [ L(x, nu_hat(x)) / L(x_hat, nu_hat) ],   x_hat = argmax over x >= lower,

for the parameter of interest x (one physics parameter, the others fixed). For each tested
x, toys are drawn from the model at (x, nu_hat(x) fitted to the observed data): Poisson counts
for Poisson channels, Gaussian for Gaussian ones, and the centres of the Gaussian nuisance
constraints (the auxiliary measurements) around nu_hat(x). The critical value t_c(x) is the
``cl`` quantile of t over the toys; the interval is {x : t_obs(x) <= t_c(x)}, and its upper
end is the limit. Wilks' theorem is the special case t_c = 2.71 (90%, one parameter).

Every toy of a tested point is fitted in one ``vmap`` of a jit-compiled kernel (fixed-step
damped Newton, :func:`cevns_jax.likelihood.measurement.damped_newton`: the nuisances at x,
then x and the nuisances jointly from two starts), in chunks of ``batch_size`` so memory stays
flat. The observed statistic t_obs(x) and the nuisances the toys of x are generated with come
from the same kernel (:func:`observed_fit`: the observed data in place of the draws), so a limit
compiles one kernel per measurement structure and model.
Toy ``i`` of point ``j`` uses ``fold_in(fold_in(key, j), i)``: results do not depend on the
chunking or on how the toys are split over processes (:mod:`cevns_jax.inference.distributed`).
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..likelihood.measurement import damped_newton, profile
from ..likelihood.physics_model import channel_mu2s
from ..precision import require_x64
from .toy_store import ToyStore

__all__ = ["ToyLimit", "critical_values", "fc_statistic", "neyman_upper_limit", "observed_fit",
           "toy_statistics"]

#: Traces of the jitted kernels (tests check that a second point does not retrace).
TRACE_COUNT = {"toys": 0, "statistic": 0}


def _base_and_direction(model, fixed, name):
    """(theta with every parameter at ``fixed`` or 0 and ``name`` at 0, the one-hot direction
    of ``name``): the point scanned is base + x direction. Names checked."""
    fixed = dict(fixed or {})
    unknown = sorted((set(fixed) | {name}) - set(model.parameters))
    if unknown:
        raise KeyError(f"unknown parameter(s) {unknown} for {type(model).__name__}; "
                       f"known: {list(model.parameters)}")
    if name in fixed:
        raise ValueError(f"parameter {name!r} both fixed and scanned")
    base = {k: np.float64(fixed.get(k, 0.0)) for k in model.parameters}
    base[name] = np.float64(0.0)
    direction = {k: np.float64(k == name) for k in model.parameters}
    return base, direction


def _profiled(measurement, model, base, direction, x, n_steps, start=None):
    theta = {k: base[k] + x * direction[k] for k in base}
    return profile(measurement, channel_mu2s(measurement, model, theta), n_steps=n_steps,
                   start=start)


def _statistic(measurement, model, base, direction, x_test, lower, upper, n_steps,
               start=None):
    """t(x_test), x_hat and the nuisances of the conditional fit. The conditional fit
    profiles the nuisances at x_test (from ``start``, default nominal); the free fit is a joint damped-Newton fit of
    (x, nuisances), x in [lower, upper], started from the conditional fit and from just above
    the lower bound (the better of the two is kept)."""
    names = measurement.profiled_names
    nominal = measurement.nominal_nuisances()
    value_test, nu_test = _profiled(measurement, model, base, direction, x_test, n_steps, start)
    lows = [n.lower for n in measurement.nuisances if n.name in names]
    highs = [n.upper for n in measurement.nuisances if n.name in names]
    lo = jnp.asarray([lower] + lows, dtype=jnp.float64)
    hi = jnp.asarray([upper] + highs, dtype=jnp.float64)

    def joint(v):
        theta = {k: base[k] + v[0] * direction[k] for k in base}
        nu = dict(nominal)
        nu.update({k: v[1 + i] for i, k in enumerate(names)})
        return measurement.twice_nll(channel_mu2s(measurement, model, theta), nu)

    nus = [nu_test[k] for k in names]
    near_bound = lower + 1e-3 * (x_test - lower) + 1e-12
    # both starts in one vmap: the Newton loop is traced (and compiled) once
    starts = jnp.stack([jnp.stack([x0] + nus).astype(jnp.float64) for x0 in (x_test, near_bound)])
    fits = jax.vmap(lambda v0: damped_newton(joint, v0, lo, hi, n_steps))(starts)
    values = jax.vmap(joint)(fits)
    best = jnp.argmin(values)
    x_hat = fits[best, 0]
    return value_test - jnp.minimum(values[best], value_test), x_hat, nu_test


@partial(jax.jit, static_argnames=("model", "n_steps"))
def _statistic_kernel(measurement, model, base, direction, x_test, lower, upper, n_steps):
    TRACE_COUNT["statistic"] += 1
    return _statistic(measurement, model, base, direction, x_test, lower, upper, n_steps)[:2]


def fc_statistic(measurement, model, name: str, x_test, *, fixed=None, lower=0.0, upper=None,
                 n_steps: int = 30):
    """t(x_test) = Delta(-2 ln L) from the best fit over x in [lower, upper] (module
    docstring); compiled once per measurement structure and model."""
    require_x64()
    base, direction = _base_and_direction(model, fixed, name)
    upper = 4.0 * float(x_test) + 1.0 if upper is None else upper
    return _statistic_kernel(measurement.canonical(), model, base, direction,
                             jnp.asarray(x_test, jnp.float64), jnp.asarray(lower, jnp.float64),
                             jnp.asarray(upper, jnp.float64), n_steps)


def _draw(measurement, expected, nu_true, key):
    """Observed counts per channel and constraint centres of one toy."""
    keys = jax.random.split(key, len(measurement.channels) + 1)
    observed = []
    for channel, mean, k in zip(measurement.channels, expected, keys[:-1]):
        if channel.statistic == "poisson":
            observed.append(jax.random.poisson(k, mean, dtype=jnp.int64).astype(jnp.float64))
        else:
            noise = jax.random.normal(k, mean.shape) * jnp.sqrt(channel.data["variance"])
            observed.append(mean + noise)
    constrained = [n for n in measurement.nuisances if n.sigma is not None]
    normals = jax.random.normal(keys[-1], (len(constrained),))
    centres = {n.name: nu_true[n.name] + n.sigma * normals[i] for i, n in enumerate(constrained)}
    return observed, centres


@partial(jax.jit, static_argnames=("model", "n_steps"))
def _toy_kernel(measurement, model, base, direction, x_test, lower, upper, nu_true, keys,
                observed_only, n_steps):
    """(t, conditional-fit nuisances) of a batch of toys, or, with ``observed_only``, of
    copies of the observed data (constraint centres nominal): t_obs and the nuisances the
    toys are generated with come from the same compiled kernel as the toys."""
    TRACE_COUNT["toys"] += 1
    theta = {k: base[k] + x_test * direction[k] for k in base}
    expected = measurement.expected(channel_mu2s(measurement, model, theta), nu_true)
    nominal = measurement.nominal_nuisances()

    def one(key):
        observed, centres = _draw(measurement, expected, nu_true, key)
        observed = [jnp.where(observed_only, c.observed, o)
                    for c, o in zip(measurement.channels, observed)]
        centres = {k: jnp.where(observed_only, nominal[k], v) for k, v in centres.items()}
        toy = dataclasses.replace(measurement.with_observed(observed), centres=centres)
        # the conditional fit starts from the nuisances the toys are generated with
        t, _, nu_test = _statistic(toy, model, base, direction, x_test, lower, upper, n_steps,
                                   start=nu_true)
        return t, nu_test

    return jax.vmap(one)(keys)


def observed_fit(measurement, model, name: str, x_test: float, *, fixed=None, lower=0.0,
                 upper=None, batch_size: int = 1024, n_steps: int = 30):
    """(t_obs(x_test), the conditional-fit nuisances at x_test) of the observed data, through
    the toy kernel (a batch of ``batch_size`` copies: no further compilation)."""
    require_x64()
    base, direction = _base_and_direction(model, fixed, name)
    upper = 4.0 * float(x_test) + 1.0 if upper is None else upper
    keys = jnp.zeros((batch_size, 2), dtype=jnp.uint32)
    t, nu = _toy_kernel(measurement.canonical(), model, base, direction,
                        jnp.asarray(x_test, jnp.float64), jnp.asarray(lower, jnp.float64),
                        jnp.asarray(upper, jnp.float64), measurement.nominal_nuisances(), keys,
                        jnp.asarray(True), n_steps)
    return float(t[0]), {k: v[0] for k, v in nu.items()}


def toy_statistics(measurement, model, name: str, x_test: float, toy_indices, key, *,
                   fixed=None, nu_true=None, lower=0.0, upper=None, batch_size: int = 1024,
                   n_steps: int = 30) -> np.ndarray:
    """t(x_test) of the toys ``toy_indices`` generated at x_test (nuisances at ``nu_true``,
    default nominal), in chunks of ``batch_size``. Toy i uses ``fold_in(key, i)``."""
    require_x64()
    base, direction = _base_and_direction(model, fixed, name)
    upper = 4.0 * float(x_test) + 1.0 if upper is None else upper
    nu = measurement.nominal_nuisances()
    nu.update({k: jnp.asarray(v, jnp.float64) for k, v in (nu_true or {}).items()})
    canonical = measurement.canonical()
    indices = np.asarray(toy_indices, dtype=np.int64)
    out = []
    for start in range(0, indices.size, batch_size):
        chunk = indices[start:start + batch_size]
        padded = np.resize(chunk, batch_size) if chunk.size < batch_size else chunk
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.asarray(padded))
        values, _ = _toy_kernel(canonical, model, base, direction,
                                jnp.asarray(x_test, jnp.float64), jnp.asarray(lower, jnp.float64),
                                jnp.asarray(upper, jnp.float64), nu, keys, jnp.asarray(False),
                                n_steps)
        out.append(np.asarray(values)[:chunk.size])
    return np.concatenate(out) if out else np.zeros(0)


def critical_values(measurement, model, name: str, x_points, *, n_toys: int, key, cl=0.9,
                    fixed=None, profile_construction: bool = True, progress=None, nu_true=None,
                    store=None, **kwargs):
    """(t_c per point, the toy statistics per point). With ``profile_construction`` the toys
    of point x use the nuisances fitted to the observed data at x (``nu_true[j]`` when
    given). ``store``: a :class:`~cevns_jax.inference.toy_store.ToyStore` (or its folder)
    that keeps each point's toys, so an interrupted construction resumes where it stopped."""
    if store is not None and not isinstance(store, ToyStore):
        store = ToyStore(store)
    settings = {k: v for k, v in kwargs.items() if k != "batch_size"}
    crit, samples = [], []
    for j, x in enumerate(np.asarray(x_points, dtype=float)):
        true = None
        if profile_construction:
            true = (nu_true[j] if nu_true is not None
                    else observed_fit(measurement, model, name, x, fixed=fixed, **kwargs)[1])
        point_key = jax.random.fold_in(key, j)
        digest = t = None
        if store is not None:
            digest = ToyStore.key(measurement=measurement.canonical(), model=model, name=name,
                                  x=x, n_toys=n_toys, key=jax.random.key_data(point_key),
                                  fixed=dict(fixed or {}), nu_true=dict(true or {}),
                                  settings=settings)
            t = store.get(digest)
        if t is None:
            t = toy_statistics(measurement, model, name, x, np.arange(n_toys), point_key,
                               fixed=fixed, nu_true=true, **kwargs)
            if store is not None:
                store.put(digest, t)
        samples.append(t)
        crit.append(float(np.quantile(t, cl, method="higher")))
        if progress is not None:
            progress(j + 1, len(x_points))
    return np.array(crit), samples


@dataclasses.dataclass(frozen=True)
class ToyLimit:
    """Upper end of the Feldman-Cousins interval from toys, with Wilks' for comparison."""

    value: float
    wilks: float
    x_points: np.ndarray
    t_observed: np.ndarray
    t_critical: np.ndarray
    n_toys: int
    cl: float
    valid: bool
    status: str


def neyman_upper_limit(measurement, model, name: str, x_points, *, n_toys: int = 2000, key=None,
                       cl: float = 0.9, fixed=None, wilks_level: float = 2.71, progress=None,
                       t_observed=None, nu_true=None, **kwargs) -> ToyLimit:
    """Upper limit on ``name`` where t_obs(x) first exceeds t_c(x) above the best fit, linearly
    interpolated between the tested ``x_points`` (increasing); Wilks' limit from the same
    t_obs curve with t_c = ``wilks_level``. ``t_observed`` and ``nu_true`` (one nuisance dict
    per point) may be given when the caller has them from a profile scan of the observed
    data; otherwise they come from :func:`observed_fit`. Further keywords (``store``,
    ``batch_size``, ``n_steps``, ``upper``) go to :func:`critical_values`."""
    require_x64()
    x = np.asarray(x_points, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.all(np.diff(x) > 0):
        raise ValueError(f"x_points must be increasing with >= 2 points, got {x_points!r}")
    key = jax.random.PRNGKey(0) if key is None else key
    upper = kwargs.pop("upper", 4.0 * float(x[-1]) + 1.0)
    n_steps = kwargs.get("n_steps", 30)
    batch = kwargs.get("batch_size", 1024)
    if t_observed is None:
        t_obs = np.array([observed_fit(measurement, model, name, xi, fixed=fixed, upper=upper,
                                       batch_size=batch, n_steps=n_steps)[0] for xi in x])
    else:
        t_obs = np.asarray(t_observed, dtype=float)
        if t_obs.shape != x.shape:
            raise ValueError(f"t_observed needs one value per x point, got {t_obs.shape}")
    t_crit, _ = critical_values(measurement, model, name, x, n_toys=n_toys, key=key, cl=cl,
                                fixed=fixed, progress=progress, upper=upper, nu_true=nu_true,
                                **kwargs)

    def crossing(threshold):
        # t_c is one of the toys' t values: for a discrete statistic t_obs can equal it, and
        # two evaluations of the same t differ by round-off, which must not exclude the point
        excess = t_obs - threshold - 1e-8 * (1.0 + np.abs(threshold))
        above = np.flatnonzero((excess > 0) & (np.arange(x.size) > np.argmin(t_obs)))
        if above.size == 0:
            return math.nan
        j = above[0]
        if j == 0 or excess[j - 1] > 0:
            return float(x[j])
        return float(x[j - 1] + (x[j] - x[j - 1]) * (-excess[j - 1]) / (excess[j] - excess[j - 1]))

    value = crossing(t_crit)
    valid = math.isfinite(value)
    status = "ok" if valid else f"t_obs stays below t_c up to {name} = {x[-1]:g}: extend x_points"
    return ToyLimit(value, crossing(np.full_like(t_obs, wilks_level)), x, t_obs, t_crit, n_toys,
                    cl, valid, status)
