"""Outputs of parameter-space scans: C.L. levels, 1-D limits (with the crossing refined
between grid points), contours, CP-phase envelopes and plots.

A limit read off a coarse grid by linear interpolation can be wrong by orders of magnitude
(Delta chi^2 is far from linear in a modulus), so :func:`refine_limit` re-evaluates the
profile on finer sub-grids inside the bracketing grid step, with the other axes profiled over
the same grid as the scan; when that is too costly it reports the bracket itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scan_io import AXIS_LABELS, ScanResult
from .scan_run import evaluate_points


def delta_chi2_level(cl=0.9, dof=1) -> float:
    """Delta chi^2 threshold of a C.L. for ``dof`` parameters (2.71 / 4.61 at 90 %, dof 1 / 2)."""
    from scipy.stats import chi2

    if not 0.0 < cl < 1.0:
        raise ValueError(f"cl must be in (0, 1), got {cl!r}")
    if not (isinstance(dof, int) and dof >= 1):
        raise ValueError(f"dof must be a positive integer, got {dof!r}")
    return float(chi2.ppf(cl, dof))


def profile_limit(x, delta, level=2.71):
    """Upper limit from a 1-D Delta chi^2 profile: the last upward crossing of ``level``,
    linearly interpolated; NaN if the profile never exceeds ``level``."""
    x = np.asarray(x, float)
    d = np.asarray(delta, float)
    above = d > level
    if not above.any():
        return float("nan")
    i = len(d) - 1
    while i > 0 and above[i]:
        i -= 1
    if above[i]:
        return float(x[0])
    j = i + 1
    return float(x[i] + (level - d[i]) * (x[j] - x[i]) / (d[j] - d[i]))


def region_contours(result: ScanResult, x: str, y: str, *, cl=0.9, dof=2, level=None, delta=None):
    """Contour lines of the 2-D profile in the (x, y) plane at a C.L. (default 90 %, 2 dof:
    4.61, as in paper 000 Figs. 4-7); ``delta`` overrides the map (shape (n_x, n_y))."""
    from .limits import contour_lines

    level = delta_chi2_level(cl, dof) if level is None else float(level)
    z = result.profile(x, y) if delta is None else np.asarray(delta)
    return contour_lines(result.axes[x], result.axes[y], z.T, level)


def phase_extremes(result: ScanResult, x: str, y: str, phases=("xi1", "xi3", "delta_cp")):
    """Worst and best case over the CP phases (paper 000 Fig. 7, Sect. 5): for each (x, y),
    Delta chi^2 minimised over the other moduli, then min (worst case: the phases that hide
    the moments best, largest allowed region) and max (best case) over the phase axes.
    Needs the scan to keep (x, y, *phases) or store values. Returns (worst, best), (n_x, n_y)."""
    phases = tuple(p for p in phases if p in result.axes and len(result.axes[p]) > 1)
    cube = result.profile(x, y, *phases)
    axes = tuple(range(2, 2 + len(phases)))
    return cube.min(axis=axes), cube.max(axis=axes)


def plot_profiles(result: ScanResult, names=("lambda1", "lambda2", "lambda3"), ax=None, cl=0.9):
    """1-D Delta chi^2 profiles with the C.L. line (units 1e-10 mu_B for moduli)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    for n in names:
        ax.plot(result.axes[n], result.profile(n), label=AXIS_LABELS[n].split(" [")[0])
    ax.axhline(delta_chi2_level(cl, 1), color="k", ls=":", label=f"{100 * cl:.0f}% C.L. (1 dof)")
    ax.set_xlabel(r"$|\Lambda_i|$ [$10^{-10}\,\mu_B$]" if all(n.startswith("lambda") for n in names)
                  else AXIS_LABELS[names[0]])
    ax.set_ylabel(r"$\Delta\chi^2$")
    ax.legend()
    return ax


def plot_regions(result: ScanResult, x: str, y: str, maps: dict, ax=None, cl=0.9, dof=2):
    """Draw the C.L. contour of each Delta chi^2 map in ``maps`` ({label: (n_x, n_y)})."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    level = delta_chi2_level(cl, dof)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, z) in enumerate(maps.items()):
        lines = region_contours(result, x, y, level=level, delta=z)
        for k, line in enumerate(lines):
            ax.plot(line[:, 0], line[:, 1], color=colours[i % len(colours)],
                    label=label if k == 0 else None)
    ax.set_xlabel(AXIS_LABELS[x])
    ax.set_ylabel(AXIS_LABELS[y])
    ax.set_title(f"{100 * cl:.0f}% C.L. ({dof} dof)")
    ax.legend(fontsize="small")
    return ax


@dataclass(frozen=True)
class Limit:
    """A 1-D upper limit: ``status`` is ``"refined"`` (``value`` is the crossing, refined
    between grid points to ``bracket``), ``"bracket"`` (the crossing lies in ``bracket``; too
    costly to refine), ``"not_reached"`` (Delta chi^2 stays below the level on the whole axis
    ``bracket`` = [lo, hi]) or ``"below_grid"`` (already above the level at the first value)."""

    status: str
    value: float
    bracket: tuple

    def describe(self, unit="") -> str:
        lo, hi = self.bracket
        if self.status == "refined":
            return f"< {self.value:.4g}{unit}"
        if self.status == "bracket":
            return (f"< somewhere in [{lo:.4g}, {hi:.4g}]{unit} (grid too coarse; use a finer "
                    "axis)")
        if self.status == "not_reached":
            return f"not reached within [{lo:.4g}, {hi:.4g}]{unit}"
        return f"<= {lo:.4g}{unit} (above the level at the first grid value)"


def _bracket(x, d, level):
    """Indices (i, i + 1) around the last upward crossing, or a status string."""
    above = d > level
    if not above.any():
        return "not_reached"
    i = len(d) - 1
    while i > 0 and above[i]:
        i -= 1
    if above[i]:
        return "below_grid"
    return i, i + 1


def refine_limit(model, grid, name, level, chi2_min, *, path="template", n_sub=33, rtol=1e-6,
                 max_rounds=16, max_points=2_000_000, profile=None):
    """Upper limit on axis ``name`` of a scanned ``grid``: bracket the last upward crossing of
    ``level`` on the grid profile, then evaluate the profile (min over the other axes' grid
    values, minus ``chi2_min``) at ``n_sub`` points across the bracket and keep the sub-step
    that crosses, until the bracket is narrower than ``rtol`` times its upper end (at most
    ``max_rounds`` rounds); linear interpolation in the last sub-step. Skipped (status
    ``"bracket"``) when a round would exceed ``max_points`` evaluations.
    ``profile``: the scan's 1-D Delta chi^2 on the axis (else computed on the grid).
    Returns a :class:`Limit`."""
    x = np.asarray(grid[name], dtype=np.float64)
    others = {n: np.asarray(v) for n, v in grid.items() if n != name}
    n_other = int(np.prod([len(v) for v in others.values()]))

    def prof(values):
        mesh = [np.repeat(values, n_other)] + [
            np.tile(m.ravel(), len(values))
            for m in np.meshgrid(*others.values(), indexing="ij")]
        points = dict(zip([name] + list(others), mesh))
        chi2 = evaluate_points(model, points, path=path)
        return chi2.reshape(len(values), n_other).min(axis=1) - chi2_min

    d = prof(x) if profile is None else np.asarray(profile, dtype=np.float64)
    found = _bracket(x, d, level)
    if found == "not_reached":
        return Limit("not_reached", float("nan"), (float(x[0]), float(x[-1])))
    if found == "below_grid":
        return Limit("below_grid", float(x[0]), (float(x[0]), float(x[0])))
    lo, hi = float(x[found[0]]), float(x[found[1]])
    d_lo, d_hi = float(d[found[0]]), float(d[found[1]])
    if n_sub * n_other > max_points:
        return Limit("bracket", float("nan"), (lo, hi))
    for _ in range(max_rounds):
        if hi - lo <= rtol * abs(hi):
            break
        xs = np.linspace(lo, hi, n_sub)
        ds = prof(xs)
        ds[0], ds[-1] = min(ds[0], level), max(ds[-1], np.nextafter(level, np.inf))
        k = int(np.nonzero(ds <= level)[0].max())
        k = min(k, n_sub - 2)
        lo, hi, d_lo, d_hi = float(xs[k]), float(xs[k + 1]), float(ds[k]), float(ds[k + 1])
    value = lo + (level - d_lo) * (hi - lo) / (d_hi - d_lo) if d_hi > d_lo else lo
    return Limit("refined", float(value), (lo, hi))
