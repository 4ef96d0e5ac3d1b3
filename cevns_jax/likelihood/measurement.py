"""The measurement model: one object that every inference path consumes.

A :class:`Measurement` is a tuple of :class:`Channel` (one observed histogram each, any
binning flattened to a vector) plus the named :class:`Nuisance` parameters they share. Each
channel's expected counts are

    N(mu2, nu) = sum_b [S_b(nu) + mu2_b E_b(nu)] + B(nu)            (paper 000 Eqs. 26, 33)

with S_b, E_b the SM and unit-moment (mu = 1e-10 mu_B) signal templates of beam b and B the
backgrounds, all returned by the channel's ``expected_fn(data, nu)`` as :class:`Components`.
The physics model (:mod:`cevns_jax.likelihood.moments_model`) turns the physics parameters
theta into mu2_b for every beam from the beam's flavour label, so the counts stay linear in
mu2_b and any moment model works with any measurement.

The statistic of a channel is ``"poisson"`` (Baker-Cousins deviance) or ``"gaussian"``
(sum (n - N)^2 / variance, variance from ``data["variance"]``). Each nuisance adds its
constraint term ((nu - nominal) / sigma)^2 (Gaussian) or nothing (free), and has a treatment:
``"profiled"`` (minimised by :func:`profile`) or ``"fixed"`` (held at its nominal value).
Paper forms (000 Eqs. 34-35, 004 Eq. 18) are constructors of this object in ``analyses``.

Adding measurements (``m1 + m2``) gives the combined analysis: channels are concatenated and
nuisances with the same name are one parameter (constraint counted once). So a nuisance meant
to be shared (a flux normalisation) carries the same name in both; all others carry a prefix.

Everything is a pytree (channel data and observed counts are leaves; names, beams, functions
and nuisance metadata static), so a measurement can be passed through ``jit`` and ``vmap``
(over observed counts for toys) without retracing for new values.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .statistics import poisson_deviance

__all__ = ["Channel", "Components", "Measurement", "Nuisance", "TREATMENTS", "STATISTICS",
           "damped_newton", "profile"]

TREATMENTS = ("profiled", "fixed")
STATISTICS = ("poisson", "gaussian")


class Components(NamedTuple):
    """Expected counts of one channel split by origin: ``signal_sm`` and ``signal_em`` of
    shape (n_beams, n_bins) (EM at mu = 1e-10 mu_B), ``background`` of shape (n_bins,)."""

    signal_sm: jnp.ndarray
    signal_em: jnp.ndarray
    background: jnp.ndarray


@dataclasses.dataclass(frozen=True)
class Nuisance:
    """A named nuisance parameter.

    ``sigma``: width of the Gaussian constraint around ``nominal`` (None: unconstrained).
    ``lower``/``upper``: hard bounds the profiler respects. ``treatment``: "profiled" or "fixed".
    """

    name: str
    nominal: float = 0.0
    sigma: float | None = None
    lower: float = -math.inf
    upper: float = math.inf
    treatment: str = "profiled"

    def __post_init__(self):
        if self.treatment not in TREATMENTS:
            raise ValueError(f"nuisance {self.name!r}: treatment must be one of {TREATMENTS}, "
                             f"got {self.treatment!r}")
        if not math.isfinite(self.nominal):
            raise ValueError(f"nuisance {self.name!r}: nominal must be finite, got {self.nominal!r}")
        if self.sigma is not None and not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"nuisance {self.name!r}: sigma must be finite and > 0 or None, "
                             f"got {self.sigma!r}")
        if not self.lower <= self.nominal <= self.upper:
            raise ValueError(f"nuisance {self.name!r}: nominal {self.nominal} outside its bounds "
                             f"[{self.lower}, {self.upper}]")

    def penalty(self, value, centre=None):
        """Constraint term added to -2 ln L: ((value - centre) / sigma)^2, or 0 if free. The
        centre (the auxiliary measurement) is ``nominal`` unless given (toys vary it)."""
        if self.sigma is None:
            return jnp.zeros_like(value)
        centre = self.nominal if centre is None else centre
        return ((value - centre) / self.sigma) ** 2


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Channel:
    """One observed histogram and its expectation.

    ``beams``: the flavour label of each signal row (``cevns_jax.sources.Beam.flavour``:
    "numu", "nue", "numubar", "nuebar", "nue_solar", ...). ``expected_fn(data, nu)`` returns
    :class:`Components`; ``nu`` is a dict over the measurement's nuisance names.
    """

    observed: jnp.ndarray
    data: Any
    name: str = dataclasses.field(metadata=dict(static=True), default="channel")
    beams: tuple = dataclasses.field(metadata=dict(static=True), default=())
    expected_fn: Callable = dataclasses.field(metadata=dict(static=True), default=None)
    statistic: str = dataclasses.field(metadata=dict(static=True), default="poisson")

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise ValueError(f"channel {self.name!r}: statistic must be one of {STATISTICS}, "
                             f"got {self.statistic!r}")
        if self.expected_fn is None:
            raise ValueError(f"channel {self.name!r} needs an expected_fn(data, nu)")

    def components(self, nu) -> Components:
        return self.expected_fn(self.data, nu)

    def expected(self, mu2, nu):
        """Expected counts per bin for effective moments squared ``mu2`` (one per beam)."""
        comp = self.components(nu)
        mu2 = jnp.broadcast_to(jnp.asarray(mu2, dtype=jnp.float64), (len(self.beams),))
        return jnp.sum(comp.signal_sm + mu2[:, None] * comp.signal_em, axis=0) + comp.background

    def statistic_value(self, expected):
        """-2 ln L of this channel's data up to a constant (0 at expected == observed)."""
        if self.statistic == "poisson":
            return poisson_deviance(self.observed, expected)
        return jnp.sum((self.observed - expected) ** 2 / self.data["variance"])


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Measurement:
    """Channels plus the nuisances they depend on; see the module docstring."""

    channels: tuple
    nuisances: tuple = dataclasses.field(metadata=dict(static=True), default=())
    name: str = dataclasses.field(metadata=dict(static=True), default="measurement")
    #: Centres of the Gaussian constraints ({name: value}; None: the nominal values). Toys
    #: draw them around the true nuisances (the auxiliary measurements); a pytree leaf.
    centres: Any = None

    def __post_init__(self):
        names = [n.name for n in self.nuisances]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"measurement {self.name!r}: nuisance names repeated: {duplicates}")

    # ---- structure ----------------------------------------------------------------------
    def __add__(self, other: "Measurement") -> "Measurement":
        merged = {n.name: n for n in self.nuisances}
        for n in other.nuisances:
            if n.name in merged and merged[n.name] != n:
                raise ValueError(f"shared nuisance {n.name!r} is declared differently: "
                                 f"{merged[n.name]} vs {n}")
            merged.setdefault(n.name, n)
        if self.centres or other.centres:
            raise ValueError("add measurements before drawing constraint centres for toys")
        return Measurement(channels=tuple(self.channels) + tuple(other.channels),
                           nuisances=tuple(merged.values()), name=f"{self.name}+{other.name}")

    @property
    def nuisance_names(self) -> tuple:
        return tuple(n.name for n in self.nuisances)

    @property
    def profiled_names(self) -> tuple:
        return tuple(n.name for n in self.nuisances if n.treatment == "profiled")

    def nominal_nuisances(self) -> dict:
        return {n.name: jnp.asarray(n.nominal, dtype=jnp.float64) for n in self.nuisances}

    def with_treatment(self, treatment: str, names=None) -> "Measurement":
        """A copy with ``treatment`` set for ``names`` (all nuisances when None)."""
        chosen = set(self.nuisance_names if names is None else names)
        unknown = chosen - set(self.nuisance_names)
        if unknown:
            raise KeyError(f"unknown nuisance(s) {sorted(unknown)}; known: {list(self.nuisance_names)}")
        nuisances = tuple(dataclasses.replace(n, treatment=treatment) if n.name in chosen else n
                          for n in self.nuisances)
        return dataclasses.replace(self, nuisances=nuisances)

    def with_observed(self, observed) -> "Measurement":
        """A copy with new observed counts (a list, one array per channel): toys, Asimov."""
        if len(observed) != len(self.channels):
            raise ValueError(f"need {len(self.channels)} observed arrays, got {len(observed)}")
        channels = tuple(dataclasses.replace(c, observed=jnp.asarray(o, dtype=jnp.float64))
                         for c, o in zip(self.channels, observed))
        return dataclasses.replace(self, channels=channels)

    # ---- values -------------------------------------------------------------------------
    def _full_nuisances(self, nu):
        full = self.nominal_nuisances()
        if nu:
            unknown = set(nu) - set(full)
            if unknown:
                raise KeyError(f"unknown nuisance(s) {sorted(unknown)} for measurement "
                               f"{self.name!r}; known: {list(full)}")
            full.update(nu)
        return full

    def expected(self, mu2s, nu=None) -> list:
        """Expected counts per channel; ``mu2s`` is a list with one mu2 vector per channel."""
        full = self._full_nuisances(nu)
        return [c.expected(m, full) for c, m in zip(self.channels, mu2s)]

    def twice_nll(self, mu2s, nu=None):
        """-2 ln L (statistics of all channels + every nuisance's constraint term)."""
        full = self._full_nuisances(nu)
        value = sum(c.statistic_value(c.expected(m, full)) for c, m in zip(self.channels, mu2s))
        centres = self.centres or {}
        return value + sum(n.penalty(full[n.name], centres.get(n.name)) for n in self.nuisances)

    def prefixed(self, prefix: str, keep=()) -> "Measurement":
        """A copy whose nuisances are renamed ``prefix/name`` (except those in ``keep``, which
        stay shared when measurements are added)."""
        mapping = tuple((n.name, f"{prefix}/{n.name}") for n in self.nuisances
                        if n.name not in keep)
        rename = dict(mapping)
        channels = tuple(dataclasses.replace(c, expected_fn=_Renamed(c.expected_fn, mapping))
                         for c in self.channels)
        nuisances = tuple(dataclasses.replace(n, name=rename.get(n.name, n.name))
                          for n in self.nuisances)
        return Measurement(channels, nuisances, name=f"{prefix}/{self.name}")

    def canonical(self) -> "Measurement":
        """The same likelihood with its display names blanked: measurements that differ only
        in names and numbers then share one compiled kernel."""
        channels = tuple(dataclasses.replace(c, name="") for c in self.channels)
        return dataclasses.replace(self, channels=channels, name="")

    def asimov(self, mu2s, nu=None) -> "Measurement":
        """The measurement with its observed counts replaced by the expectation (Asimov data)."""
        return self.with_observed(self.expected(mu2s, nu))


@dataclasses.dataclass(frozen=True)
class _Renamed:
    """An expectation function seen through renamed nuisances (``(inner, outer)`` pairs)."""

    fn: Callable
    mapping: tuple

    def __call__(self, data, nu):
        inner = dict(nu)
        inner.update({i: nu[o] for i, o in self.mapping})
        return self.fn(data, inner)


# ---------------------------------------------------------------------------------------------
# profiling
# ---------------------------------------------------------------------------------------------
def _bounds(measurement, names):
    lo = np.array([n.lower for n in measurement.nuisances if n.name in names], dtype=float)
    hi = np.array([n.upper for n in measurement.nuisances if n.name in names], dtype=float)
    return jnp.asarray(lo), jnp.asarray(hi)


def damped_newton(objective, x0, lower, upper, n_steps: int, mask=None):
    """Minimise ``objective(x)`` over a vector x in the box [lower, upper] with a fixed number
    of Levenberg-Marquardt steps (jit- and vmap-friendly: static shapes, no early exit).

    Each step is a projected Newton step (Bertsekas, SIAM J. Control Optim. 20, 221 (1982)):
    components at a bound whose gradient points out of the box are held (their rows and
    columns leave the system), the others solve (H + lambda diag|H|) d = -g; the clipped
    trial is taken if the value does not increase (lambda /= 3), otherwise the point is kept
    (lambda *= 10). Without the projection, a coupled step clipped at a bound stops where the
    full Newton step has no component along the free directions, not at their minimum.
    ``mask`` (1: free, 0: held at x0; may be traced) holds components the same way.

    Near the minimum of a likelihood with large counts the values carry round-off far above
    their change (a deviance of 1e6 counts: ~1e-9), so a value test alone stops the steps
    short of it; the gradient does not. A step is therefore also taken when it lowers the
    norm of the free gradient without raising the value beyond that round-off, so the
    minimiser (and every envelope-theorem gradient taken there) is converged to the
    gradient's precision. The gradient at the trial point serves the next step."""
    value_and_grad = jax.value_and_grad(objective)
    hessian = jax.hessian(objective)
    eye = jnp.eye(x0.shape[0])

    def free_gradient(x, g):
        """The gradient with the held components (at a bound pointing out, or masked) zeroed."""
        held = ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))
        if mask is not None:
            held = held | (mask == 0)
        return jnp.where(held, 0.0, g), held

    def step(_, carry):
        x, f, g, damping = carry
        g_free, held = free_gradient(x, g)
        free = ~held
        h = jnp.where(free[:, None] & free[None, :], hessian(x), 0.0) + jnp.diag(held * 1.0)
        scale = jnp.maximum(jnp.abs(jnp.diag(h)), 1e-12)
        trial = jnp.clip(x - jnp.linalg.solve(h + damping * jnp.diag(scale) + 1e-300 * eye,
                                              g_free), lower, upper)
        f_trial, g_trial = value_and_grad(trial)
        flatter = jnp.sum(free_gradient(trial, g_trial)[0] ** 2) < jnp.sum(g_free**2)
        better = jnp.isfinite(f_trial) & (
            (f_trial <= f) | (flatter & (f_trial <= f + 1e-9 * (1.0 + jnp.abs(f)))))
        return (jnp.where(better, trial, x), jnp.where(better, f_trial, f),
                jnp.where(better, g_trial, g), jnp.where(better, damping / 3.0, damping * 10.0))

    f0, g0 = value_and_grad(x0)
    x, _, _, _ = jax.lax.fori_loop(0, n_steps, step, (x0, f0, g0, jnp.asarray(1e-3)))
    return x


def profile(measurement: Measurement, mu2s, *, n_steps: int = 30, start=None):
    """min over the profiled nuisances of ``measurement.twice_nll(mu2s, nu)``.

    :func:`damped_newton` on the vector of profiled nuisances (bounds respected), so it runs
    under ``jit`` and ``vmap``. For Gaussian statistics with nuisances entering linearly, one
    step is nearly exact. The returned value is differentiable in ``mu2s`` with the envelope
    theorem (the nuisances at the minimum are ``stop_gradient``-ed: d min_nu f / d theta =
    df/dtheta at nu*).

    Returns ``(value, nu_hat)`` with ``nu_hat`` the dict of all nuisances (fixed ones at nominal).
    """
    names = measurement.profiled_names
    base = measurement.nominal_nuisances()
    if start:
        base.update({k: jnp.asarray(v, dtype=jnp.float64) for k, v in start.items()})
    if not names:
        return measurement.twice_nll(mu2s, base), base
    lo, hi = _bounds(measurement, set(names))
    mu2s_const = jax.lax.stop_gradient(mu2s)

    def objective(x):
        nu = dict(base)
        nu.update({k: x[i] for i, k in enumerate(names)})
        return measurement.twice_nll(mu2s_const, nu)

    x = damped_newton(objective, jnp.stack([base[k] for k in names]), lo, hi, n_steps)
    x = jax.lax.stop_gradient(x)
    nu_hat = dict(base)
    nu_hat.update({k: x[i] for i, k in enumerate(names)})
    return measurement.twice_nll(mu2s, nu_hat), nu_hat
