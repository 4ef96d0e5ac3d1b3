"""Summaries of posterior draws: credible upper limits with their Monte Carlo error,
highest-posterior-density regions in 2-D, per-beam mu^2 of the draws and the comparison
with the frequentist limits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.diagnostics import effective_sample_size

from .problem import PosteriorProblem, _mu2, _theta_from

if TYPE_CHECKING:
    from .sampling import PosteriorResult


def _ess_indicator(x, q):
    ind = (x <= q).astype(float)
    if np.all(ind == ind.flat[0]):
        return float(x.size)
    return float(effective_sample_size(ind))


def credible_upper_limits(result: PosteriorResult, level: float = 0.9) -> dict:
    """One-sided ``level`` credible upper limit of every modulus and nuisance:
    {name: {"value", "mcse"}}. The Monte Carlo error uses the ESS of the quantile indicator:
    ``mcse = (q(p + s) - q(p - s)) / 2``, ``s = sqrt(p (1 - p) / ESS_ind)``."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    out = {}
    for name in result.samples:
        if name in ("xi1", "xi3", "delta_cp", "chi2"):
            continue
        x = np.asarray(result.samples[name], float)
        q = float(np.quantile(x, level))
        ess = _ess_indicator(x, q)
        s = math.sqrt(level * (1 - level) / max(ess, 1.0))
        lo, hi = np.quantile(x, [max(level - s, 0.0), min(level + s, 1.0)])
        out[name] = {"value": q, "mcse": float(0.5 * (hi - lo)), "ess_indicator": ess}
    return out


@dataclass(frozen=True)
class CredibleRegion2D:
    """Highest-posterior-density regions on a histogram grid.

    ``density[iy, ix]`` (normalised to unit integral) on bin centres ``x``, ``y``;
    ``thresholds[level]`` the density above which the region of posterior probability
    ``level`` lies (the HPD set of bins).
    """

    x_edges: np.ndarray
    y_edges: np.ndarray
    density: np.ndarray
    thresholds: dict

    @property
    def x(self):
        return 0.5 * (self.x_edges[1:] + self.x_edges[:-1])

    @property
    def y(self):
        return 0.5 * (self.y_edges[1:] + self.y_edges[:-1])

    def padded(self):
        """(x, y, density) with the grid edges added (nearest-bin values), for contour plots
        that reach the edges of the range (e.g. a modulus' bound at zero)."""
        x = np.concatenate([[self.x_edges[0]], self.x, [self.x_edges[-1]]])
        y = np.concatenate([[self.y_edges[0]], self.y, [self.y_edges[-1]]])
        return x, y, np.pad(self.density, 1, mode="edge")

    def contains(self, x: float, y: float, level: float = 0.9) -> bool:
        """Whether (x, y) lies in the ``level`` HPD region (False outside the grid)."""
        ix = np.searchsorted(self.x_edges, x, side="right") - 1
        iy = np.searchsorted(self.y_edges, y, side="right") - 1
        if not (0 <= ix < self.density.shape[1] and 0 <= iy < self.density.shape[0]):
            return False
        return bool(self.density[iy, ix] >= self.thresholds[level])

    def area(self, level: float = 0.9) -> float:
        cell = np.outer(np.diff(self.y_edges), np.diff(self.x_edges))
        return float(np.sum(cell[self.density >= self.thresholds[level]]))


def credible_region_2d(x, y, levels=(0.5, 0.9), *, bins: int = 40, range=None,
                       smooth: float = 1.0) -> CredibleRegion2D:
    """HPD credible regions of the joint draws (x, y) on a ``bins`` x ``bins`` histogram.

    The histogram (optionally smoothed by a Gaussian of ``smooth`` bins, reflecting at the
    grid edges so that mass piled at a modulus' bound zero stays inside) is sorted by
    density; the region of level p is the set of highest-density bins holding fraction p.
    ``range`` defaults to [min, max] of the draws (lower end 0 for non-negative draws).
    """
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    if x.shape != y.shape or x.size < 10:
        raise ValueError(f"x and y need the same number (>= 10) of draws, got {x.size}, {y.size}")
    levels = tuple(float(p) for p in levels)
    if not all(0 < p < 1 for p in levels):
        raise ValueError(f"levels must be in (0, 1), got {levels!r}")
    if range is None:
        range = [(0.0 if v.min() >= 0 else v.min(), v.max()) for v in (x, y)]
    hist, xe, ye = np.histogram2d(x, y, bins=bins, range=range)
    hist = hist.T  # (ny, nx)
    if smooth:
        from scipy.ndimage import gaussian_filter

        hist = gaussian_filter(hist, smooth, mode="reflect")
    cell = np.outer(np.diff(ye), np.diff(xe))
    density = hist / (hist.sum() * cell)
    mass = (density * cell).ravel()
    order = np.argsort(density.ravel())[::-1]
    cum = np.cumsum(mass[order])
    thresholds = {}
    for p in levels:
        i = min(int(np.searchsorted(cum, p)), order.size - 1)
        thresholds[p] = float(density.ravel()[order[i]])
    return CredibleRegion2D(xe, ye, density, thresholds)


def derived_mu2(problem: PosteriorProblem, result: PosteriorResult) -> dict:
    """Per-beam mu_b^2 ((1e-10 mu_B)^2) of every draw: {measurement name: (chains, draws,
    n_beams)} (beams of all its channels in order), from the physics model the likelihood
    uses (:func:`cevns_jax.likelihood.physics_model.channel_mu2s`)."""
    values = {n: jnp.asarray(result.samples[n]) for n in problem.parameter_names}

    def one(vals):
        theta = _theta_from(problem, vals)
        return [_mu2(problem, m, theta) for m in problem.measurements]

    f = jax.jit(jax.vmap(jax.vmap(one)))
    out = f(values)
    return {m.name: np.asarray(v) for m, v in zip(problem.measurements, out)}


def compare_limits(result: PosteriorResult, frequentist: Mapping | None = None,
                   level: float = 0.9) -> list:
    """Rows {parameter, credible, mcse, frequentist..., ratio, prior_dominated}."""
    cred = credible_upper_limits(result, level)
    dominated = result.prior_dominated
    rows = []
    for name in result.parameters:
        if name not in cred:
            continue
        row = {"parameter": name, "credible": cred[name]["value"], "mcse": cred[name]["mcse"],
               "r_hat": result.diagnostics["parameters"][name]["r_hat"],
               "ess": result.diagnostics["parameters"][name]["ess"],
               "prior_dominated": dominated.get(name, False)}
        for label, lims in (frequentist or {}).items():
            row[label] = float(lims.get(name, float("nan")))
        rows.append(row)
    return rows


def format_comparison(rows: Sequence[Mapping]) -> str:
    """Markdown table of :func:`compare_limits` rows (units 1e-10 mu_B)."""
    if not rows:
        return ""
    freq = [k for k in rows[0] if k not in ("parameter", "credible", "mcse", "r_hat", "ess",
                                            "prior_dominated")]
    columns = (["parameter", "90% credible [1e-10 mu_B]", "MC error"]
               + [f"90% C.L. {k}" for k in freq] + ["R-hat", "ESS", "prior-dominated"])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = ([r["parameter"], f"{r['credible']:.4g}", f"{r['mcse']:.2g}"]
                 + [f"{r[k]:.4g}" for k in freq]
                 + [f"{r['r_hat']:.4f}", f"{r['ess']:.0f}",
                    "yes" if r["prior_dominated"] else "no"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
