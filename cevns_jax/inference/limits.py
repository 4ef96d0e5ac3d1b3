"""Delta chi^2 profiles, one-parameter upper limits and two-parameter allowed regions.

Paper 000 Sect. 5 quotes 90 % C.L. limits from Delta chi^2(S) = chi^2(S) - chi^2_min:
Delta chi^2 = 2.71 for one parameter (Eq. 36, Fig. 2) and 4.61 for two (Figs. 4-6); paper 004
Sect. 3 uses 90 % C.L. with 2 d.o.f. as well.

* :func:`delta_chi2_profile`: Delta chi^2 on a 1-D grid (vmapped).
* :func:`upper_limit`: the first x above the minimum (over x >= lower end of the bracket)
  where Delta chi^2 crosses ``level``. Robust scheme: (i) evaluate on a grid mixing linear and
  geometric spacing over the bracket, doubling the upper end until a crossing appears;
  (ii) refine the minimum with :func:`scipy.optimize.minimize_scalar` (bounded, between the
  grid neighbours of the grid minimum); (iii) solve for the crossing with
  :func:`scipy.optimize.brentq` on the jitted function inside the grid cell where Delta chi^2
  first exceeds ``level``. SciPy is used because the root is a driver-level scalar problem;
  :func:`bisect_crossing` is a pure-JAX bisection for jit/vmap (e.g. scans over exposure).
  Allowed islands above the limit (Delta chi^2 dipping below ``level`` again, possible when
  phases allow cancellations) are reported in the status, not silently merged.
* :func:`crossing_gradient`: the derivative of a limit with respect to anything the Delta chi^2
  depends on (threshold, exposure, ...), by the implicit function theorem.
* :func:`region_2d`: Delta chi^2 map on a grid and its ``level`` contour lines, extracted with
  ``contourpy`` (matplotlib's contour generator); :func:`closed_contours` keeps closed ones.

Counts are linear in mu^2 (paper 000 Eq. 26), so for Asimov data without signal Delta chi^2 as
a function of a moment mu depends on mu^2 and its minimum sits at mu = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize

from ..precision import require_x64

__all__ = [
    "Limit",
    "Profile1D",
    "Region2D",
    "bisect_crossing",
    "closed_contours",
    "contour_lines",
    "crossing_gradient",
    "delta_chi2_profile",
    "is_closed",
    "region_2d",
    "region_from_map",
    "upper_limit",
]


class Profile1D(NamedTuple):
    """chi^2 and Delta chi^2 on a 1-D grid; ``x_min``/``chi2_min`` from the grid."""

    x: np.ndarray
    chi2: np.ndarray
    delta: np.ndarray
    x_min: float
    chi2_min: float


@dataclass(frozen=True)
class Limit:
    """One-parameter limit: Delta chi^2(value) = level, first crossing above ``x_min``.

    ``valid`` is False when no crossing was found or chi^2 was non-finite; ``islands`` is True
    when Delta chi^2 falls below ``level`` again above the limit (reported in ``status``).
    ``bracket`` is the search range finally used, ``crossing_bracket`` the grid cell handed to
    the root finder.
    """

    value: float
    x_min: float
    chi2_min: float
    level: float
    valid: bool
    status: str
    bracket: tuple
    crossing_bracket: tuple
    islands: bool
    n_evaluations: int


class Region2D(NamedTuple):
    """Delta chi^2 map ``delta[iy, ix]`` at (x[ix], y[iy]) and its ``level`` contour lines."""

    x: np.ndarray
    y: np.ndarray
    chi2: np.ndarray
    delta: np.ndarray
    level: float
    chi2_min: float
    xy_min: tuple
    contours: list
    closed: tuple


def _grid_eval(fn, points, vectorize):
    points = np.asarray(points, dtype=float)
    if vectorize:
        values = jax.jit(jax.vmap(fn))(jnp.asarray(points))
        return np.asarray(values, dtype=float)
    single = jax.jit(fn)
    return np.array([float(single(jnp.asarray(p))) for p in points])


def _check_level(level):
    if not (np.isfinite(level) and level > 0):
        raise ValueError(f"level must be a finite number > 0, got {level!r}")


def delta_chi2_profile(chi2_of_x: Callable, grid, *, chi2_min=None, vectorize=True) -> Profile1D:
    """Delta chi^2 = chi^2(x) - chi^2_min on ``grid`` (paper 000 Sect. 5, Fig. 2).

    ``chi2_of_x`` maps a scalar to a scalar (vmapped over the grid unless ``vectorize`` is
    False). ``chi2_min`` defaults to the grid minimum; pass a global-fit minimum to measure
    Delta chi^2 from it instead.
    """
    require_x64()
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 1:
        raise ValueError(f"grid must be a non-empty 1-D array, got shape {grid.shape}")
    chi2 = _grid_eval(chi2_of_x, grid, vectorize)
    finite = np.isfinite(chi2)
    if not np.any(finite):
        raise ValueError("chi2 is non-finite at every grid point")
    i = int(np.argmin(np.where(finite, chi2, np.inf)))
    ref = float(chi2[i]) if chi2_min is None else float(chi2_min)
    return Profile1D(grid, chi2, chi2 - ref, float(grid[i]), ref)


def _search_grid(lo, hi, n_grid):
    """Linear plus geometric points on [lo, hi] (geometric resolves small x for wide brackets)."""
    span = hi - lo
    linear = np.linspace(lo, hi, n_grid)
    geometric = lo + span * np.geomspace(1e-6, 1.0, n_grid)
    return np.unique(np.concatenate([linear, geometric]))


def upper_limit(chi2_of_x: Callable, level: float = 2.71, bracket=(0.0, 1.0), *,
                n_grid: int = 64, max_expand: int = 60, xtol: float = 1e-14,
                rtol: float = 1e-13, chi2_min=None, vectorize: bool = True) -> Limit:
    """One-parameter upper limit where Delta chi^2 crosses ``level`` (2.71: 90 % C.L., 1 d.o.f.).

    Delta chi^2(x) = chi^2(x) - chi^2_min with chi^2_min the minimum over x >= bracket[0]
    (paper 000 Sect. 5; pass ``chi2_min`` to use an external minimum instead). The bracket
    upper end is doubled (up to ``max_expand`` times) until Delta chi^2 exceeds ``level``;
    the crossing is then solved by Brent's method (``xtol``, ``rtol``) on the jitted
    function. The result does not depend on the bracket as long as it contains the minimum.
    """
    require_x64()
    _check_level(level)
    lo, hi = (float(b) for b in bracket)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"bracket must be finite with lo < hi, got {bracket!r}")
    if n_grid < 3:
        raise ValueError(f"n_grid must be >= 3, got {n_grid!r}")
    single = jax.jit(chi2_of_x)
    n_eval = 0

    def f(x):
        nonlocal n_eval
        n_eval += 1
        return float(single(jnp.asarray(x, dtype=jnp.float64)))

    xs = _search_grid(lo, hi, n_grid)
    vals = _grid_eval(chi2_of_x, xs, vectorize)
    n_eval += xs.size
    if not np.all(np.isfinite(vals)):
        bad = xs[~np.isfinite(vals)]
        return Limit(np.nan, np.nan, np.nan, level, False,
                     f"non-finite chi2 at x = {bad[:5].tolist()}", (lo, hi), (np.nan, np.nan),
                     False, n_eval)

    def minimum(xs, vals):
        i = int(np.argmin(vals))
        a, b = xs[max(i - 1, 0)], xs[min(i + 1, xs.size - 1)]
        best_x, best = float(xs[i]), float(vals[i])
        if b > a:
            res = optimize.minimize_scalar(f, bounds=(a, b), method="bounded",
                                           options={"xatol": 1e-12 * max(1.0, abs(b))})
            if res.success and np.isfinite(res.fun) and res.fun < best:
                best_x, best = float(res.x), float(res.fun)
        return best_x, best

    expansions = 0
    while True:
        x_min, grid_min = minimum(xs, vals)
        ref = grid_min if chi2_min is None else float(chi2_min)
        above = (xs > x_min) & (vals - ref >= level)
        if np.any(above) or expansions >= max_expand:
            break
        expansions += 1
        new_hi = lo + 2.0 * (xs[-1] - lo)
        extra = np.linspace(xs[-1], new_hi, n_grid)[1:]
        extra_vals = _grid_eval(chi2_of_x, extra, vectorize)
        n_eval += extra.size
        if not np.all(np.isfinite(extra_vals)):
            bad = extra[~np.isfinite(extra_vals)]
            return Limit(np.nan, x_min, ref, level, False,
                         f"non-finite chi2 at x = {bad[:5].tolist()}", (lo, float(xs[-1])),
                         (np.nan, np.nan), False, n_eval)
        xs = np.concatenate([xs, extra])
        vals = np.concatenate([vals, extra_vals])

    used = (lo, float(xs[-1]))
    if chi2_min is not None and grid_min < ref - 1e-9 * (1.0 + abs(ref)):
        status_min = f"; note: chi2 on the bracket goes below the given chi2_min ({grid_min:.6g})"
    else:
        status_min = ""
    if not np.any(above):
        return Limit(np.nan, x_min, ref, level, False,
                     f"no crossing of Delta chi2 = {level} up to x = {used[1]:.6g} "
                     f"after {expansions} doublings" + status_min, used, (np.nan, np.nan),
                     False, n_eval)

    j = int(np.argmax(above))
    a = max(float(xs[j - 1]), x_min) if j > 0 else x_min
    b = float(xs[j])

    def g(x):
        return f(x) - ref - level

    ga = g(a)
    if ga >= 0:  # the crossing is at the lower cell edge (e.g. chi2_min given externally)
        value = a
    else:
        value = optimize.brentq(g, a, b, xtol=xtol, rtol=rtol, maxiter=500)
    beyond = xs > b
    islands = bool(np.any(beyond & (vals - ref < level)))
    status = "ok"
    if islands:
        where = xs[beyond & (vals - ref < level)]
        status = (f"ok, but Delta chi2 < {level} again above the limit at x in "
                  f"[{where.min():.6g}, {where.max():.6g}] (disconnected allowed region)")
    return Limit(float(value), float(x_min), float(ref), float(level), True, status + status_min,
                 used, (a, b), islands, n_eval)


def crossing_gradient(delta_fn: Callable, x_star, theta):
    """d x*/d theta of a limit x* defined by delta_fn(x*, theta) = level (implicit function
    theorem): -(d delta/d theta) / (d delta/d x) at (x*, theta). ``delta_fn`` is differentiable
    in both arguments (e.g. Delta(-2 ln L) of a measurement built from templates that depend
    on a detector's threshold or exposure); ``theta`` any pytree; returns the same pytree.
    Valid where the crossing is simple (d delta/d x != 0): a ValueError otherwise."""
    x_star = jnp.asarray(x_star, dtype=jnp.float64)
    slope = float(jax.grad(delta_fn, argnums=0)(x_star, theta))
    if not (np.isfinite(slope) and slope != 0.0):
        raise ValueError(f"d delta/d x = {slope!r} at x* = {float(x_star)!r}: the crossing is "
                         "not simple, its gradient is undefined")
    return jax.tree_util.tree_map(lambda g: -g / slope,
                                  jax.grad(delta_fn, argnums=1)(x_star, theta))


def bisect_crossing(delta_fn: Callable, lo, hi, level=2.71, n_iter: int = 100):
    """Pure-JAX bisection for delta_fn(x) = level on [lo, hi] (jit/vmap friendly).

    Assumes delta_fn(lo) < level <= delta_fn(hi) (one crossing in the bracket); returns the
    midpoint of the final interval, NaN when the bracket does not straddle ``level``. 100
    halvings shrink any float64 bracket to round-off.
    """
    lo = jnp.asarray(lo, dtype=jnp.float64)
    hi = jnp.asarray(hi, dtype=jnp.float64)
    straddles = (delta_fn(lo) < level) & (delta_fn(hi) >= level)

    def step(_, bounds):
        a, b = bounds
        mid = 0.5 * (a + b)
        below = delta_fn(mid) < level
        return jnp.where(below, mid, a), jnp.where(below, b, mid)

    a, b = jax.lax.fori_loop(0, n_iter, step, (lo, hi))
    return jnp.where(straddles, 0.5 * (a + b), jnp.nan)


def contour_lines(x, y, z, level):
    """Lines of ``z`` (shape (ny, nx)) at ``level`` via contourpy: a list of (n, 2) arrays."""
    try:
        import contourpy
    except ImportError as exc:  # pragma: no cover - contourpy ships with matplotlib
        raise ImportError("contour extraction needs contourpy (installed with matplotlib)") from exc
    gen = contourpy.contour_generator(np.asarray(x, float), np.asarray(y, float),
                                      np.asarray(z, float), line_type="Separate")
    return [np.asarray(line) for line in gen.lines(float(level))]


def is_closed(line, atol=None) -> bool:
    """True when a contour line ends where it starts (``atol``: default 1e-12 of its size)."""
    line = np.asarray(line, dtype=float)
    if line.ndim != 2 or line.shape[0] < 4 or line.shape[1] != 2:
        return False
    if atol is None:
        atol = 1e-12 * max(1.0, float(np.ptp(line, axis=0).max()))
    return bool(np.all(np.abs(line[0] - line[-1]) <= atol))


def closed_contours(lines, atol=None) -> list:
    """The closed lines among ``lines`` (open ones end on the grid boundary)."""
    return [line for line in lines if is_closed(line, atol)]


def region_2d(chi2_of_xy: Callable, x_grid, y_grid, level: float = 4.61, *, chi2_min=None,
              vectorize: bool = True) -> Region2D:
    """Delta chi^2 map on a grid and its ``level`` contour (4.61: 90 % C.L., 2 d.o.f.).

    Paper 000 Figs. 4-6 (|Lambda_i| - |Lambda_j| planes) and paper 004 Sect. 3. ``chi2_of_xy``
    maps two scalars to a scalar; :func:`region_from_map` draws the region.
    """
    require_x64()
    x, y = _check_axes(x_grid, y_grid)
    xx, yy = np.meshgrid(x, y)
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1)
    chi2 = _grid_eval(lambda p: chi2_of_xy(p[0], p[1]), pts, vectorize).reshape(xx.shape)
    return region_from_map(x, y, chi2, level, chi2_min=chi2_min)


def _check_axes(x_grid, y_grid):
    x = np.asarray(x_grid, dtype=float)
    y = np.asarray(y_grid, dtype=float)
    for name, g in (("x_grid", x), ("y_grid", y)):
        if g.ndim != 1 or g.size < 2 or not np.all(np.diff(g) > 0):
            raise ValueError(f"{name} must be 1-D, strictly increasing, >= 2 points; got {g!r}")
    return x, y


def region_from_map(x_grid, y_grid, chi2, level: float = 4.61, *, chi2_min=None) -> Region2D:
    """The region of a chi^2 map ``chi2[iy, ix]`` at (x_grid[ix], y_grid[iy]): Delta chi^2 is
    measured from the grid minimum unless ``chi2_min`` is given. ``closed`` flags each contour
    line that closes inside the grid; a region reaching the x = 0 or y = 0 axes (moduli at
    their bound) gives open lines ending on the grid edge."""
    _check_level(level)
    x, y = _check_axes(x_grid, y_grid)
    chi2 = np.asarray(chi2, dtype=float)
    if chi2.shape != (y.size, x.size):
        raise ValueError(f"chi2 map must have shape (len(y_grid), len(x_grid)) = "
                         f"{(y.size, x.size)}, got {chi2.shape}")
    finite = np.isfinite(chi2)
    if not np.any(finite):
        raise ValueError("chi2 is non-finite at every grid point")
    iy, ix = np.unravel_index(int(np.argmin(np.where(finite, chi2, np.inf))), chi2.shape)
    ref = float(chi2[iy, ix]) if chi2_min is None else float(chi2_min)
    delta = chi2 - ref
    lines = contour_lines(x, y, delta, level)
    return Region2D(x, y, chi2, delta, float(level), ref, (float(x[ix]), float(y[iy])), lines,
                    tuple(is_closed(line) for line in lines))
