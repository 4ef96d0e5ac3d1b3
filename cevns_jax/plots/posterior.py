"""Posterior figures: a corner plot of NUTS draws and the axis labels of the posterior's
parameters. Functions draw on a Figure they are given (or a new one); no backend choice."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["corner_plot", "parameter_label"]

_PHASES = ("xi1", "xi3", "delta_cp")
_LABELS = {"Lambda1": r"$|\Lambda_1|$", "Lambda2": r"$|\Lambda_2|$",
           "Lambda3": r"$|\Lambda_3|$", "mu_e": r"$\mu_{\nu_e}$",
           "mu_mu": r"$\mu_{\nu_\mu}$", "mu_tau": r"$\mu_{\nu_\tau}$",
           "xi1": r"$\xi_1$", "xi3": r"$\xi_3$", "delta_cp": r"$\delta_{CP}$"}


def parameter_label(name: str) -> str:
    """Axis label with units: moduli in 1e-10 mu_B, phases in rad, nuisances dimensionless."""
    if name in _LABELS and name not in _PHASES:
        return _LABELS[name] + r" [$10^{-10}\,\mu_B$]"
    if name in _PHASES:
        return _LABELS[name] + " [rad]"
    if "__" in name:            # a nuisance key, "<measurement>__<nuisance>"
        *owner, nuisance = name.split("__")
        return f"{nuisance} ({' '.join(owner).replace('_', ' ')})"
    return name


def corner_plot(result, names: Sequence[str] | None = None, *,
                levels=(0.5, 0.9), bins: int = 40, frequentist: Mapping | None = None,
                truth: Mapping | None = None, title: str | None = None, fig=None):
    """Corner plot (matplotlib only): marginal histograms with the 90 % credible limit
    (solid) and frequentist limits (dashed, one colour per entry of ``frequentist``
    {label: {name: value}}), 2-D HPD regions at ``levels`` (filled 90 %, line 50 %), the
    truth (red) when given. Moduli in units of 1e-10 mu_B. ``result``: a
    :class:`cevns_jax.inference.bayes.PosteriorResult` (its ``flat``,
    ``credible_upper_limits`` and ``credible_region_2d`` are used); ``fig``: the Figure to
    draw on (a new one otherwise). Returns the Figure."""
    import matplotlib.pyplot as plt

    names = list(names or result.parameters)
    for n in names:
        if n not in result.samples:
            raise KeyError(f"no parameter {n!r} in the result; have {sorted(result.samples)}")
    k = len(names)
    if fig is None:
        fig = plt.figure(figsize=(2.3 * k + 1, 2.3 * k + 0.5))
    axes = fig.subplots(k, k, squeeze=False)
    cred = result.credible_upper_limits(0.9)
    colours = ["tab:orange", "tab:green", "tab:purple", "tab:brown"]
    ranges = {}
    for n in names:
        x = result.flat(n)
        if n in _PHASES:
            ranges[n] = (0.0, 2 * np.pi)
        else:
            lo = 0.0 if x.min() >= 0 else x.min()
            ranges[n] = (lo, x.max())
    for i, ni in enumerate(names):
        for j, nj in enumerate(names):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(result.flat(ni), bins=bins, range=ranges[ni], density=True,
                        histtype="step", color="k")
                if ni in cred and ni not in _PHASES:
                    ax.axvline(cred[ni]["value"], color="tab:blue", lw=1.5,
                               label="90% credible")
                for c, (lab, lims) in enumerate((frequentist or {}).items()):
                    v = lims.get(ni, float("nan"))
                    if np.isfinite(v):
                        ax.axvline(v, color=colours[c % len(colours)], ls="--", lw=1.3,
                                   label=f"90% C.L. ({lab})")
                if truth and ni in truth:
                    ax.axvline(truth[ni], color="red", lw=1.0, label="truth")
                ax.set_yticks([])
                ax.set_xlim(ranges[ni])
            else:
                region = result.credible_region_2d(nj, ni, levels, bins=bins,
                                                   range=[ranges[nj], ranges[ni]])
                hi = max(levels)
                gx, gy, dens = region.padded()
                ax.contourf(gx, gy, dens, levels=[region.thresholds[hi], np.inf],
                            colors=["tab:blue"], alpha=0.35)
                ax.contour(gx, gy, dens,
                           levels=sorted(region.thresholds[p] for p in levels),
                           colors=["tab:blue"], linewidths=1.0)
                if truth and ni in truth and nj in truth:
                    ax.plot(truth[nj], truth[ni], "r*", ms=9)
                ax.set_xlim(ranges[nj])
                ax.set_ylim(ranges[ni])
            if i == k - 1:
                ax.set_xlabel(parameter_label(nj))
            else:
                ax.set_xticklabels([])
            if i > j and j == 0:
                ax.set_ylabel(parameter_label(ni))
            elif i > j:
                ax.set_yticklabels([])
    handles, labels = axes[0, 0].get_legend_handles_labels()
    extra_h = [plt.Rectangle((0, 0), 1, 1, color="tab:blue", alpha=0.35)]
    extra_l = [f"{int(100 * max(levels))}% HPD region (line: {int(100 * min(levels))}%)"]
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.08, top=0.94, hspace=0.08, wspace=0.08)
    # the empty upper-right triangle holds the legend
    fig.legend(handles + extra_h, labels + extra_l, loc="upper right",
               bbox_to_anchor=(0.97, 0.9), fontsize=9, frameon=False)
    fig.suptitle(title or f"Posterior: {result.problem.get('model', '')} model, "
                 + " + ".join(m["name"] for m in result.problem.get("measurements", [])),
                 fontsize=11)
    return fig
