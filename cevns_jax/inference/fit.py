"""Gradient-based chi^2 minimisation with reparameterised bounds and multi-start.

Paper 000 (Sect. 5) minimises chi^2(S), S = {|Lambda_i|, xi_i, delta_CP}, over moduli, phases
and nuisances; this module does that minimisation for any differentiable scalar function.

Choices
-------
* Optimiser: :func:`optax.lbfgs` (memory 10 by default) with optax's zoom line search
  (strong Wolfe conditions). chi^2 surfaces here are smooth and small-dimensional, where
  quasi-Newton converges superlinearly and reaches float64 round-off; Adam-type methods would
  need a learning-rate schedule tuned per problem and stall far above it.
* Bounds by reparameterisation: the optimiser works on unconstrained internal coordinates u
  and the function sees x = forward(u):

  - :class:`NonNegative` (moduli |Lambda| >= 0): ``x = u^2`` by default. A boundary minimum
    with positive slope df/dx(0) > 0 becomes a regular quadratic minimum at u = 0, and the
    map is smooth, so there is no kink for L-BFGS. Alternative ``map="softplus"``
    (x = log(1 + e^u)), whose boundary sits at u -> -inf. The square map makes u = 0 a
    stationary point whatever df/dx is; such *spurious* boundary points (df/dx < 0, the
    function decreases into the interior) are detected after the fit and reported invalid.
  - :class:`Phase`: x = u, a free real number meant to be used inside cos/sin, so there is no
    boundary; results are reported wrapped to [0, period).
  - :class:`Interval` (lo, hi): x = lo + (hi - lo) sigmoid(u).
  - :class:`Free`: x = u.
* Multi-start: ``starts`` is a list of parameter dicts (see :func:`uniform_starts`); all are
  run in one ``jax.vmap`` of a jitted ``lax.while_loop`` (``vectorize=False`` falls back to a
  Python loop for functions that cannot be vmapped). The lowest final value wins; every
  start's final value is kept in the result so multi-modality is visible
  (``n_starts_at_best`` counts starts that agree with the best).
* Convergence (``valid``): finite value, internal gradient L2 norm <= ``gtol``, last value
  change <= ``ftol (1 + |f|)``, and no spurious stationary point at a bound.

Parameters are a flat dict ``{name: scalar or array}`` (a pytree); ``transforms`` maps names
to transforms (missing names are :class:`Free`). Everything runs in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu

from ..precision import require_x64

__all__ = [
    "FREE",
    "MODULUS",
    "PHASE",
    "FitResult",
    "Free",
    "Interval",
    "NonNegative",
    "Phase",
    "Profiled",
    "minimize",
    "profile_nuisances",
    "uniform_starts",
]


# --------------------------------------------------------------------------------------
# transforms
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Free:
    """Unbounded parameter: x = u."""

    def forward(self, u):
        return u

    def inverse(self, x):
        return np.asarray(x, dtype=float)

    def report(self, x):
        return x

    def bound_side(self, x, tol):
        """-1 at a lower bound, +1 at an upper bound, 0 inside (elementwise)."""
        return np.zeros(np.shape(x), dtype=int)


@dataclass(frozen=True)
class NonNegative:
    """Parameter x >= 0 (e.g. a modulus |Lambda_i|): x = u^2 (``"square"``) or softplus(u).

    With the square map u = 0 is stationary whatever the function does, so a start at exactly
    x = 0 would never move; such starts are nudged to u = ``start_nudge`` (x = nudge^2).
    """

    map: str = "square"
    start_nudge: float = 1e-3

    def __post_init__(self):
        if self.map not in ("square", "softplus"):
            raise ValueError(f"NonNegative map must be 'square' or 'softplus', got {self.map!r}")
        if not self.start_nudge >= 0:
            raise ValueError(f"NonNegative start_nudge must be >= 0, got {self.start_nudge!r}")

    def forward(self, u):
        if self.map == "square":
            return u * u
        return jax.nn.softplus(u)

    def inverse(self, x):
        x = np.asarray(x, dtype=float)
        if np.any(x < 0):
            raise ValueError(f"start value {x!r} violates the bound x >= 0")
        if self.map == "square":
            return np.maximum(np.sqrt(x), self.start_nudge)
        x = np.maximum(x, 1e-300)  # softplus reaches 0 only at u = -inf
        return x + np.log(-np.expm1(-x))

    def report(self, x):
        return x

    def bound_side(self, x, tol):
        return np.where(np.asarray(x) <= tol, -1, 0)


@dataclass(frozen=True)
class Phase:
    """Periodic parameter: x = u (used inside cos/sin), reported modulo ``period``."""

    period: float = 2.0 * math.pi

    def __post_init__(self):
        if not self.period > 0:
            raise ValueError(f"Phase period must be > 0, got {self.period!r}")

    def forward(self, u):
        return u

    def inverse(self, x):
        return np.asarray(x, dtype=float)

    def report(self, x):
        return np.mod(x, self.period)

    def bound_side(self, x, tol):
        return np.zeros(np.shape(x), dtype=int)


@dataclass(frozen=True)
class Interval:
    """Parameter in [lo, hi]: x = lo + (hi - lo) sigmoid(u)."""

    lo: float
    hi: float

    def __post_init__(self):
        if not (np.isfinite(self.lo) and np.isfinite(self.hi) and self.hi > self.lo):
            raise ValueError(f"Interval needs finite lo < hi, got lo={self.lo!r}, hi={self.hi!r}")

    def forward(self, u):
        return self.lo + (self.hi - self.lo) * jax.nn.sigmoid(u)

    def inverse(self, x):
        x = np.asarray(x, dtype=float)
        if np.any((x < self.lo) | (x > self.hi)):
            raise ValueError(f"start value {x!r} outside the interval [{self.lo}, {self.hi}]")
        t = np.clip((x - self.lo) / (self.hi - self.lo), 1e-15, 1.0 - 1e-15)
        return np.log(t) - np.log1p(-t)

    def report(self, x):
        return x

    def bound_side(self, x, tol):
        x = np.asarray(x)
        return np.where(x - self.lo <= tol, -1, np.where(self.hi - x <= tol, 1, 0))


FREE = Free()
MODULUS = NonNegative()
PHASE = Phase()


# --------------------------------------------------------------------------------------
# the L-BFGS loop (pure JAX, jit/vmap friendly)
# --------------------------------------------------------------------------------------
_RUNNING, _CONVERGED, _MAXITER, _STALLED, _NONFINITE = 0, 1, 2, 3, 4


class _Run(NamedTuple):
    u: Any
    value: jnp.ndarray
    grad_norm: jnp.ndarray
    value_change: jnp.ndarray
    n_steps: jnp.ndarray
    code: jnp.ndarray


def _lbfgs_run(fun, u0, *, maxiter, gtol, ftol, patience, memory_size):
    """Minimise ``fun`` from ``u0`` with optax L-BFGS inside a ``lax.while_loop``.

    Stops when (grad norm <= gtol and |df| <= ftol (1 + |f|)), after ``maxiter`` steps, after
    ``patience`` consecutive steps with |df| <= ftol (1 + |f|) but a large gradient (stalled
    line search), or at a non-finite value (the last finite point is kept).
    """
    opt = optax.lbfgs(memory_size=memory_size)
    value_and_grad = optax.value_and_grad_from_state(fun)
    value0, grad0 = jax.value_and_grad(fun)(u0)
    inf = jnp.asarray(jnp.inf, dtype=value0.dtype)
    init = (u0, opt.init(u0), value0, otu.tree_norm(grad0), inf, jnp.asarray(0),
            jnp.asarray(0), jnp.where(jnp.isfinite(value0), _RUNNING, _NONFINITE))

    def cond(carry):
        return carry[-1] == _RUNNING

    def body(carry):
        u, state, value, _, _, step, stall, _ = carry
        v, g = value_and_grad(u, state=state)
        updates, new_state = opt.update(g, state, u, value=v, grad=g, value_fn=fun)
        new_u = optax.apply_updates(u, updates)
        new_value = otu.tree_get(new_state, "value")
        new_gnorm = otu.tree_norm(otu.tree_get(new_state, "grad"))
        change = jnp.abs(new_value - value)
        small = change <= ftol * (1.0 + jnp.abs(new_value))
        new_step = step + 1
        new_stall = jnp.where(small & (new_gnorm > gtol), stall + 1, 0)
        finite = jnp.isfinite(new_value) & jnp.isfinite(new_gnorm)
        code = jnp.where(
            ~finite, _NONFINITE,
            jnp.where((new_gnorm <= gtol) & small, _CONVERGED,
                      jnp.where(new_stall >= patience, _STALLED,
                                jnp.where(new_step >= maxiter, _MAXITER, _RUNNING))))
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(finite, a, b), new, old)
        return (keep(new_u, u), keep(new_state, state), jnp.where(finite, new_value, value),
                jnp.where(finite, new_gnorm, carry[3]), jnp.where(finite, change, carry[4]),
                new_step, new_stall, code)

    out = jax.lax.while_loop(cond, body, init)
    return _Run(out[0], out[2], out[3], out[4], out[5], out[7])


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`minimize`, in the manner of iminuit's ``FMin``.

    Attributes
    ----------
    value: best function value over all starts.
    params: best-fit parameters in the user's parametrisation (phases wrapped to [0, period)).
    valid: converged (gradient norm <= gtol, last value change small, finite, and no spurious
        stationary point at a bound).
    status: human-readable outcome of the best start.
    n_steps: L-BFGS iterations of the best start.
    grad_norm: L2 norm of the gradient in internal coordinates at the best point.
    value_change: |f_k - f_(k-1)| at the last step of the best start.
    at_bound: ``{name: bool or bool array}``; True where a bounded parameter lies within
        ``bound_tol`` of its bound (e.g. a modulus fitted to 0).
    start_values, start_valid, start_params: final value / validity / user-space parameters of
        every start, in input order.
    best_start: index of the winning start.
    n_starts_at_best: how many starts ended within ``agree_tol`` of the best value.
    internal_params: best point in the optimiser's unconstrained coordinates.
    """

    value: float
    params: dict
    valid: bool
    status: str
    n_steps: int
    grad_norm: float
    value_change: float
    at_bound: dict
    start_values: tuple
    start_valid: tuple
    start_params: tuple = field(repr=False)
    best_start: int = 0
    n_starts_at_best: int = 1
    internal_params: dict = field(default_factory=dict, repr=False)


class Profiled(NamedTuple):
    """Outcome of :func:`profile_nuisances` (a pytree: usable under jit and vmap)."""

    value: jnp.ndarray
    nuisances: Any
    grad_norm: jnp.ndarray
    n_steps: jnp.ndarray
    converged: jnp.ndarray


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _as_starts(starts):
    if isinstance(starts, Mapping):
        starts = [starts]
    starts = list(starts)
    if not starts:
        raise ValueError("starts is empty: give at least one parameter dict")
    names = tuple(starts[0])
    for i, s in enumerate(starts):
        if not isinstance(s, Mapping):
            raise TypeError(f"start {i} must be a dict of parameters, got {type(s).__name__}")
        if tuple(s) != names and set(s) != set(names):
            raise ValueError(f"start {i} has parameters {sorted(s)}, start 0 has {sorted(names)}")
    return names, starts


def _resolve_transforms(names, transforms):
    transforms = dict(transforms or {})
    unknown = sorted(set(transforms) - set(names))
    if unknown:
        raise ValueError(
            f"transforms given for unknown parameters {unknown}; parameters: {list(names)}"
        )
    for name, t in transforms.items():
        if not all(hasattr(t, a) for a in ("forward", "inverse", "report", "bound_side")):
            raise TypeError(f"transform for {name!r} is not a transform object: {t!r}")
    return {name: transforms.get(name, FREE) for name in names}


def _to_user(u, transforms):
    return {name: transforms[name].forward(u[name]) for name in transforms}


def _plain(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def uniform_starts(n, ranges, *, seed=0, fixed=None):
    """``n`` start dicts drawn uniformly from ``ranges`` ``{name: (lo, hi)}``.

    ``lo``/``hi`` may be arrays (one draw per element). ``fixed`` adds the same value for
    other parameters (e.g. nuisances started at 0). Reproducible through ``seed``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    starts = []
    for _ in range(n):
        start = {}
        for name, (lo, hi) in ranges.items():
            lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
            if np.any(hi < lo):
                raise ValueError(f"range for {name!r} has hi < lo: ({lo!r}, {hi!r})")
            start[name] = _plain(rng.uniform(lo, hi))
        for name, value in (fixed or {}).items():
            start[name] = value
        starts.append(start)
    return starts


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------
#: Traces of the solver (tests check that a second fit of the same function traces nothing).
TRACE_COUNT = {"solve": 0}
#: compiled solvers kept per process, keyed by function, transforms and settings; the oldest
#: is dropped beyond this many
_SOLVER_CACHE_SIZE = 16
_SOLVERS: dict = {}


def _solvers(fun, tr, settings, vectorize):
    """(jitted L-BFGS run from internal starts, jitted user-space gradient) of ``fun``, built
    once per (function, transforms, settings): a new start or new ``args`` values reuse them."""
    key = (fun, tuple(sorted(tr.items())), settings, vectorize)
    if key not in _SOLVERS:
        maxiter, gtol, ftol, patience, memory_size = settings

        def solve(u0, args):
            TRACE_COUNT["solve"] += 1
            return _lbfgs_run(lambda u: fun(_to_user(u, tr), *args), u0, maxiter=maxiter,
                              gtol=gtol, ftol=ftol, patience=patience, memory_size=memory_size)

        run = jax.jit(jax.vmap(solve, in_axes=(0, None)) if vectorize else solve)
        _SOLVERS[key] = (run, jax.jit(jax.grad(lambda params, args: fun(params, *args))))
        while len(_SOLVERS) > _SOLVER_CACHE_SIZE:
            _SOLVERS.pop(next(iter(_SOLVERS)))
    return _SOLVERS[key]


def minimize(fun: Callable, starts, transforms: Mapping | None = None, *, args=(),
             maxiter: int = 1000, gtol: float = 1e-6, ftol: float = 1e-12, patience: int = 10,
             memory_size: int = 10, bound_tol: float = 1e-4, bound_slope_tol: float = 1e-6,
             agree_tol: float = 1e-6, vectorize: bool = True) -> FitResult:
    """Minimise a scalar ``fun(params, *args)`` with L-BFGS from one or several starts.

    Parameters
    ----------
    fun: differentiable scalar function of a dict of parameters (e.g. chi^2 of paper 000
        Eqs. 34-35 over moduli, phases and nuisances), and of ``args``.
    args: a tuple of arrays (pytrees) passed to ``fun`` after the parameters, e.g. the data.
        The solver is compiled once per (``fun``, transforms, settings): a second call with
        new starts or new ``args`` values of the same shapes reuses it, so pass the data as
        ``args`` to a module-level ``fun`` rather than closing over them in a new function.
    starts: a parameter dict or a list of them (multi-start), in the user's parametrisation.
    transforms: ``{name: Free() | NonNegative() | Phase() | Interval(lo, hi)}``; missing
        names are free.
    maxiter, gtol, ftol, patience, memory_size: see :func:`_lbfgs_run` (gtol is on the L2 norm
        of the gradient in internal coordinates; ftol is relative to 1 + |f|).
    bound_tol: absolute distance to a bound under which ``at_bound`` is True.
    bound_slope_tol: at a bound, a user-space slope pointing into the interior larger than
        this (df/dx < -tol at a lower bound) marks a spurious stationary point (invalid).
    agree_tol: starts within this of the best value count in ``n_starts_at_best``.
    vectorize: run the starts in one ``jax.vmap``; False loops in Python (for functions that
        cannot be vmapped).
    """
    require_x64()
    for name, value in (("maxiter", maxiter), ("patience", patience), ("memory_size", memory_size)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name, value in (("gtol", gtol), ("ftol", ftol), ("bound_tol", bound_tol),
                        ("bound_slope_tol", bound_slope_tol), ("agree_tol", agree_tol)):
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")
    names, start_list = _as_starts(starts)
    tr = _resolve_transforms(names, transforms)

    internal = [{name: jnp.asarray(tr[name].inverse(s[name]), dtype=jnp.float64) for name in names}
                for s in start_list]
    args = tuple(args)
    probe = jax.eval_shape(lambda u: fun(_to_user(u, tr), *args), internal[0])
    if probe.shape != ():
        raise ValueError(f"fun must return a scalar, got shape {probe.shape}")
    settings = (int(maxiter), float(gtol), float(ftol), int(patience), int(memory_size))
    solver, grad = _solvers(fun, tr, settings, vectorize)

    if vectorize:
        batched = jax.tree.map(lambda *leaves: jnp.stack(leaves), *internal)
        runs = jax.tree.map(np.asarray, solver(batched, args))
        per_start = [jax.tree.map(lambda a, i=i: a[i], runs) for i in range(len(internal))]
    else:
        per_start = [jax.tree.map(np.asarray, solver(u0, args)) for u0 in internal]

    grad_user = lambda params: grad(params, args)  # noqa: E731
    summaries = [_summarise(run, tr, grad_user, gtol=gtol, ftol=ftol, bound_tol=bound_tol,
                            bound_slope_tol=bound_slope_tol, maxiter=maxiter)
                 for run in per_start]
    values = np.array([float(run.value) for run in per_start])
    ranked = np.where(np.isfinite(values), values, np.inf)
    best = int(np.argmin(ranked))
    run, s = per_start[best], summaries[best]
    n_agree = int(np.sum(np.abs(ranked - ranked[best]) <= agree_tol * (1.0 + abs(ranked[best]))))
    return FitResult(
        value=float(run.value),
        params=s["params"],
        valid=s["valid"],
        status=s["status"],
        n_steps=int(run.n_steps),
        grad_norm=float(run.grad_norm),
        value_change=float(run.value_change),
        at_bound=s["at_bound"],
        start_values=tuple(float(v) for v in values),
        start_valid=tuple(t["valid"] for t in summaries),
        start_params=tuple(t["params"] for t in summaries),
        best_start=best,
        n_starts_at_best=n_agree,
        internal_params={k: _plain(v) for k, v in run.u.items()},
    )


def _summarise(run, tr, grad_user, *, gtol, ftol, bound_tol, bound_slope_tol, maxiter):
    """User-space parameters, bound flags, validity and status of one finished start."""
    u = {k: jnp.asarray(v) for k, v in run.u.items()}
    raw = {k: np.asarray(v) for k, v in _to_user(u, tr).items()}
    params = {k: _plain(tr[k].report(raw[k])) for k in raw}
    sides = {k: tr[k].bound_side(raw[k], bound_tol) for k in raw}
    at_bound = {k: (bool(v != 0) if np.ndim(v) == 0 else v != 0) for k, v in sides.items()}

    spurious = []
    if any(np.any(v != 0) for v in sides.values()) and np.isfinite(run.value):
        grads = grad_user({k: jnp.asarray(v) for k, v in raw.items()})
        slopes = {k: np.asarray(v) for k, v in grads.items()}
        for k, side in sides.items():
            bad = (((side == -1) & (slopes[k] < -bound_slope_tol))
                   | ((side == 1) & (slopes[k] > bound_slope_tol)))
            if np.any(bad):
                spurious.append(f"{k} (df/dx = {np.asarray(slopes[k])[bad].tolist()})")

    code = int(run.code)
    bound_names = [k for k, v in sides.items() if np.any(v != 0)]
    if spurious:
        status = ("spurious stationary point at a bound, the function decreases into the "
                  "interior: " + ", ".join(spurious))
        valid = False
    elif code == _CONVERGED:
        status = "converged" + (f" (at bound: {', '.join(bound_names)})" if bound_names else "")
        valid = True
    elif code == _MAXITER:
        status = (f"maximum iterations ({maxiter}) reached: grad_norm={float(run.grad_norm):.3g} "
                  f"(gtol {gtol:.3g}), last change={float(run.value_change):.3g}")
        valid = False
    elif code == _STALLED:
        status = (f"stalled: value stopped changing but grad_norm={float(run.grad_norm):.3g} "
                  f"> gtol {gtol:.3g}")
        valid = False
    elif code == _NONFINITE:
        status = f"non-finite value or gradient (last finite value {float(run.value):.6g})"
        valid = False
    else:  # pragma: no cover - the loop only exits with a final code
        status, valid = f"unknown termination code {code}", False
    return {"params": params, "at_bound": at_bound, "valid": valid, "status": status}


def profile_nuisances(chi2_fn: Callable, theta, nuisance_init, *, maxiter: int = 500,
                      gtol: float = 1e-10, ftol: float = 1e-15, patience: int = 10,
                      memory_size: int = 10) -> Profiled:
    """Minimise ``chi2_fn(theta, nuisances)`` over the (unbounded) nuisances only.

    The numerical counterpart of the analytic profiling in :mod:`cevns_jax.likelihood`
    (min over a1, a2 in paper 000 Eq. 34, a in Eq. 35, xi_j in paper 004 Eq. 18). L-BFGS as
    in :func:`minimize`, from ``nuisance_init`` (any pytree). Pure JAX, not jitted: wrap it in
    ``jax.jit``/``jax.vmap`` at the call site (e.g. over a grid of theta).
    """
    def objective(nuisances):
        return chi2_fn(theta, nuisances)

    u0 = jax.tree.map(lambda a: jnp.asarray(a, dtype=jnp.float64), nuisance_init)
    run = _lbfgs_run(objective, u0, maxiter=int(maxiter), gtol=gtol, ftol=ftol,
                     patience=int(patience), memory_size=int(memory_size))
    return Profiled(run.value, run.u, run.grad_norm, run.n_steps, run.code == _CONVERGED)
