"""Figures 1-8 of paper 000, computed with :mod:`cevns_jax.papers.paper000` and drawn with
matplotlib.

Every function returns the matplotlib Figure; :func:`make_all` writes them as PNG. Moments
are in units of 1e-10 mu_B (the paper's convention). docs/figures.md describes each figure
and where it departs from the paper's drawing.
"""

from __future__ import annotations

import os
from dataclasses import replace

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from .. import moments
from ..materials import ELEMENTS
from ..analyses.paper000_counting import EQ34_DATA, eq34_measurement
from ..inference.profile_grid import upper_limits
from .paper000 import (BEAM_GROUPS, BOREXINO_MU_LIMIT, LIMIT_RTOL, LIMIT_SEARCH_MAX, REACTORS,
                       SNS_DETECTORS, Paper000Options, borexino_pe1, delta_chi2_points, model,
                       single_parameter_limits)
from ..physics.quenching import lindhard, lindhard_kappa

UNIT = r"$[10^{-10}\,\mu_B]$"
PAIRS = ((0, 1), (0, 2), (1, 2))
PARAMETER_NAMES = ("lambda1", "lambda2", "lambda3")
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


def _delta_chi2_curve(counts, group, index, options, x):
    """Delta chi^2 along |Lambda_index| = x, relative to its smallest value there."""
    values = delta_chi2_points(counts, group, options, np.outer(x, np.eye(3)[index]))
    return values - values.min()


def figure2_profiles(counts, options):
    """Fig. 2: Delta chi^2 versus |Lambda_i| (others and phases zero), current setups.

    Horizontal lines: Delta chi^2 = 1 (1 sigma) and 2.71 (90% C.L., one parameter). Upper
    panels: the shaded band of each SNS detector spans its two 90% C.L. limits (delayed to
    prompt, Table II), the paper's "color bands [that] indicate the limits expected from
    each SNS experiment" (caption of Fig. 2).
    """
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.4))
    for col in range(3):
        x = np.linspace(0.0, 120.0, 241)
        for det in SNS_DETECTORS:
            base = counts[(det, "current")]
            for group, style in (("SNS prompt", "-"), ("SNS delayed", "--")):
                axes[0, col].plot(x, _delta_chi2_curve(base, group, col, options, x), style,
                                  color=COLOURS[det])
            limits = single_parameter_limits(base, [("SNS prompt", col), ("SNS delayed", col)],
                                             options)
            axes[0, col].axvspan(min(limits), max(limits), color=COLOURS[det], alpha=0.15,
                                 lw=0)
        x = np.linspace(0.0, 6.0, 241)
        for det in REACTORS:
            axes[1, col].plot(x, _delta_chi2_curve(counts[(det, "current")], "reactor", col,
                                                   options, x), color=COLOURS[det])
        for row in range(2):
            ax = axes[row, col]
            for level, _, style in LEVELS_1DOF:
                ax.axhline(level, color="k", lw=0.8, ls=style)
            ax.set_ylim(0, 6)
            ax.set_xlabel(_label(col))
            ax.set_ylabel(r"$\Delta\chi^2$")
            ax.grid(alpha=0.3)
    sns = [plt.Line2D([], [], color=COLOURS[d], label=_short(d)) for d in SNS_DETECTORS]
    sns += [plt.Line2D([], [], color="0.4", ls=s, label=g) for g, s in
            (("prompt", "-"), ("delayed", "--"))]
    sns += [plt.Rectangle((0, 0), 1, 1, color="0.4", alpha=0.15,
                          label="90% C.L. limits (delayed-prompt)")]
    reactors = [plt.Line2D([], [], color=COLOURS[d], label=d) for d in REACTORS]
    reactors += [plt.Line2D([], [], color="k", lw=0.8, ls=s, label=t) for _, t, s in LEVELS_1DOF]
    axes[0, 2].legend(handles=sns, fontsize=7, loc="upper right")
    axes[1, 2].legend(handles=reactors, fontsize=7, loc="upper right")
    fig.suptitle("Fig. 2: $\\Delta\\chi^2$ profiles, current setups "
                 "(top: SNS; bottom: reactors)")
    fig.tight_layout()
    return fig


def _csi_eq34_limits(counts, factor, options):
    """Eq. (34) limits on |Lambda_1..3| for COHERENT CsI at luminosity x ``factor``: the
    measured counts and both backgrounds scale with the luminosity (the 2017 result
    extrapolated), so that factor = 1 is the Table II entry."""
    data = {**EQ34_DATA, **{k: EQ34_DATA[k] * factor for k in ("n_meas", "b_0n", "b_ss")}}
    scaled = counts.scaled(factor)
    m = eq34_measurement(f"{counts.name}:{counts.setup}", scaled.flavours, scaled.beams,
                         scaled.sm, scaled.em, BEAM_GROUPS["SNS prompt"], data)
    found = upper_limits(m, model(options), PARAMETER_NAMES, upper=LIMIT_SEARCH_MAX,
                         rtol=LIMIT_RTOL)
    return [found[name].value for name in PARAMETER_NAMES]


def _luminosity_limits(counts, det, group, scales, options):
    """(n_scales, 3) limits on |Lambda_1..3| of one detector at each luminosity scaling."""
    if det == "COHERENT-CsI":
        return np.array([_csi_eq34_limits(counts, s, options) for s in scales])
    return np.array([single_parameter_limits(counts.scaled(s), [(group, i) for i in range(3)],
                                             options, asimov=True) for s in scales])


def figure3_luminosity(counts, options, scales=None):
    """Fig. 3: 90% C.L. limits versus the luminosity scaling F'/F (current setups).

    The statistic is Table II's: Eq. (34) for COHERENT CsI (:func:`_csi_eq34_limits`),
    Eq. (35) on Asimov data for the others. The CsI curve is nearly flat (|Lambda_1| < 71.7,
    68.9, 68.6 at F'/F = 1, 10, 100): with the data scaled, Eq. (34) is limited by its 28%
    signal and 25% background normalisations, not by statistics. (Eq. 35 on Asimov data would
    give 33.1, 18.6, 10.5: not the statistic of Table II's CsI row.)"""
    scales = np.logspace(0, 2, 9) if scales is None else np.asarray(scales)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for row, (dets, group) in enumerate(((SNS_DETECTORS, "SNS prompt"), (REACTORS, "reactor"))):
        for det in dets:
            lim = _luminosity_limits(counts[(det, "current")], det, group, scales, options)
            for col in range(3):
                axes[row, col].plot(scales, lim[:, col], "o-", ms=3, color=COLOURS[det],
                                    label=_short(det) + (" (Eq. 34)" if det == "COHERENT-CsI"
                                                         else ""))
        for col in range(3):
            ax = axes[row, col]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(r"luminosity scaling $\mathcal{F}'/\mathcal{F}$")
            ax.set_ylabel("90% C.L. limit on " + _label(col))
            ax.grid(alpha=0.3, which="both")
        axes[row, 0].legend(fontsize=8)
    fig.suptitle("Fig. 3: limits versus luminosity (top: SNS prompt, bottom: reactors); "
                 "Asimov Eq. 35, CsI: Eq. 34 with data scaled")
    fig.tight_layout()
    return fig


#: Delta chi^2 of the 2-d.o.f. 90% C.L. regions (Figs. 4-7) and of the 1-d.o.f. lines (Fig. 2).
REGION_LEVEL = 4.61
LEVELS_1DOF = ((1.0, r"1$\sigma$ ($\Delta\chi^2$ = 1)", "--"),
               (2.71, r"90% C.L. ($\Delta\chi^2$ = 2.71)", ":"))


def _pair_phases(pair, xi):
    """(xi1, xi3) for the phase ``xi`` that couples the pair: xi_3 for (1,2),
    xi_2 = xi_1 - xi_3 for (1,3), xi_1 for (2,3) (paper 000, below Eq. 11)."""
    return {(0, 1): (0.0, xi), (0, 2): (xi, 0.0), (1, 2): (xi, 0.0)}[pair]


def _region_map(counts, group, pair, options, x, y, xi=0.0, delta_cp=None):
    """chi^2 - chi^2(no moment) on the grid x (|Lambda_i|) times y (|Lambda_j|), the third
    modulus zero; rows follow y. ``delta_cp`` overrides the options'."""
    i, j = pair
    osc = options.oscillation if delta_cp is None else options.osc._replace(delta_cp=delta_cp)
    X, Y = np.meshgrid(x, y)
    moduli = np.zeros(X.shape + (3,))
    moduli[..., i], moduli[..., j] = X, Y
    xi1, xi3 = _pair_phases(pair, xi)
    opts = replace(options, osc=osc, delta_cp=osc.delta_cp)
    return delta_chi2_points(counts, group, opts, moduli, xi1, xi3)


def _reach(x, y, delta, level=REGION_LEVEL):
    """Largest |Lambda_i| and |Lambda_j| of the grid points inside the region, plus one cell."""
    inside = delta <= level
    ix = min(int(np.nonzero(np.any(inside, axis=0))[0].max()) + 1, x.size - 1)
    iy = min(int(np.nonzero(np.any(inside, axis=1))[0].max()) + 1, y.size - 1)
    return x[ix], y[iy]


def refined_regions(counts, group, pair, options, extent, phases=((0.0, None),),
                    n_coarse=81, n_fine=201):
    """(x, y, [Delta chi^2 per (xi, delta_cp) in ``phases``]) on one grid fitted to the regions.

    A coarse n_coarse^2 grid on [0, extent]^2 locates each region (the extent doubles, up to
    four times, while a region touches its edge); the maps are then recomputed on an
    n_fine^2 grid spanning [0, 1.1 x reach] in each direction, so that small regions
    (e.g. CONNIE's, 1/20 of the coarse extent) are drawn as smooth curves. Delta chi^2 is
    measured from the smallest value of each coarse grid (the origin, for these data).
    """
    reach_x = reach_y = 0.0
    references = []
    for xi, dcp in phases:
        size = extent
        for _ in range(5):
            axis = np.linspace(0.0, size, n_coarse)
            coarse = _region_map(counts, group, pair, options, axis, axis, xi, dcp)
            rx, ry = _reach(axis, axis, coarse - coarse.min())
            if rx < axis[-1] and ry < axis[-1]:
                break
            size *= 2.0
        references.append(coarse.min())
        reach_x, reach_y = max(reach_x, rx), max(reach_y, ry)
    x = np.linspace(0.0, 1.1 * reach_x, n_fine)
    y = np.linspace(0.0, 1.1 * reach_y, n_fine)
    return x, y, [_region_map(counts, group, pair, options, x, y, xi, dcp) - ref
                  for (xi, dcp), ref in zip(phases, references)]


def _crop(ax, regions, level=REGION_LEVEL):
    """Zoom the axes onto the union of the allowed regions (Delta chi^2 <= level)."""
    reaches = [_reach(x, y, d, level) for x, y, d in regions]
    ax.set_xlim(0, 1.1 * max(r[0] for r in reaches))
    ax.set_ylim(0, 1.1 * max(r[1] for r in reaches))


def _regions_panel(ax, items, pair, options, extent, group_of):
    regions = []
    for det, counts in items:
        x, y, (delta,) = refined_regions(counts, group_of(det), pair, options, extent)
        ax.contour(x, y, delta, levels=[REGION_LEVEL], colors=[COLOURS[det]])
        regions.append((x, y, delta))
    _crop(ax, regions)
    ax.set_xlabel(_label(pair[0]))
    ax.set_ylabel(_label(pair[1]))
    ax.grid(alpha=0.3)


def _regions_figure(rows, options, title):
    """rows: list of (row title, items [(det, counts)], group_of, extent). One legend per
    figure, below the panels (inside a panel it hides contours)."""
    fig, axes = plt.subplots(len(rows), 3, figsize=(13, 4.2 * len(rows) + 0.6), squeeze=False)
    names = []
    for r, (row_title, items, group_of, extent) in enumerate(rows):
        for c, pair in enumerate(PAIRS):
            _regions_panel(axes[r, c], items, pair, options, extent, group_of)
            axes[r, c].set_title(row_title, fontsize=9)
        names += [det for det, _ in items if det not in names]
    handles = [plt.Line2D([], [], color=COLOURS[det], label=_short(det)) for det in names]
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9,
               frameon=False)
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
        extent = _extent([c for _, c in items], lambda _: "reactor", options, 3.0)
        rows.append((f"reactors, {setup} setup", items, lambda _: "reactor", extent))
    return _regions_figure(rows, options, "Fig. 6: 90% C.L. regions, reactor experiments "
                           "(third modulus and phases zero)")


#: (xi_k, delta_CP, line style, colour, line width) of Fig. 7; wider lines first, so that a
#: curve drawn on top of an identical one stays visible.
PHASE_CHOICES = ((0.0, 0.0, "-", "k", 3.0), (0.0, np.pi, "--", "tab:red", 2.2),
                 (np.pi, 0.0, "-.", "tab:blue", 1.5), (np.pi, np.pi, ":", "tab:green", 1.5))

#: Two contours closer than this in Delta chi^2 (largest difference on the region) are
#: reported as coinciding: 0.05 moves a contour by ~1% of its size at Delta chi^2 = 4.61.
COINCIDE_TOLERANCE = 0.05


def phase_label(phase: float) -> str:
    """A phase in radians as a TeX multiple of pi: 0, pi/2, pi, 3pi/2, ..."""
    from fractions import Fraction

    ratio = Fraction(phase / np.pi).limit_denominator(12)
    if abs(float(ratio) * np.pi - phase) > 1e-9:
        return f"{phase:.3g}"
    if ratio == 0:
        return "0"
    num = "" if abs(ratio.numerator) == 1 else str(abs(ratio.numerator))
    sign = "-" if ratio < 0 else ""
    return sign + num + r"\pi" + ("" if ratio.denominator == 1 else f"/{ratio.denominator}")


def _phase_text(xi, dcp):
    return rf"$\xi_k = {phase_label(xi)}$, $\delta_{{CP}} = {phase_label(dcp)}$"


def coinciding(regions, level=REGION_LEVEL, tolerance=COINCIDE_TOLERANCE):
    """Pairs (a, b), a < b, of ``regions`` [(x, y, delta), ...] on one grid whose
    Delta chi^2 maps differ by less than ``tolerance`` wherever either is below 2 x level."""
    pairs = []
    for b in range(len(regions)):
        for a in range(b):
            da, db = regions[a][2], regions[b][2]
            near = (da <= 2 * level) | (db <= 2 * level)
            if regions[a][0].shape == regions[b][0].shape and np.all(
                    np.abs(da - db)[near] < tolerance):
                pairs.append((a, b))
    return pairs


def figure7_phases(counts, options):
    """Fig. 7: 90% C.L. regions for several CP-phase choices: COHERENT CsI prompt (current)
    and CONNIE (current). xi_k is the phase coupling the two moduli shown (xi_3 for
    Lambda_1-Lambda_2, xi_2 for Lambda_1-Lambda_3, xi_1 for Lambda_2-Lambda_3; paper 000
    below Eq. 11, :func:`cevns_jax.moments.tmm_complex`).

    Coinciding contours (delta_CP does not enter the mu_nuebar cross term of Lambda_1
    Lambda_2, Eq. 12) are drawn in different colours and widths and named in the panel.

    Order of the curves versus the paper's text (Sect. 5: SNS outermost xi_k = 0,
    delta_CP = pi and innermost xi_k = pi, delta_CP = 0; reactor outermost xi_k = delta_CP = 0
    and innermost xi_k = delta_CP = pi). Areas of the regions [(1e-10 mu_B)^2] for
    (xi_k, delta_CP) = (0, 0), (0, pi), (pi, 0), (pi, pi), default options:

    - CsI Lambda_1-Lambda_2: 6.8e3, 7.1e3, 1.00e4, 9.7e3; Lambda_1-Lambda_3: 7.7e3, 7.9e3,
      1.72e4, 1.21e4. Outermost xi_k = pi, delta_CP = 0; innermost xi_k = delta_CP = 0: the
      text does not hold.
    - CsI Lambda_2-Lambda_3: 1.85e4, 3.43e4, 7.8e3, 7.8e3: the text holds.
    - CONNIE Lambda_1-Lambda_2: 2.98, 2.98, 0.35, 0.35: the text holds (delta_CP does not
      enter the cos xi_3 term of Eq. 12). Lambda_1-Lambda_3 and Lambda_2-Lambda_3: Eq. (12)
      depends on delta_CP - xi_k only, so xi_k = delta_CP = pi is the outer contour of
      xi_k = delta_CP = 0, not an inner one.

    This is not a phase convention of ours: :func:`cevns_jax.moments.tmm_complex` uses
    xi_1 = zeta_3 - zeta_2, xi_3 = zeta_1 - zeta_2 (below Eq. 11) with zeta_2 = 0, and the
    moments reproduce the printed Eqs. (12), (17)-(19) (tests/test_moments.py). In Eq. (17)
    the cross terms +2 c12 s12 (c23^2 - s13^2 s23^2) |Lambda_1 Lambda_2| cos xi_3 and
    +2 c13 s23 c23 s12 |Lambda_1 Lambda_3| cos xi_2 are positive, so xi_k = 0 gives the larger
    prompt moment and the tighter region. Flipping the sign of Lambda_1 (zeta_1 -> zeta_1 + pi,
    i.e. xi_2, xi_3 -> xi + pi) would put xi_k = pi innermost in those two SNS panels, as the
    text says, but would reverse the CONNIE Lambda_1-Lambda_2 panel, which agrees with the text
    now. The figure follows the printed equations.
    """
    fig, axes = plt.subplots(2, 3, figsize=(13, 9.0))
    for row, (det, group, factor) in enumerate((("COHERENT-CsI", "SNS prompt", 3.0),
                                                ("CONNIE", "reactor", 3.0))):
        base = counts[(det, "current")]
        extent = factor * single_parameter_limits(base, [(group, i) for i in range(3)],
                                                  options).max()
        for col, pair in enumerate(PAIRS):
            ax = axes[row, col]
            x, y, maps = refined_regions(base, group, pair, options, extent,
                                         [c[:2] for c in PHASE_CHOICES])
            regions = [(x, y, delta) for delta in maps]
            for (x, y, delta), (xi, dcp, style, colour, width) in zip(regions, PHASE_CHOICES):
                ax.contour(x, y, delta, levels=[REGION_LEVEL], colors=[colour],
                           linestyles=style, linewidths=width)
            notes = ["same contour: " + " and ".join(_phase_text(*PHASE_CHOICES[k][:2])
                                                     for k in pair_k)
                     for pair_k in coinciding(regions)]
            _crop(ax, regions)
            ax.set_xlabel(_label(pair[0]))
            ax.set_ylabel(_label(pair[1]))
            ax.set_title("\n".join([f"{_short(det)} {group.split()[-1]}, current"] + notes),
                         fontsize=8)
            ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], color=colour, ls=style, lw=width, label=_phase_text(xi, dcp))
               for xi, dcp, style, colour, width in PHASE_CHOICES]
    fig.suptitle("Fig. 7: 90% C.L. regions for CP-phase choices (third modulus zero; "
                 r"$\xi_k$ couples the two moduli shown)")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=9, frameon=False)
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
    fig.suptitle("Fig. 8: Borexino 90% C.L. regions through Eq. (38), "
                 f"$P_{{e1}}^{{2\\nu}}$ = {pe1:.3f}")
    fig.tight_layout()
    return fig


def make_all(counts, options: Paper000Options, output_dir, scales=None, progress=None) -> list:
    """Write fig1..fig8 PNGs into ``output_dir`` (``cevns-jax reproduce`` uses
    ``DIR/paper000``); returns the paths."""
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

