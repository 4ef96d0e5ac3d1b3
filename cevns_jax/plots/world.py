"""The world table of magnetic-moment limits as one figure."""

from __future__ import annotations

import numpy as np

#: Quantities drawn, with their labels.
QUANTITIES = {"limit_mu_nue": r"$\mu_{\nu_e}$", "limit_mu_numu": r"$\mu_{\nu_\mu}$",
              "limit_lambda1": r"$|\Lambda_1|$", "limit_lambda2": r"$|\Lambda_2|$",
              "limit_lambda3": r"$|\Lambda_3|$", "limit_mu_eff": r"$\mu_{\rm eff}$",
              "limit_mu_nuebar_combined_fef": r"$\mu_{\bar\nu_e}$"}
_MARKERS = "os^vD*P"


def world_limits(ax, rows):
    """90% C.L. limits (10^-10 mu_B, log scale) per data set: filled markers ours, open
    markers the published value where a row has one. ``rows`` follow the results contract."""
    rows = [r for r in rows if r["quantity"] in QUANTITIES and r["unit"] == "1e-10 mu_B"
            and np.isfinite(r["computed"]) and "toys" not in r["method"]]
    sets = list(dict.fromkeys(r["analysis"] for r in rows))
    for k, (quantity, label) in enumerate(QUANTITIES.items()):
        mine = [r for r in rows if r["quantity"] == quantity]
        if not mine:
            continue
        y = np.array([sets.index(r["analysis"]) for r in mine]) + 0.1 * (k - 3)
        ax.scatter([r["computed"] for r in mine], y, marker=_MARKERS[k], label=label)
        published = [(r["published"], yi) for r, yi in zip(mine, y) if r["published"]]
        if published:
            ax.scatter(*zip(*published), marker=_MARKERS[k], facecolors="none",
                       edgecolors="k", label=f"{label} published")
    ax.set_xscale("log")
    ax.set_yticks(range(len(sets)), sets)
    ax.set_xlabel(r"90% C.L. upper limit [$10^{-10}\,\mu_B$]")
    ax.grid(alpha=0.3, which="both", axis="x")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return ax


#: Axis labels of the 2-D regions (units 1e-10 mu_B).
_AXES = {"lambda1": r"$|\Lambda_1|$", "lambda2": r"$|\Lambda_2|$", "lambda3": r"$|\Lambda_3|$",
         "mu_e": r"$\mu_{\nu_e}$", "mu_mu": r"$\mu_{\nu_\mu}$"}


def regions_figure(regions: dict, level: float = 4.61):
    """One panel per parameter plane with the Delta(-2 ln L) = ``level`` contour (90% C.L.,
    two parameters) of every data set; ``regions`` as returned by
    :func:`cevns_jax.results.global_fit.regions`."""
    import matplotlib.pyplot as plt

    planes = list(dict.fromkeys(p for planes in regions.values() for p in planes))
    fig, axes = plt.subplots(1, len(planes), figsize=(3.6 * len(planes), 3.6), squeeze=False)
    for ax, plane in zip(axes[0], planes):
        x_name, y_name = plane.split("/")
        for k, (label, found) in enumerate(regions.items()):
            if plane not in found:
                continue
            r = found[plane]
            delta = np.asarray(r["delta"], dtype=float)
            ax.contour(r["x"], r["y"], delta.T, levels=[level], colors=f"C{k}")
            ax.plot([], [], color=f"C{k}", label=label.replace("+", " + "))
        ax.set_xlabel(f"{_AXES[x_name]} [$10^{{-10}}\\,\\mu_B$]")
        ax.set_ylabel(f"{_AXES[y_name]} [$10^{{-10}}\\,\\mu_B$]")
        ax.set_xscale("symlog", linthresh=1e-2)
        ax.set_yscale("symlog", linthresh=1e-2)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=len(labels))
    fig.suptitle(r"90% C.L. regions ($\Delta(-2\ln L) = 4.61$), other moments and phases "
                 "profiled", fontsize=9)
    fig.tight_layout(rect=(0.0, 0.08, 1.0, 1.0))
    return fig
