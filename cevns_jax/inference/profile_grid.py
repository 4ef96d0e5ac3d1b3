"""Profiled -2 ln L on batches of physics points, compiled once per measurement and model.

Every point is a full vector theta over ``model.parameters``. Each parameter is either held
at its value or profiled within per-point bounds (``lower < upper``: free; equal: held), and
a parameter may carry a Gaussian constraint ((theta - centre) / sigma)^2 (the mixing angles
of a global oscillation fit). At each point the measurement's profiled nuisances and the free
physics parameters are minimised jointly by the masked damped Newton of
:func:`cevns_jax.likelihood.measurement.damped_newton`, so held parameters and free ones share
one compiled kernel: a region in two moduli with the third profiled, a limit with the mixing
profiled, and a plain limit differ only in the bounds they pass.

Points are evaluated in chunks of a fixed size (padded), vectorised with ``vmap`` and split
over the process's devices when there are several (:func:`_placement`): the kernel is traced
once per measurement structure and model (``TRACE_COUNT``), whatever the number of points,
grids or limits asked for. With every physics parameter held the model
enters only through mu2 of each beam, and a model-independent kernel (the nuisance profile
of :func:`cevns_jax.likelihood.measurement.profile`) is traced once per measurement
structure for all models.

- :func:`evaluate_points`: the values at given points;
- :func:`upper_limits`: 90% C.L. upper limits (Delta(-2 ln L) = ``level``) on several
  parameters at once, each with a product grid of other parameters (the phases xi1, xi3)
  profiled (minimum over the grid) and, from the same evaluations, the limit at every grid
  point held fixed (best and worst case over the grid);
- :func:`region_2d`: Delta(-2 ln L) on a 2-D grid of two parameters, the others profiled.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from scipy import optimize

from ..likelihood.measurement import damped_newton, profile
from ..likelihood.physics_model import channel_mu2s
from ..precision import require_x64

__all__ = ["UpperLimit", "evaluate_points", "held_nuisances", "product_grid", "region_2d",
           "upper_limits"]

#: Traces of the point kernel (tests check that new points, grids and bounds do not retrace).
TRACE_COUNT = {"points": 0, "held": 0}


def _defaults(model) -> dict:
    return dict(getattr(model, "defaults", {k: 0.0 for k in model.parameters}))


def _joint_profile(measurement, model, theta, lower, upper, centres, sigmas, start, n_steps):
    """min over the profiled nuisances (from ``start``, else nominal) and the free physics
    parameters (``lower < upper``) of -2 ln L + sum of the Gaussian constraints
    (``sigmas > 0``) at ``theta``."""
    names = measurement.profiled_names
    n = len(names)
    nominal = {**measurement.nominal_nuisances(), **start}
    lows = [nu.lower for nu in measurement.nuisances if nu.name in names]
    highs = [nu.upper for nu in measurement.nuisances if nu.name in names]
    free = lower < upper
    safe_sigma = jnp.where(sigmas > 0, sigmas, 1.0)

    def objective(v):
        physics = jnp.where(free, v[n:], theta)
        point = {k: physics[i] for i, k in enumerate(model.parameters)}
        nu = dict(nominal)
        nu.update({k: v[i] for i, k in enumerate(names)})
        penalty = jnp.sum(jnp.where(sigmas > 0, ((physics - centres) / safe_sigma) ** 2, 0.0))
        return measurement.twice_nll(channel_mu2s(measurement, model, point), nu) + penalty

    x0 = jnp.concatenate([jnp.asarray([nominal[k] for k in names], dtype=jnp.float64)
                          .reshape(n), theta])
    lo = jnp.concatenate([jnp.asarray(lows, dtype=jnp.float64).reshape(n),
                          jnp.where(free, lower, theta)])
    hi = jnp.concatenate([jnp.asarray(highs, dtype=jnp.float64).reshape(n),
                          jnp.where(free, upper, theta)])
    mask = jnp.concatenate([jnp.ones(n), free.astype(jnp.float64)])
    v = damped_newton(objective, jnp.clip(x0, lo, hi), lo, hi, n_steps, mask=mask)
    return objective(v)


@partial(jax.jit, static_argnames=("n_steps",))
def _held_kernel(measurement, mu2s, start, n_steps):
    """Profiled -2 ln L at a batch of per-channel mu2 vectors (physics held), nuisances
    from ``start``: independent of the moment model, so one compilation serves every model."""
    TRACE_COUNT["held"] += 1
    return jax.vmap(lambda m: profile(measurement, m, n_steps=n_steps, start=start))(mu2s)


@partial(jax.jit, static_argnames=("model",))
def _mu2s(measurement, model, thetas):
    names = tuple(model.parameters)
    return jax.vmap(lambda t: channel_mu2s(measurement, model,
                                           {k: t[i] for i, k in enumerate(names)}))(thetas)


@partial(jax.jit, static_argnames=("model", "n_steps"))
def _kernel(measurement, model, thetas, lowers, uppers, centres, sigmas, start, n_steps):
    TRACE_COUNT["points"] += 1
    return jax.vmap(lambda t, lo, hi: _joint_profile(measurement, model, t, lo, hi, centres,
                                                     sigmas, start, n_steps))(thetas, lowers,
                                                                              uppers)


def _check_names(model, names, what):
    unknown = sorted(set(names) - set(model.parameters))
    if unknown:
        raise KeyError(f"unknown {what} {unknown} for {type(model).__name__}; "
                       f"known: {list(model.parameters)}")


def _split_start(parts, nuisance_start):
    """Per part, the float64 start values of its own nuisances; unknown names raise."""
    start = dict(nuisance_start or {})
    known = [set(part.nominal_nuisances()) for part in parts]
    unknown = sorted(set(start) - set().union(*known))
    if unknown:
        raise KeyError(f"unknown nuisance(s) {unknown} in nuisance_start; known: "
                       f"{sorted(set().union(*known))}")
    return [{k: jnp.asarray(v, dtype=jnp.float64) for k, v in start.items() if k in names}
            for names in known]


def evaluate_points(measurement, model, points: dict, *, free=None, priors=None,
                    nuisance_start=None, chunk: int = 64, n_steps: int = 30) -> np.ndarray:
    """-2 ln L at each point, nuisances and the ``free`` parameters profiled.

    ``points``: {parameter: values}, equal lengths or scalars (missing parameters at the
    model's defaults); for a free parameter the value is the start of the minimisation.
    ``free``: {parameter: (lower, upper)}, scalars or one value per point (where lower ==
    upper the parameter is held there). ``priors``: {parameter: (centre, sigma)}, Gaussian
    constraint terms added to -2 ln L. ``nuisance_start``: {nuisance: value} where the
    minimisation starts (e.g. a previous fit), else the nominal values. Chunks of ``chunk``
    points (the last one padded).
    ``measurement`` may be a sequence of parts without shared nuisances (e.g. the prefixed
    data sets of a combination): with every physics parameter held the profiled -2 ln L of
    the sum is the sum of the parts' (each part's Hessian is then small: several times
    faster than profiling the sum)."""
    require_x64()
    free, priors = dict(free or {}), dict(priors or {})
    for what, names in (("parameter(s)", points), ("free parameter(s)", free),
                        ("constrained parameter(s)", priors)):
        _check_names(model, names, what)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk!r}")
    names = tuple(model.parameters)
    defaults = _defaults(model)
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in points.items()}
    n = max([a.size for a in arrays.values()] + [1])
    theta = np.stack([np.broadcast_to(arrays.get(k, np.asarray([defaults[k]])), (n,))
                      for k in names], axis=1)
    lower, upper = theta.copy(), theta.copy()
    for k, (lo, hi) in free.items():
        lo = np.broadcast_to(np.asarray(lo, dtype=float), (n,))
        hi = np.broadcast_to(np.asarray(hi, dtype=float), (n,))
        if not np.all(lo <= hi):
            raise ValueError(f"free parameter {k!r} needs lower <= upper, got ({lo}, {hi})")
        i = names.index(k)
        lower[:, i], upper[:, i] = lo, hi
        theta[:, i] = np.clip(theta[:, i], lo, hi)
    centres = np.array([priors.get(k, (0.0, 0.0))[0] for k in names], dtype=float)
    sigmas = np.array([priors.get(k, (0.0, 0.0))[1] for k in names], dtype=float)
    if np.any(sigmas < 0) or not np.all(np.isfinite(sigmas)):
        raise ValueError(f"prior widths must be finite and > 0, got {priors}")
    parts = tuple(measurement) if isinstance(measurement, (list, tuple)) else (measurement,)
    held = not np.any(lower < upper)
    if len(parts) > 1 and not held:
        raise ValueError("free physics parameters couple the parts: pass their sum")
    if held:
        # the model enters only through mu2: one kernel per part serves every model
        penalty = np.sum(np.where(sigmas > 0, ((theta - centres) / np.where(sigmas > 0, sigmas,
                                                                             1.0)) ** 2, 0.0),
                         axis=1)
    parts = [part.canonical() for part in parts]
    starts = _split_start(parts, nuisance_start)
    place = _placement(chunk)
    out = []
    for start in range(0, n, chunk):
        rows = np.resize(np.arange(start, min(start + chunk, n)), chunk)
        if held:
            values = sum(_held_kernel(part, _mu2s(part, model, place(theta[rows])), part_start,
                                      n_steps)[0]
                         for part, part_start in zip(parts, starts)) + penalty[rows]
        else:
            values = _kernel(parts[0], model, place(theta[rows]), place(lower[rows]),
                             place(upper[rows]), centres, sigmas, starts[0], n_steps)
        out.append(np.asarray(values)[:min(chunk, n - start)])
    return np.concatenate(out)


def _placement(chunk):
    """Where a chunk's points go: split over this process's devices when there are several
    and they divide the chunk (each point is independent: the results do not change), else
    left to the default device."""
    devices = jax.local_devices()
    if len(devices) == 1 or chunk % len(devices):
        return lambda rows: rows
    sharding = NamedSharding(Mesh(np.array(devices), ("points",)), PartitionSpec("points"))
    return lambda rows: jax.device_put(rows, sharding)


def held_nuisances(measurement, model, point: dict, *, chunk: int = 64,
                   n_steps: int = 30) -> dict:
    """The profiled nuisances at one point with every physics parameter held (missing ones at
    the model's defaults); ``measurement`` a Measurement or a sequence of parts (their
    nuisance names merged). Runs the held kernel of :func:`evaluate_points` (no further
    compilation for the same ``chunk``)."""
    require_x64()
    _check_names(model, point, "parameter(s)")
    defaults = _defaults(model)
    theta = np.array([[float(point.get(k, defaults[k])) for k in model.parameters]] * chunk)
    parts = tuple(measurement) if isinstance(measurement, (list, tuple)) else (measurement,)
    out = {}
    for part in parts:
        nu = _held_kernel(part.canonical(), _mu2s(part.canonical(), model, jnp.asarray(theta)),
                          {}, n_steps)[1]
        out.update({k: float(v[0]) for k, v in nu.items()})
    return out


def product_grid(grid):
    """(sorted names, points) of the product of the value lists in ``grid``; points has shape
    (n_points, n_names); one empty point for no grid."""
    if not grid:
        return (), np.zeros((1, 0))
    names = tuple(sorted(grid))
    axes = [np.asarray(grid[n], dtype=float).ravel() for n in names]
    return names, np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(names))


@dataclasses.dataclass(frozen=True)
class UpperLimit:
    """Upper limit on ``name``: ``value`` where Delta(-2 ln L) from the minimum first reaches
    ``level`` above it, with the grid parameters profiled; ``per_point`` the same with each
    grid point held fixed (aligned with ``grid_points`` over ``grid_names``). ``x_min`` and
    ``twice_nll_min`` locate the minimum the limit is measured from, ``bracket`` the final
    interval of the crossing. NaN with ``status`` saying why where there is no limit."""

    name: str
    value: float
    x_min: float
    twice_nll_min: float
    level: float
    status: str
    bracket: tuple
    per_point: np.ndarray
    grid_names: tuple
    grid_points: np.ndarray

    @property
    def valid(self) -> bool:
        return self.status == "ok"

    @property
    def best(self) -> float:
        """The most favourable (smallest) fixed-grid-point limit."""
        return float(np.nanmin(self.per_point))

    @property
    def worst(self) -> float:
        """The least favourable (largest) fixed-grid-point limit."""
        return float(np.nanmax(self.per_point))


def _coarse_grid(lower, upper, n_coarse):
    """``lower`` and ``n_coarse`` points above it: two thirds geometric from 1e-7 of the span
    (limits far below ``upper``), one third linear (minima and crossings near it)."""
    n_lin = n_coarse // 3
    unit = np.concatenate([[0.0], np.geomspace(1e-7, 1.0, n_coarse - n_lin),
                           np.linspace(0.0, 1.0, n_lin + 1)[1:]])
    return lower + (upper - lower) * np.unique(unit)


def upper_limits(measurement, model, names, *, grid=None, fixed=None, others_free=None,
                 priors=None, nuisance_start=None, level: float = 2.71, lower: float = 0.0,
                 upper: float = 10.0, n_coarse: int = 48, rtol: float = 1e-6,
                 max_iter: int = 40, chunk: int = 64, n_steps: int = 30) -> dict:
    """{name: :class:`UpperLimit`} for each parameter of ``names`` scanned over
    [``lower``, ``upper``], all evaluated together in the same chunks. While one is scanned,
    the others are at ``fixed`` = {parameter: value} or the model's defaults, except those in
    ``others_free`` = {parameter: (lower, upper)}, which are profiled (with the constraints
    ``priors`` = {parameter: (centre, sigma)}); the product ``grid`` = {parameter: values}
    (e.g. the phases xi1, xi3) is profiled by its minimum. The nuisances' minimisation starts
    at ``nuisance_start`` (as in :func:`evaluate_points`).

    For each fixed grid point g the curve f_g(x) is evaluated on :func:`_coarse_grid`; a
    minimum inside the range is refined to 1e-6 relative (:func:`_refine_minima`); the
    profiled curve is min_g f_g. Each first crossing of Delta = ``level`` above the minimum is
    bracketed on the coarse points and narrowed to ``rtol`` (relative in x) by
    :func:`_narrow`, every bracket advancing in the same batched evaluation; the limit is the
    linear interpolation in the final bracket.

    ``chunk`` is the number of points per compiled call. On a GPU a chunk costs about as much
    as one point; on a CPU the cost grows with the points, so for a large measurement pass a
    small ``chunk`` and ``n_coarse`` (``chunk=1``: as few evaluations as a scalar root
    finder)."""
    require_x64()
    if not (math.isfinite(level) and level > 0):
        raise ValueError(f"level must be a finite positive Delta(-2 ln L), got {level!r}")
    if not (math.isfinite(lower) and math.isfinite(upper) and upper > lower):
        raise ValueError(f"need finite lower < upper, got [{lower!r}, {upper!r}]")
    if n_coarse < 3:
        raise ValueError(f"n_coarse must be >= 3, got {n_coarse!r}")
    names = list(names)
    fixed = dict(fixed or {})
    others_free = dict(others_free or {})
    _check_names(model, names + list(grid or {}) + list(fixed) + list(others_free),
                 "parameter(s)")
    for what, other in (("on the grid", set(grid or {})), ("fixed", set(fixed))):
        clash = set(names + list(others_free)) & other
        if clash:
            raise ValueError(f"parameter(s) {sorted(clash)} both scanned/profiled and {what}")
    grid_names, grid_points = product_grid(grid)
    n_g = grid_points.shape[0]
    defaults = {**_defaults(model), **{k: float(v) for k, v in fixed.items()}}

    def values(requests):
        """f at (name index, x, grid index) triples; one batched evaluation."""
        if not requests:
            return np.zeros(0)
        req = np.asarray(requests, dtype=float).reshape(-1, 3)
        which, x = req[:, 0].astype(int), req[:, 1]
        pts, free = {}, {}
        for j, k in enumerate(names):
            pts[k] = np.where(which == j, x, defaults[k])
        for k, (lo, hi) in others_free.items():
            scanned = which == names.index(k) if k in names else np.zeros(len(req), bool)
            pts[k] = np.where(scanned, x, pts.get(k, defaults[k]))
            free[k] = (np.where(scanned, x, lo), np.where(scanned, x, hi))
        g = req[:, 2].astype(int)
        for i, k in enumerate(grid_names):
            pts[k] = grid_points[g, i]
        return evaluate_points(measurement, model, pts, free=free, priors=priors,
                               nuisance_start=nuisance_start, chunk=chunk, n_steps=n_steps)

    xs = _coarse_grid(lower, upper, n_coarse)
    coarse = values([(j, x, g) for j in range(len(names)) for x in xs for g in range(n_g)])
    coarse = coarse.reshape(len(names), xs.size, n_g)
    finite = np.isfinite(coarse).all(axis=(1, 2))
    coarse = np.where(np.isfinite(coarse), coarse, np.inf)
    x_min_g, f_min = _refine_minima(values, xs, coarse, chunk)
    # problems: (name index, grid indices, f_min, x_min) -> crossing
    problems = []
    for j in range(len(names)):
        best = int(np.argmin(f_min[j]))
        problems.append((j, np.arange(n_g), float(f_min[j, best]), float(x_min_g[j, best])))
        if n_g > 1:
            problems.extend((j, np.array([g]), float(f_min[j, g]), float(x_min_g[j, g]))
                            for g in range(n_g))
    brackets = []
    for j, cols, fmin, xmin in problems:
        curve = coarse[j][:, cols].min(axis=1) - fmin - level
        above = np.flatnonzero((xs > xmin) & (curve >= 0))
        if above.size == 0 or not finite[j]:
            brackets.append(None)
            continue
        k = above[0]
        a = max(xs[k - 1], xmin)
        fa = (coarse[j][k - 1, cols].min() if xs[k - 1] >= xmin else fmin) - fmin - level
        brackets.append([a, xs[k], min(fa, -1e-300), curve[k], 0])
    _narrow(values, problems, brackets, level, rtol, max_iter, chunk)
    limits = [math.nan if b is None else float(b[0] - b[2] * (b[1] - b[0]) / (b[3] - b[2]))
              for b in brackets]
    results = {}
    per = 1 + n_g if n_g > 1 else 1
    for j, name in enumerate(names):
        pos = j * per
        per_point = np.array(limits[pos + 1:pos + per] if n_g > 1 else limits[pos:pos + 1])
        if not finite[j]:
            bad = xs[~np.isfinite(coarse[j]).all(axis=1)][:3].tolist()
            status = f"-2 ln L is not finite at {name} = {bad}"
        elif brackets[pos] is None:
            status = f"Delta(-2 ln L) = {level} not reached within [{lower:g}, {upper:g}]"
        else:
            status = "ok"
        bracket = (lower, upper) if brackets[pos] is None else tuple(brackets[pos][:2])
        results[name] = UpperLimit(name, limits[pos], problems[pos][3], problems[pos][2], level,
                                   status, bracket, per_point, grid_names, grid_points)
    return results


def _refine_minima(values, xs, coarse, chunk, xtol: float = 1e-6):
    """(x_min, f_min) per (name, grid point) from the coarse curves (n_names, n_x, n_g), a
    minimum inside the range refined to ``xtol`` relative: zooming with 8 points around the
    best per round (0.29 of the bracket per round) when a chunk holds them, else Brent's
    bounded search one point at a time."""
    f_min = coarse.min(axis=1)
    i_min = coarse.argmin(axis=1)
    lo = xs[np.maximum(i_min - 1, 0)]
    hi = xs[np.minimum(i_min + 1, xs.size - 1)]
    inside = (i_min > 0) & (i_min < xs.size - 1) & np.isfinite(f_min)
    x_min = xs[i_min]
    if chunk < 8:
        for j, g in np.argwhere(inside):
            res = optimize.minimize_scalar(lambda x: values([(j, x, g)])[0],
                                           bounds=(lo[j, g], hi[j, g]), method="bounded",
                                           options={"xatol": xtol * hi[j, g]})
            if res.fun < f_min[j, g]:
                x_min[j, g], f_min[j, g] = res.x, res.fun
        return x_min, f_min
    for _ in range(60):
        todo = [tuple(p) for p in np.argwhere(inside & (hi - lo > xtol * np.abs(hi)))]
        if not todo:
            break
        grids = {p: np.linspace(lo[p], hi[p], 8) for p in todo}
        vals = values([(j, x, g) for (j, g), pts in grids.items() for x in pts])
        for (key, pts), v in zip(grids.items(), vals.reshape(-1, 8)):
            k = int(np.argmin(v))
            if v[k] < f_min[key]:
                f_min[key] = v[k]
            step = pts[1] - pts[0]
            lo[key], hi[key] = max(pts[k] - step, xs[0]), min(pts[k] + step, xs[-1])
    return np.where(inside, 0.5 * (lo + hi), x_min), f_min


def _narrow(values, problems, brackets, level, rtol, max_iter, chunk):
    """Narrow every bracket [a, b, f(a), f(b), side] of a sign change in place to ``rtol``:
    multisection with as many points per bracket as fill the chunks already paid for, or,
    when only one fits, the Illinois regula falsi (Dowell & Jarratt, BIT 11, 168 (1971): the
    value at an end kept twice in a row is halved, so both ends converge, order 1.44)."""
    for _ in range(max_iter):
        active = [i for i, b in enumerate(brackets)
                  if b is not None and b[1] - b[0] > rtol * b[1]]
        if not active:
            return
        width = sum(problems[i][1].size for i in active)
        k = max(1, (-(-width // chunk) * chunk) // width)
        trial = {}
        for i in active:
            a, b, fa, fb, _ = brackets[i]
            trial[i] = (np.linspace(a, b, k + 2)[1:-1] if k > 1
                        else np.array([b - fb * (b - a) / (fb - fa)]))
        reqs = [(problems[i][0], x, g) for i in active for x in trial[i] for g in problems[i][1]]
        vals = values(reqs)
        pos = 0
        for i in active:
            cols = problems[i][1]
            f = vals[pos:pos + trial[i].size * cols.size].reshape(trial[i].size, cols.size)
            f = f.min(axis=1) - problems[i][2] - level
            pos += trial[i].size * cols.size
            a, b, fa, fb, side = brackets[i]
            if k == 1:
                c, fc = trial[i][0], f[0]
                if fc >= 0:
                    brackets[i] = [a, c, fa / 2 if side == 1 else fa, fc, 1]
                else:
                    brackets[i] = [c, b, fc, fb / 2 if side == -1 else fb, -1]
                continue
            xs_all = np.concatenate([[a], trial[i], [b]])
            fs_all = np.concatenate([[fa], f, [fb]])
            j = int(np.argmax(fs_all >= 0))
            brackets[i] = [xs_all[j - 1], xs_all[j], fs_all[j - 1], fs_all[j], 0]


def region_2d(measurement, model, x_name: str, xs, y_name: str, ys, *, grid=None, free=None,
              priors=None, chunk: int = 64, n_steps: int = 30) -> np.ndarray:
    """Delta(-2 ln L)[i, j] at (x_name = xs[i], y_name = ys[j]) from the minimum over the
    scanned grid, with the product ``grid`` (e.g. the phases) profiled by its minimum and the
    ``free`` parameters by the joint fit. The 90% C.L. region (2 parameters) is
    Delta <= 4.61."""
    require_x64()
    _check_names(model, [x_name, y_name] + list(grid or {}), "parameter(s)")
    grid_names, grid_points = product_grid(grid)
    xs, ys = np.asarray(xs, dtype=float).ravel(), np.asarray(ys, dtype=float).ravel()
    xx, yy, gg = np.meshgrid(xs, ys, np.arange(grid_points.shape[0]), indexing="ij")
    pts = {x_name: xx.ravel(), y_name: yy.ravel()}
    pts.update({k: grid_points[gg.ravel(), i] for i, k in enumerate(grid_names)})
    if free:
        defaults = _defaults(model)
        pts.update({k: np.full(xx.size, defaults[k]) for k in free if k not in pts})
    values = evaluate_points(measurement, model, pts, free=free, priors=priors, chunk=chunk,
                             n_steps=n_steps).reshape(xx.shape).min(axis=2)
    return values - values.min()
