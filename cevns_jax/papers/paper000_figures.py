"""Figures 1-8 of paper 000, computed with :mod:`cevns_jax.papers.paper000` and drawn with matplotlib.

Every function returns the matplotlib Figure; :func:`make_all` writes them as PNG. Moments
are in units of 1e-10 mu_B (the paper's convention).
"""

from __future__ import annotations

import os
from dataclasses import replace

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from .. import moments
from ..materials import ELEMENTS
from .paper000 import (BOREXINO_MU_LIMIT, REACTORS, SNS_DETECTORS, Paper000Options,
                       borexino_pe1, delta_chi2_points, single_parameter_limits)
from ..physics.quenching import lindhard, lindhard_kappa

UNIT = r"$[10^{-10}\,\mu_B]$"
PAIRS = ((0, 1), (0, 2), (1, 2))
COLOURS = dict(zip(SNS_DETECTORS + REACTORS,
                   ["tab:blue", "tab:orange", "tab:green", "tab:red",
                    "tab:purple", "tab:brown", "tab:pink", "tab:gray", "tab:olive"]))


def _label(i):
    return rf"$|\Lambda_{i + 1}|$ " + UNIT


def _short(name):
    return name.replace("COHERENT-", "")


def figure1_quenching():
    """Fig. 1: Lindhard quenching factor (paper 000 Eq. 27) of each detector nucleus."""
    fig, ax = plt.subplots(figsize=(6, 4))
    recoil_kev = np.logspace(-2, 2, 300)
    for element in ("Si", "Na", "Ar", "Ge", "I", "Cs", "Xe"):
        iso = max(ELEMENTS[element], key=lambda i: i.abundance)
        q = lindhard(jnp.asarray(recoil_kev * 1e-3), iso.Z, lindhard_kappa(iso.Z, iso.A))
        ax.plot(recoil_kev, q, label=f"{element} (Z={iso.Z})")
    ax.set_xscale("log")
    ax.set_xlabel(r"nuclear recoil energy $T_A$ [keV]")
    ax.set_ylabel(r"quenching factor $Q(T_A)$")
    ax.set_title("Fig. 1: Lindhard quenching (paper 000 Eq. 27)")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _delta_map(counts, group, moduli, options, xi1=0.0, xi3=0.0, osc=None):
    """Delta chi^2 at the moduli points (..., 3), relative to its smallest value there."""
    if osc is not None:
        options = replace(options, osc=osc, delta_cp=osc.delta_cp)
    values = delta_chi2_points(counts, group, options, moduli, xi1, xi3)
    return values - values.min()


def _delta_chi2_curve(counts, group, index, options, x):
    return _delta_map(counts, group, np.outer(x, np.eye(3)[index]), options)


def figure2_profiles(counts, options):
    """Fig. 2: Delta chi^2 versus |Lambda_i| (others and phases zero), current setups."""
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for col in range(3):
        x = np.linspace(0.0, 120.0, 241)
        for det in SNS_DETECTORS:
            for group, style in (("SNS prompt", "-"), ("SNS delayed", "--")):
                axes[0, col].plot(x, _delta_chi2_curve(counts[(det, "current")], group, col,
                                                       options, x), style, color=COLOURS[det],
                                  label=f"{_short(det)} {group.split()[1]}")
        x = np.linspace(0.0, 6.0, 241)
        for det in REACTORS:
            axes[1, col].plot(x, _delta_chi2_curve(counts[(det, "current")], "reactor", col,
                                                   options, x), color=COLOURS[det], label=det)
        for row in range(2):
            ax = axes[row, col]
            ax.axhline(2.71, color="k", lw=0.8, ls=":")
            ax.set_ylim(0, 6)
            ax.set_xlabel(_label(col))
            ax.set_ylabel(r"$\Delta\chi^2$")
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=2)
    axes[1, 0].legend(fontsize=7)
    fig.suptitle("Fig. 2: $\\Delta\\chi^2$ profiles, current setups "
                 "(top: SNS, solid prompt / dashed delayed; bottom: reactors); dotted: 90% C.L.")
    fig.tight_layout()
    return fig


def figure3_luminosity(counts, options, scales=None):
    """Fig. 3: 90% C.L. limits versus the luminosity scaling F'/F (current setups, Asimov)."""
    scales = np.logspace(0, 2, 9) if scales is None else np.asarray(scales)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for row, (dets, group) in enumerate(((SNS_DETECTORS, "SNS prompt"), (REACTORS, "reactor"))):
        for col in range(3):
            ax = axes[row, col]
            for det in dets:
                base = counts[(det, "current")]
                lim = [single_parameter_limits(base.scaled(s), [(group, col)], options,
                                               asimov=True)[0] for s in scales]
                ax.plot(scales, lim, "o-", ms=3, color=COLOURS[det], label=_short(det))
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(r"luminosity scaling $\mathcal{F}'/\mathcal{F}$")
            ax.set_ylabel("90% C.L. limit on " + _label(col))
            ax.grid(alpha=0.3, which="both")
        axes[row, 0].legend(fontsize=8)
    fig.suptitle("Fig. 3: limits versus luminosity (top: SNS prompt, bottom: reactors; "
                 "Asimov, Eq. 35)")
    fig.tight_layout()
    return fig


def _region_map(counts, group, pair, options, extent, xi=0.0, delta_cp=None, n=161):
    """Delta chi^2 on an n x n grid of (|Lambda_i|, |Lambda_j|), the third modulus zero.

    The phase ``xi`` is the one that couples Lambda_i and Lambda_j (xi_3 for (1,2),
    xi_2 = xi_1 - xi_3 for (1,3), xi_1 for (2,3)); ``delta_cp`` overrides the options'.
    """
    i, j = pair
    osc = options.oscillation if delta_cp is None else options.osc._replace(delta_cp=delta_cp)
    xi1, xi3 = {(0, 1): (0.0, xi), (0, 2): (xi, 0.0), (1, 2): (xi, 0.0)}[pair]
    axis = np.linspace(0.0, extent, n)
    X, Y = np.meshgrid(axis, axis)
    moduli = np.zeros(X.shape + (3,))
    moduli[..., i], moduli[..., j] = X, Y
    return axis, _delta_map(counts, group, moduli, options, xi1, xi3, osc)


def _crop(ax, axis, maps, level=4.61):
    """Zoom the axes onto the union of the allowed regions (Delta chi^2 <= level)."""
    reach_x = max(axis[np.any(m <= level, axis=0)].max() for m in maps)
    reach_y = max(axis[np.any(m <= level, axis=1)].max() for m in maps)
    ax.set_xlim(0, 1.15 * reach_x)
    ax.set_ylim(0, 1.15 * reach_y)


def _regions_panel(ax, items, pair, options, extent, group_of):
    maps = []
    for det, counts in items:
        axis, delta = _region_map(counts, group_of(det), pair, options, extent)
        ax.contour(axis, axis, delta, levels=[4.61], colors=[COLOURS[det]])
        ax.plot([], [], color=COLOURS[det], label=_short(det))
        maps.append(delta)
    _crop(ax, axis, maps)
    ax.set_xlabel(_label(pair[0]))
    ax.set_ylabel(_label(pair[1]))
    ax.grid(alpha=0.3)


def _regions_figure(rows, options, title):
    """rows: list of (row title, items [(det, counts)], group_of, extent)."""
    fig, axes = plt.subplots(len(rows), 3, figsize=(13, 4.2 * len(rows)), squeeze=False)
    for r, (row_title, items, group_of, extent) in enumerate(rows):
        for c, pair in enumerate(PAIRS):
            _regions_panel(axes[r, c], items, pair, options, extent, group_of)
            axes[r, c].set_title(row_title, fontsize=9)
        axes[r, 0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _extent(counts_list, group_of, options, factor):
    return factor * max(single_parameter_limits(c, [(group_of(c.name), i) for i in range(3)],
                                                options).max() for c in counts_list)


def figure_sns_regions(counts, options, setup):
    """Figs. 4 (current) and 5 (future): 90% C.L. regions (Delta chi^2 = 4.61), SNS."""
    rows = []
    for group in ("SNS delayed", "SNS prompt"):
        items = [(det, counts[(det, setup)]) for det in SNS_DETECTORS]
        extent = _extent([c for _, c in items], lambda _: group, options, 3.0)
        rows.append((f"{group}, {setup} setup", items, lambda _, g=group: g, extent))
    number = 4 if setup == "current" else 5
    return _regions_figure(rows, options, f"Fig. {number}: 90% C.L. regions, SNS {setup} "
                           "setups (third modulus and phases zero)")


def figure6_reactor_regions(counts, options):
    """Fig. 6: 90% C.L. regions of the reactor experiments, current (top) and future."""
    rows = []
    for setup in ("current", "future"):
        items = [(det, counts[(det, setup)]) for det in REACTORS]
        extent = _extent([c for _, c in items], lambda _: "reactor", options, 8.0)
        rows.append((f"reactors, {setup} setup", items, lambda _: "reactor", extent))
    return _regions_figure(rows, options, "Fig. 6: 90% C.L. regions, reactor experiments "
                           "(third modulus and phases zero)")


PHASE_CHOICES = ((0.0, 0.0, "-"), (0.0, np.pi, "--"), (np.pi, 0.0, "-."), (np.pi, np.pi, ":"))


def figure7_phases(counts, options):
    """Fig. 7: 90% C.L. regions for several CP-phase choices: COHERENT CsI prompt (current)
    and CONNIE (current)."""
    fig, axes = plt.subplots(2, 3, figsize=(13, 8.4))
    for row, (det, group, factor) in enumerate((("COHERENT-CsI", "SNS prompt", 3.0),
                                                ("CONNIE", "reactor", 8.0))):
        base = counts[(det, "current")]
        extent = factor * single_parameter_limits(base, [(group, i) for i in range(3)],
                                                  options).max()
        for col, pair in enumerate(PAIRS):
            ax = axes[row, col]
            maps = []
            for xi, dcp, style in PHASE_CHOICES:
                axis, delta = _region_map(base, group, pair, options, extent, xi, dcp)
                ax.contour(axis, axis, delta, levels=[4.61], colors="k", linestyles=style)
                ax.plot([], [], "k" + style, label=rf"$\xi_k$={xi:.2g}, $\delta_{{CP}}$={dcp:.2g}")
                maps.append(delta)
            _crop(ax, axis, maps)
            ax.set_xlabel(_label(pair[0]))
            ax.set_ylabel(_label(pair[1]))
            ax.set_title(f"{_short(det)} {group.split()[-1]}, current", fontsize=9)
            ax.grid(alpha=0.3)
        axes[row, 0].legend(fontsize=7)
    fig.suptitle("Fig. 7: 90% C.L. regions for CP-phase choices (third modulus zero)")
    fig.tight_layout()
    return fig


def figure8_borexino(options):
    """Fig. 8: |Lambda_i|-|Lambda_j| regions allowed by mu_sol < 2.8e-11 mu_B (Eq. 38)."""
    pe1 = borexino_pe1(options.osc)
    coef = np.asarray(moments.solar_coefficients(pe1, options.osc))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    t = np.linspace(0, np.pi / 2, 200)
    for ax, (i, j) in zip(axes, PAIRS):
        x = BOREXINO_MU_LIMIT / np.sqrt(coef[i]) * np.cos(t)
        y = BOREXINO_MU_LIMIT / np.sqrt(coef[j]) * np.sin(t)
        ax.fill(np.append(x, 0), np.append(y, 0), alpha=0.3, color="tab:blue",
                label=r"allowed, $\mu_{\nu,sol} < 2.8\times10^{-11}\mu_B$")
        ax.plot(x, y, color="tab:blue")
        ax.set_xlabel(_label(i))
        ax.set_ylabel(_label(j))
        ax.set_xlim(0, 0.5)
        ax.set_ylim(0, 0.5)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Fig. 8: Borexino 90% C.L. regions through Eq. (38), $P_{{e1}}^{{2\\nu}}$ = {pe1:.3f}")
    fig.tight_layout()
    return fig


def make_all(counts, options: Paper000Options, output_dir, scales=None, progress=None) -> list:
    """Write fig1..fig8 PNGs into ``output_dir``; returns the paths."""
    os.makedirs(output_dir, exist_ok=True)
    makers = {
        "fig1_quenching.png": lambda: figure1_quenching(),
        "fig2_delta_chi2.png": lambda: figure2_profiles(counts, options),
        "fig3_luminosity.png": lambda: figure3_luminosity(counts, options, scales),
        "fig4_sns_current_regions.png": lambda: figure_sns_regions(counts, options, "current"),
        "fig5_sns_future_regions.png": lambda: figure_sns_regions(counts, options, "future"),
        "fig6_reactor_regions.png": lambda: figure6_reactor_regions(counts, options),
        "fig7_cp_phases.png": lambda: figure7_phases(counts, options),
        "fig8_borexino.png": lambda: figure8_borexino(options),
    }
    paths = []
    for name, make in makers.items():
        fig = make()
        path = os.path.join(output_dir, name)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
        if progress is not None:
            progress(name)
    return paths

