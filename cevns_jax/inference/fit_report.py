"""The fit of one measurement, reported nuisance by nuisance.

For a :class:`~cevns_jax.likelihood.Measurement` at fixed physics parameters (no moment by
default), :func:`fit_report` gives

- the best fit: -2 ln L minimised over the profiled nuisances (the damped Newton of
  :func:`cevns_jax.likelihood.measurement.damped_newton`, from several starts, lowest kept);
- for every profiled nuisance its Hessian 1 sigma, sqrt(diag(2 H^-1)) with H the Hessian of
  -2 ln L at the best fit (:func:`~cevns_jax.inference.profile_likelihood.nuisance_errors`),
  and its profile-likelihood 1 sigma interval: the two values where
  Delta(-2 ln L) = -2 ln L(nu_i, others profiled) - min = 1 (Wilks' theorem, one parameter;
  Cowan et al., EPJC 71, 1554 (2011), Eq. 8 and Sect. 3), or the nuisance's bound if
  Delta stays below 1 up to it;
- the pulls (best - centre) / sigma of the Gaussian-constrained nuisances;
- the number of bins and of observed events.

One compiled kernel serves the best fit, every point of every interval and the scans of
:func:`scan`: a point is a vector minimisation over the profiled nuisances in which a mask of
them is held (x_i replaced by v_i in -2 ln L and (x_i - v_i)^2 added, which puts x_i at v_i
and decouples it), with its own moments mu2; mask, values and mu2 are traced arguments. It is
jitted with the measurement as a pytree and vmapped over a batch of 2 x (number of profiled
nuisances) points (both ends of every interval), so a measurement structure compiles once and
new data, templates, held nuisances or moments reuse it (``TRACE_COUNT`` counts traces).
Holding is also how one structure gives several readings: a CEvNS normalisation free with the
flux held, or held at the SM with the flux profiled (``hold``). The interval ends are found
together by the Illinois variant of regula falsi (Dowell and Jarratt, BIT 11, 168 (1971)) on
sqrt(Delta) - 1, which is nearly linear in nu_i (exactly so for a Gaussian likelihood).
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..likelihood.measurement import damped_newton
from ..likelihood.physics_model import channel_mu2s
from ..precision import require_x64
from .profile_likelihood import nuisance_errors

__all__ = ["FitReport", "NuisanceFit", "TRACE_COUNT", "fit_report", "scan"]

#: Number of traces of the jitted kernel (tests check that new data do not retrace).
TRACE_COUNT = {"points": 0}


@dataclasses.dataclass(frozen=True)
class NuisanceFit:
    """One nuisance of a :class:`FitReport`.

    ``best``: value at the best fit. ``hessian_sigma``: sqrt(diag(2 H^-1)) (None for a fixed
    nuisance or where H is not positive definite). ``interval``: (lower, upper) where
    Delta(-2 ln L) = 1 with the others profiled (None for a fixed nuisance; an end is None
    if not found). ``at_bound``: whether each end is the nuisance's bound (Delta < 1 there).
    ``pull``: (best - centre) / sigma for a Gaussian-constrained nuisance, else None.
    ``prior``: nominal (centre), sigma, bounds and treatment as declared."""

    name: str
    best: float
    hessian_sigma: float | None
    interval: tuple | None
    at_bound: tuple | None
    pull: float | None
    prior: dict

    def as_dict(self) -> dict:
        return {"best": self.best, "hessian_sigma": self.hessian_sigma,
                "interval": None if self.interval is None else list(self.interval),
                "interval_at_bound": None if self.at_bound is None else list(self.at_bound),
                "pull": self.pull, "prior": dict(self.prior)}


@dataclasses.dataclass(frozen=True)
class FitReport:
    """Outcome of :func:`fit_report`; ``as_dict`` gives plain JSON-able values.

    ``twice_nll``: -2 ln L at the best fit (Poisson deviance / chi^2 plus constraints).
    ``theta``: physics parameters of the fit ({} without a model). ``start_spread``: largest
    minus smallest -2 ln L over the starts. ``warnings``: e.g. a lower minimum met while
    scanning an interval (the best fit is then not the global one)."""

    measurement: str
    twice_nll: float
    n_bins: int
    n_observed: float
    nuisances: dict
    theta: dict
    start_spread: float
    warnings: tuple = ()

    @property
    def best(self) -> dict:
        """{name: best-fit value} of every nuisance (fixed ones at their value)."""
        return {k: v.best for k, v in self.nuisances.items()}

    def table(self) -> str:
        """The nuisances as a text table: best, Hessian 1 sigma, profile interval (``|`` marks
        an end at the bound), pull and prior."""
        def num(x):
            return "-" if x is None else f"{x:.4g}"

        rows = [("nuisance", "best", "hessian 1s", "profile 1s interval", "pull", "prior")]
        for name, n in self.nuisances.items():
            interval = "-"
            if n.interval is not None:
                ends = [num(x) + ("|" if at else "") for x, at in zip(n.interval, n.at_bound)]
                interval = f"[{ends[0]}, {ends[1]}]"
            prior = n.prior["treatment"]
            if n.prior["sigma"] is not None:
                prior = f"{n.prior['nominal']:.4g} +- {n.prior['sigma']:.3g}"
            rows.append((name, num(n.best), num(n.hessian_sigma), interval, num(n.pull), prior))
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.append(f"-2 ln L = {self.twice_nll:.4f}, {self.n_bins} bins, "
                     f"{self.n_observed:.6g} events observed")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"measurement": self.measurement, "twice_nll": self.twice_nll,
                "n_bins": self.n_bins, "n_observed": self.n_observed, "theta": dict(self.theta),
                "start_spread": self.start_spread, "warnings": list(self.warnings),
                "nuisances": {k: v.as_dict() for k, v in self.nuisances.items()}}


def _bounds(measurement):
    nuisances = [n for n in measurement.nuisances if n.treatment == "profiled"]
    return (np.array([n.lower for n in nuisances], dtype=float),
            np.array([n.upper for n in nuisances], dtype=float))


@partial(jax.jit, static_argnames=("n_steps",))
def _points(measurement, base, mu2s, starts, held, values, n_steps):
    """Profiled -2 ln L and nuisance vectors at a batch of points: point b, at moments
    ``mu2s[c][b]`` of every channel c, minimises over the profiled nuisances from
    ``starts[b]`` with those where ``held[b]`` is True held at ``values[b]``. ``base``: values
    of the fixed nuisances."""
    TRACE_COUNT["points"] += 1
    names = measurement.profiled_names
    lower, upper = (jnp.asarray(b) for b in _bounds(measurement))

    def twice_nll(mu2, x):
        nu = dict(base)
        nu.update({k: x[i] for i, k in enumerate(names)})
        return measurement.twice_nll(mu2, nu)

    def one(mu2, x0, hold, v):
        def objective(x):
            return (twice_nll(mu2, jnp.where(hold, v, x))
                    + jnp.sum(jnp.where(hold, (x - v) ** 2, 0.0)))

        x = damped_newton(objective, jnp.where(hold, v, x0), lower, upper, n_steps)
        x = jnp.where(hold, v, x)
        return twice_nll(mu2, x), x

    return jax.vmap(one)(mu2s, starts, held, values)


class _Kernel:
    """The jitted batch evaluation with a fixed batch size (one trace per structure)."""

    def __init__(self, measurement, n_steps):
        self.measurement = measurement.canonical()
        self.base = {k: jnp.asarray(v, dtype=jnp.float64)
                     for k, v in measurement.nominal_nuisances().items()}
        self.n = len(measurement.profiled_names)
        self.batch = max(2 * self.n, 2)
        self.n_steps = n_steps

    def __call__(self, mu2s, starts, held, values):
        """Values and vectors at any number P of points (``mu2s``: per channel (P, n_beams);
        the others (P, n)), run in batches of ``self.batch``."""
        total = starts.shape[0]
        pad = (-total) % self.batch
        fill = lambda a: np.concatenate([a, np.repeat(a[:1], pad, axis=0)])  # noqa: E731
        mu2s = [fill(np.asarray(m, dtype=float)) for m in mu2s]
        starts, held, values = fill(starts), fill(held), fill(values)
        out_values, out_x = [], []
        for k in range(0, total + pad, self.batch):
            s = slice(k, k + self.batch)
            f, x = _points(self.measurement, self.base, [jnp.asarray(m[s]) for m in mu2s],
                           jnp.asarray(starts[s], dtype=jnp.float64), jnp.asarray(held[s]),
                           jnp.asarray(values[s], dtype=jnp.float64), self.n_steps)
            out_values.append(np.asarray(f))
            out_x.append(np.asarray(x))
        return np.concatenate(out_values)[:total], np.concatenate(out_x)[:total]


def _mu2s(measurement, model, thetas, size):
    """Per channel, the (size, n_beams) moments of ``model`` at ``thetas`` ({name: (size,)});
    zeros without a model."""
    if model is None:
        return [np.zeros((size, len(c.beams))) for c in measurement.channels]
    unknown = sorted(set(thetas) - set(model.parameters))
    if unknown:
        raise KeyError(f"unknown parameter(s) {unknown} for {type(model).__name__}; "
                       f"known: {list(model.parameters)}")
    rows = [channel_mu2s(measurement, model, {k: float(v[p]) for k, v in thetas.items()})
            for p in range(size)]
    return [np.stack([np.asarray(r[c], dtype=float) for r in rows])
            for c in range(len(measurement.channels))]


def _check_profiled(measurement, given, what, fixed_reason):
    """KeyError for names that are no nuisance, ValueError for fixed ones (``fixed_reason``)."""
    unknown = sorted(set(given) - set(measurement.nuisance_names))
    if unknown:
        raise KeyError(f"{what} unknown nuisance(s) {unknown}; known: "
                       f"{list(measurement.nuisance_names)}")
    fixed = sorted(set(given) - set(measurement.profiled_names))
    if fixed:
        raise ValueError(f"{what} fixed nuisance(s) {fixed}: {fixed_reason}")


def _held(measurement, hold):
    """(mask, values) over the profiled nuisances for ``hold`` = {name: value}."""
    names = measurement.profiled_names
    hold = dict(hold or {})
    _check_profiled(measurement, hold, "hold names", "only profiled ones can be held")
    lower, upper = _bounds(measurement)
    mask = np.array([k in hold for k in names], dtype=bool)
    nominal = measurement.nominal_nuisances()
    values = np.array([float(hold.get(k, nominal[k])) for k in names])
    outside = [k for j, k in enumerate(names) if mask[j] and not lower[j] <= values[j] <= upper[j]]
    if outside:
        raise ValueError(f"held value(s) outside the bounds of {outside}")
    return mask, values


def _start_vectors(measurement, starts, mask, values):
    names = measurement.profiled_names
    nominal = measurement.nominal_nuisances()
    vectors = []
    for start in starts:
        _check_profiled(measurement, start, "start sets",
                        "fixed nuisances stay at their nominal value (change it with "
                        "with_treatment/nominal)")
        vectors.append([float(start.get(k, nominal[k])) for k in names])
    vectors = np.array(vectors, dtype=float).reshape(len(starts), len(names))
    return np.where(mask, values, vectors)


def scan(measurement, model=None, thetas=None, *, hold=None, start=None,
         n_steps: int = 30):
    """Profiled -2 ln L at P points: physics parameters ``thetas`` of ``model``
    ({name: array}, missing ones 0; no moment without a model) and held nuisances ``hold``
    ({name: value or array}); arrays broadcast to P. The other profiled nuisances are
    minimised from ``start`` ({name: value}, e.g. a report's ``best``; default nominal;
    values of fixed nuisances in it are ignored).
    Uses the kernel of :func:`fit_report` (no new compilation for a structure already fitted).
    Returns (values (P,), {nuisance: (P,) values at each point})."""
    require_x64()
    thetas, hold = dict(thetas or {}), dict(hold or {})
    if model is None and thetas:
        raise ValueError("thetas need a model")
    arrays = [np.atleast_1d(np.asarray(v, dtype=float)) for v in (*thetas.values(),
                                                                   *hold.values())]
    size = max([a.size for a in arrays] + [1])
    grow = lambda v: np.broadcast_to(np.atleast_1d(np.asarray(v, float)), (size,))  # noqa: E731
    thetas = {k: grow(v) for k, v in thetas.items()}
    hold = {k: grow(v) for k, v in hold.items()}
    names = measurement.profiled_names
    masks, values = zip(*[_held(measurement, {k: v[p] for k, v in hold.items()})
                          for p in range(size)])
    masks, values = np.array(masks), np.array(values)
    start = {k: v for k, v in (start or {}).items()
             if k in names or k not in measurement.nuisance_names}
    starts = np.repeat(_start_vectors(measurement, [start], masks[0], values[0]), size, 0)
    starts = np.where(masks, values, starts)
    kernel = _Kernel(measurement, n_steps)
    out, xs = kernel(_mu2s(measurement, model, thetas, size), starts, masks, values)
    nominal = measurement.nominal_nuisances()
    nuisances = {k: (xs[:, names.index(k)] if k in names else np.full(size, float(nominal[k])))
                 for k in measurement.nuisance_names}
    return out, nuisances


def _intervals(kernel, mu2s, best_x, best_value, free, sigma, held, lower, upper, *, gtol,
               max_iter):
    """Both Delta(-2 ln L) = 1 ends of the profiled nuisances at positions ``free`` (1 sigma
    ``sigma`` each), solved together; ``held``: the mask of nuisances held throughout.

    Illinois regula falsi on g = sqrt(max(Delta, 0)) - 1 per end (g = -1 at the best fit)
    between an inner point (g < 0) and an outer one (g >= 0); before an outer point exists,
    the secant through the last two inner points (the first: the best fit) extrapolates, at
    most 4x further from the best fit, clipped to the bound; a non-finite value is bisected
    towards the inner point. Returns (ends (n, 2), at_bound (n, 2), lowest value met)."""
    n = free.size
    index = np.tile(free, 2)
    side = np.repeat([-1.0, 1.0], n)
    centre = best_x[index]
    scale = np.tile(np.where(np.isfinite(sigma) & (sigma > 0), sigma,
                             0.1 * np.maximum(np.abs(best_x[free]), 1.0)), 2)
    masks = np.repeat(held[None, :], 2 * n, axis=0)
    masks[np.arange(2 * n), index] = True
    batch_mu2s = [np.repeat(np.asarray(m, dtype=float)[None, :], 2 * n, axis=0) for m in mu2s]
    bound = np.where(side < 0, lower[index], upper[index])
    low, high = np.minimum(bound, centre), np.maximum(bound, centre)
    a, g_a = centre.copy(), -np.ones(2 * n)                   # inner point, g < 0
    a_prev, g_prev = a.copy(), g_a.copy()                     # the inner point before it
    b, g_b = np.full(2 * n, np.nan), np.full(2 * n, np.nan)   # outer point, g >= 0
    x_a = np.repeat(best_x[None, :], 2 * n, axis=0)
    at_bound = centre == bound
    root = np.where(at_bound, bound, np.nan)
    trial = np.clip(centre + side * scale, low, high)
    last = np.zeros(2 * n, dtype=int)                         # point replaced last: -1 a, +1 b
    lowest = best_value
    for _ in range(max_iter):
        active = np.isnan(root)
        if not active.any():
            break
        starts = x_a.copy()
        starts[np.arange(2 * n), index] = trial
        values, xs = kernel(batch_mu2s, starts, masks, starts)
        finite = np.isfinite(values)
        lowest = min(lowest, float(np.min(np.where(finite, values, np.inf))))
        g = np.where(finite, np.sqrt(np.maximum(values - best_value, 0.0)) - 1.0, np.nan)
        inner = active & finite & (g < 0)
        outer = active & ~inner
        hit = active & finite & ((np.abs(g) <= gtol) | (inner & (trial == bound)))
        root = np.where(hit, trial, root)
        at_bound |= hit & inner & (trial == bound)
        # Illinois: halve g at the end that survives a second replacement of the other one
        g_b = np.where(inner & (last == -1), 0.5 * g_b, g_b)
        g_a = np.where(outer & finite & (last == 1), 0.5 * g_a, g_a)
        last = np.where(inner, -1, np.where(outer, 1, last))
        a_prev, g_prev = np.where(inner, a, a_prev), np.where(inner, g_a, g_prev)
        a, g_a = np.where(inner, trial, a), np.where(inner, g, g_a)
        x_a = np.where(inner[:, None], xs, x_a)
        b, g_b = np.where(outer, trial, b), np.where(outer, g, g_b)
        with np.errstate(divide="ignore", invalid="ignore"):
            falsi = a - g_a * (b - a) / (g_b - g_a)
        falsi = np.where(np.isfinite(falsi), falsi, 0.5 * (a + b))
        with np.errstate(divide="ignore", invalid="ignore"):
            secant = a + (a - a_prev) * (-g_a) / (g_a - g_prev)
        rising = np.isfinite(secant) & (g_a > g_prev)
        reach = np.where(rising, np.abs(secant - centre), 4.0 * np.abs(a - centre))
        reach = np.minimum(reach, 4.0 * np.abs(a - centre))
        extrapolated = centre + side * np.maximum(reach, 1e-3 * scale)
        trial = np.clip(np.where(np.isnan(b), extrapolated, falsi), low, high)
        tiny = active & ~hit & (np.abs(b - a) <= 1e-12 * (np.abs(centre) + scale))
        root = np.where(tiny, trial, root)
    return root.reshape(2, n).T, at_bound.reshape(2, n).T, lowest


def _plain(x):
    x = float(x)
    return x if math.isfinite(x) else None


def fit_report(measurement, model=None, theta=None, *, hold=None, starts=(),
               n_steps: int = 30, gtol: float = 1e-8, max_iter: int = 60,
               intervals: bool = True) -> FitReport:
    """The best fit of ``measurement`` at physics parameters ``theta`` of ``model`` (no
    moment when ``model`` is None) and every profiled nuisance's Hessian 1 sigma, profile
    interval (Delta(-2 ln L) = 1) and pull; see the module docstring.

    ``hold``: {nuisance: value} of profiled nuisances held at a value (reported with
    treatment "held"; same compiled kernel as without). ``starts``: extra starting points
    ({nuisance: value}, missing ones nominal) besides the nominal values; the lowest minimum
    is kept. ``n_steps``: damped-Newton steps per minimisation. ``gtol``: the interval ends
    satisfy |sqrt(Delta) - 1| <= gtol (Delta within 2 gtol of 1). ``intervals=False`` skips
    the profile intervals."""
    require_x64()
    if (model is None) != (theta is None):
        raise ValueError("give both model and theta, or neither (no moment)")
    if model is None:
        mu2s = [np.zeros(len(c.beams)) for c in measurement.channels]
    else:
        mu2s = [np.asarray(m, dtype=float) for m in channel_mu2s(measurement, model, theta)]
    names = measurement.profiled_names
    hold = dict(hold or {})
    held, held_values = _held(measurement, hold)
    nominal = measurement.nominal_nuisances()
    lower, upper = _bounds(measurement)
    warnings = []
    if names:
        kernel = _Kernel(measurement, n_steps)
        vectors = _start_vectors(measurement, [{}] + list(starts), held, held_values)
        size = len(vectors)
        values, xs = kernel([np.repeat(m[None, :], size, axis=0) for m in mu2s], vectors,
                            np.repeat(held[None, :], size, axis=0), vectors)
        i = int(np.argmin(np.where(np.isfinite(values), values, np.inf)))
        best_value, best_x = float(values[i]), xs[i]
        spread = float(np.max(values) - np.min(values))
    else:
        best_value, best_x, spread = float(measurement.twice_nll(mu2s, nominal)), np.zeros(0), 0.0
    nu_hat = dict(nominal)
    nu_hat.update({k: jnp.asarray(best_x[j]) for j, k in enumerate(names)})
    free = np.flatnonzero(~held)
    free_names = [names[j] for j in free]
    errors = {}
    if free_names:
        errors = nuisance_errors(measurement.with_treatment("fixed", list(hold)) if hold
                                 else measurement, mu2s, nu_hat)
    if intervals and free_names:
        sigma = np.array([errors[k] for k in free_names])
        ends, at_bound, lowest = _intervals(kernel, mu2s, best_x, best_value, free, sigma,
                                            held, lower, upper, gtol=gtol, max_iter=max_iter)
        if lowest < best_value - 1e-6:
            warnings.append(f"a lower minimum ({lowest:.8g} < {best_value:.8g}) was met while "
                            "scanning the intervals: the best fit is not the global minimum")
    centres = measurement.centres or {}
    out = {}
    for nuisance in measurement.nuisances:
        name = nuisance.name
        centre = float(centres.get(name, nuisance.nominal))
        prior = {"nominal": centre, "sigma": nuisance.sigma,
                 "lower": _plain(nuisance.lower), "upper": _plain(nuisance.upper),
                 "treatment": "held" if name in hold else nuisance.treatment}
        if name in free_names:
            j = free_names.index(name)
            value = float(best_x[names.index(name)])
            interval = at = None
            if intervals:
                interval = (_plain(ends[j, 0]), _plain(ends[j, 1]))
                at = (bool(at_bound[j, 0]), bool(at_bound[j, 1]))
            out[name] = NuisanceFit(name, value, _plain(errors[name]), interval, at,
                                    None if nuisance.sigma is None
                                    else (value - centre) / nuisance.sigma, prior)
        else:
            value = float(hold[name]) if name in hold else float(nominal[name])
            out[name] = NuisanceFit(name, value, None, None, None, None, prior)
    observed = [np.asarray(c.observed) for c in measurement.channels]
    return FitReport(measurement.name, best_value, int(sum(o.size for o in observed)),
                     float(sum(o.sum() for o in observed)), out,
                     {k: float(v) for k, v in (theta or {}).items()}, spread, tuple(warnings))
