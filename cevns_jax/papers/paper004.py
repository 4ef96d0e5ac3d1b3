"""Reproduction driver for paper 004 (Demirci, Basli, Mustamin, "Probing neutrino magnetic
moment with CEvNS", BSM-2023.19) and the XENONnT 8B release: ``cevns-jax solar``.

:func:`run` computes every number of the solar channel and writes the tables into
``output_dir`` and the figures into ``figure_dir`` (default: ``output_dir``):

* ``solar.csv``: one row per result, columns ``analysis`` (``solar_spectra``,
  ``cdex10_asimov``, ``xenonnt_8b``), ``quantity``, ``computed``, ``unit``, ``reference``
  (the published number where one exists), ``source`` and ``note``;
* ``fig2_solar_spectra.png``: 004 Figure 2 analogue (8B on Ge and Xe, SM and SM + MM for
  mu = 1e-9, 8e-10, 4e-10 mu_B, in keVnr and keVee);
* ``fig3_cdex_regions.png``: 004 Figure 3 analogue (90 % C.L. regions, 2 d.o.f., in the
  mu_e-mu_mu and mu_e-mu_tau planes) from the CDEX-10-like Asimov data;
* ``xenonnt_8b_signal.png``: the 8B recoil spectrum times the release efficiency per run;
* ``cdex10_asimov_spectrum.csv``: the Asimov spectrum in the CDEX CSV format
  (:mod:`cevns_jax.analyses.cdex10`), a template for the user-supplied CDEX-10 data.

``tiny=True`` shrinks grids and skips the optional variants (for CI and the notebook).
Magnetic moments are reported in units of 1e-10 mu_B.
"""

from __future__ import annotations

import csv
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from .. import datasets, solar
from ..precision import require_x64
from ..analyses import cdex10 as cdex, xenonnt_8b as xenonnt
from ..rates import binned_templates
from ..results.xenonnt_8b import best_fit, flavour_limits, flavour_region

COLUMNS = ("analysis", "quantity", "computed", "unit", "reference", "source", "note")
MU_UNIT = "1e-10 mu_B"
PAPER004 = "paper 004 (BSM-2023.19), Sect. 4"
#: Recoil energies [keVnr] of the ``solar_spectra`` rows; nodes of every spectrum grid, so
#: that the row names and values do not depend on the grid size.
REPORT_ENERGIES_KEV = (0.1, 1.0)
#: Files written by :func:`run`: tables into ``output_dir``, figures into ``figure_dir``.
TABLE_FILES = ("solar.csv", "cdex10_asimov_spectrum.csv")
FIGURE_FILES = ("fig2_solar_spectra.png", "fig3_cdex_regions.png", "xenonnt_8b_signal.png")
#: Flux models: paper 004's spectra and CDEX analysis use BS05(OP) (004 Sect. 2.3); the
#: XENONnT 8B numbers use B16-GS98 (whose 8B flux carries the tabulated 12 % uncertainty).
CDEX_SOLAR_MODEL = "BS05OP"
XENONNT_SOLAR_MODEL = "B16-GS98"


def _row(analysis, quantity, computed, unit, reference=None, source="", note=""):
    return {"analysis": analysis, "quantity": quantity, "computed": float(computed),
            "unit": unit, "reference": "" if reference is None else float(reference),
            "source": source, "note": note}


# --------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------


def _spectra(tiny):
    """8B spectra on Ge and Xe (004 Figure 2), jitted per channel and scale."""
    n = 24 if tiny else 60
    out = {}
    grids = {m: np.unique(np.concatenate([np.geomspace(0.02, top, n), REPORT_ENERGIES_KEV]))
             for m, top in (("Ge", 6.0), ("Xe", 4.0))}
    kappas = {"Ge": cdex.CDEX10_KAPPA, "Xe": None}
    scales = ("nr",) if tiny else ("nr", "ee")
    for material, grid in grids.items():
        channel = solar.spectra_channel(material, components=("b8",), kappa=kappas[material],
                                        solar_model=CDEX_SOLAR_MODEL,
                                        pee_model=solar.PAPER004_PEE_MODEL)
        for scale in scales:
            energies = grid if scale == "nr" else grid * (0.2 if material == "Ge" else 0.15)
            sm, em = jax.jit(lambda e, s=scale: solar.channel_spectra(channel, e, s))(
                jnp.asarray(energies * 1e-3))
            out[(material, scale)] = solar.SolarSpectra(
                energies, scale, material, channel.component_names, np.asarray(sm),
                np.asarray(em), f"events / (kg keV{scale} day)")
    return out


def _spectra_rows(spectra):
    rows = []
    for (material, scale), sp in spectra.items():
        if scale != "nr":
            continue
        e = np.asarray(sp.energy_kev)
        for t in REPORT_ENERGIES_KEV:
            i = int(np.argmin(np.abs(e - t)))   # t is a grid node (see _spectra)
            sm = solar.spectra_rate(sp)[i]
            rows.append(_row("solar_spectra", f"{material.lower()}_8b_sm_rate_at_{t:g}keVnr",
                             sm, "events/(kg keVnr day)", None, "BS05(OP) 8B, 004 Eq. 12",
                             "paper 004 Figure 2 (log plot; no printed values)"))
            for mu in solar.PAPER004_FIGURE2_MOMENTS:
                total = solar.spectra_rate(sp, (mu, mu, mu))[i]
                rows.append(_row("solar_spectra",
                                 f"{material.lower()}_8b_mm_over_sm_at_{t:g}keVnr_mu{mu:g}",
                                 total / sm, "ratio", None, "004 Eqs. 6-7, BS05(OP) 8B",
                                 "mu_e = mu_mu = mu_tau = mu (compositions sum to 1)"))
    return rows


def _total_rates_rows():
    """8B totals on Xe: flux-averaged cross section vs the XENONnT measurement."""
    cfg = solar.solar_config("Xe", "0.001 keVnr", mass="1 t", time="1 yr",
                             model=XENONNT_SOLAR_MODEL,
                             components=["b8"])
    exp = solar.build_solar_experiment(cfg, drop_unreachable=False)
    events = float(binned_templates(exp).sm.sum())
    n_nuclei = float(np.sum(np.asarray(exp.detector.target.n_nuclei)))
    sigma = events / (n_nuclei * exp.beams[0].fluence)
    return [
        _row("xenonnt_8b", "xe_8b_flux_averaged_cross_section", sigma, "cm^2", 1.1e-39,
             "XENONnT PRL 133, 191002 (abstract): measured (1.1 +0.8 -0.5)e-39 cm^2; "
             "B16-GS98 fluxes",
             "SM, all recoils above 1 eVnr, 004 cross section, Helm"),
        _row("xenonnt_8b", "xe_8b_events_per_t_yr_all_recoils", events, "events/(t yr)", None,
             "B16-GS98 fluxes (8B 5.46e6 /cm2/s)", "no efficiency, threshold 1 eVnr"),
    ]


def _cdex_limits(analysis, data, levels):
    """Flavour limits of the CDEX measurement (004 Eq. 18) on [0, 2000] x 1e-10 mu_B."""
    return flavour_limits(cdex.measurement(analysis, data), analysis.flavour_model(),
                          levels=levels, upper=2.0e3)


def _cdex(tiny, output_dir):
    """CDEX-10-like Asimov rows under paper 004's composition (:data:`solar.PAPER004_PEE_MODEL`),
    with the adiabatic MSW composition beside them (full mode); BS05(OP) fluxes."""
    rows, info = [], {}
    t0 = time.time()
    if tiny:  # 8B only: hep (0.14 % of the 8B flux) costs a second template compilation
        an = cdex.setup_analysis(components=("b8",), solar_model=CDEX_SOLAR_MODEL,
                                 pee_model=solar.PAPER004_PEE_MODEL)
        an_ad = None
    else:
        an_ad = cdex.setup_analysis(solar_model=CDEX_SOLAR_MODEL, pee_model=solar.MSW_PEE_MODEL)
        an = cdex.merge_to_constant(an_ad)
    data = cdex.asimov_spectrum(an)
    cdex.write_spectrum_csv(data, os.path.join(output_dir, TABLE_FILES[1]),
                            comment="CDEX-10-like Asimov spectrum (no signal), cevns-jax solar")
    info.update(analysis=an, data=data)
    a = "cdex10_asimov"
    src = ("Asimov: 205.4 kg day, 160 eVee, kappa 0.162, 20 x 0.1 keVee, B = 2 /(kg keVee day), "
           "BS05(OP) fluxes" + (", 8B only (tiny)" if tiny else ", 8B + hep"))
    sm_rate = np.asarray(cdex.expected_rate(an))
    sm_counts = float(np.sum(sm_rate * an.widths_kevee) * cdex.CDEX10_EXPOSURE_KG_DAY)
    em_counts = np.asarray(an.em.sum(0) * an.widths_kevee).sum() * cdex.CDEX10_EXPOSURE_KG_DAY
    em_counts_beam = np.asarray((an.em * an.widths_kevee).sum(1)) * cdex.CDEX10_EXPOSURE_KG_DAY
    composition = np.asarray(an.channel.composition)
    rows.append(_row(a, "sm_8b_hep_events_above_threshold", sm_counts, "events", None, src,
                     "CEvNS SM expectation in the whole CDEX-10 exposure"))
    rows.append(_row(a, "em_events_unit_moment", em_counts, "events per (1e-10 mu_B)^2", None,
                     src, "mu_eff = 1e-10 mu_B for every beam"))
    for k, flav in enumerate(solar.FLAVOURS):
        per_mu2 = float(np.sum(em_counts_beam * composition[:, k]))
        mu_paper = cdex.PAPER004_LIMITS[flav]
        rows.append(_row(a, f"mm_events_at_paper_limit_mu_{flav}", per_mu2 * mu_paper**2,
                         "events", None, PAPER004 + ", BS05(OP) fluxes",
                         f"signal events if mu_{flav} = {mu_paper} (others 0); compare with the "
                         "2.30-event zero-background Poisson floor"))
        rows.append(_row(a, f"zero_background_floor_mu_{flav}",
                         np.sqrt(xenonnt.POISSON_90CL_ZERO_BACKGROUND / per_mu2), MU_UNIT, None,
                         "ln(10) = 2.30 events, zero background, BS05(OP) fluxes",
                         "the smallest mu that any analysis of this exposure could exclude at "
                         "90 % C.L."))
    limits = _cdex_limits(an, data, (2.71, 4.61))
    for flav in solar.FLAVOURS:
        rows.append(_row(a, f"limit_mu_{flav}", limits[("mu_" + flav, 2.71)].value, MU_UNIT,
                         cdex.PAPER004_LIMITS[flav], PAPER004 + ", BS05(OP) fluxes",
                         "90 % C.L., Delta chi2 = 2.71, other moments 0, constant P_ee"))
        rows.append(_row(a, f"limit_mu_{flav}_2dof_extent", limits[("mu_" + flav, 4.61)].value, MU_UNIT,
                         cdex.PAPER004_LIMITS[flav], PAPER004 + ", BS05(OP) fluxes",
                         "Delta chi2 = 4.61 (axis extent of the Figure 3 region)"))
    info["limits"] = limits
    if an_ad is not None:
        lim_ad = _cdex_limits(an_ad, cdex.asimov_spectrum(an_ad), (2.71,))
        for flav in solar.FLAVOURS:
            rows.append(_row(a, f"limit_mu_{flav}_adiabatic_pee", lim_ad[("mu_" + flav, 2.71)].value,
                             MU_UNIT, cdex.PAPER004_LIMITS[flav], PAPER004 + ", BS05(OP) fluxes",
                             "energy-dependent adiabatic LMA-MSW P_ee (production-averaged), "
                             "mass-state beams"))
        # injection: recover mu_e = 300 from its own Asimov data
        inj = cdex.measurement(an, cdex.asimov_spectrum(an, (300.0, 0.0, 0.0)))
        mu_hat, chi_min = best_fit(inj, an.flavour_model(), "mu_e", upper=600.0)
        rows.append(_row(a, "injected_mu_e_300_recovered", mu_hat, MU_UNIT, 300.0,
                         "Asimov injection, BS05(OP) fluxes", f"chi2 at best fit {chi_min:.2e}"))
    grid = _region_grid(tiny)
    measurement = cdex.measurement(an, data)
    info["regions"] = {
        pair: flavour_region(measurement, an.flavour_model(), *pair, x_grid=grid, y_grid=grid)
        for pair in (("mu_e", "mu_mu"), ("mu_e", "mu_tau"))}
    info["seconds"] = time.time() - t0
    return rows, info


def _region_grid(tiny):
    """0 plus a geometric grid to 2000 (1e-10 mu_B): log axes show both the paper's limits
    (~1-10) and the computed regions (~20-400)."""
    return np.concatenate([[0.0], np.geomspace(0.5, 2000.0, 24 if tiny else 60)])


def _xenonnt_limits(templates, levels=(2.71,)):
    analysis = xenonnt.setup_counting(templates=templates)
    return analysis, flavour_limits(xenonnt.measurement(analysis), analysis.flavour_model(),
                                    levels=levels)


def _xenonnt(tiny):
    """XENONnT 8B rows (B16-GS98 fluxes): expectations, and limits under paper 004's
    composition (:data:`solar.PAPER004_PEE_MODEL`) with the adiabatic MSW ones beside them."""
    rows, info = [], {}
    a = "xenonnt_8b"
    pub = xenonnt.PUBLISHED
    model = XENONNT_SOLAR_MODEL
    flux = datasets.solar_total_fluxes(model)["b8"]
    grid, adiabatic = None, []
    if tiny:  # release method only: one compilation for the three runs
        templates = []
        for r in xenonnt.RUNS:
            templates.append(xenonnt.run_templates(r, model=model, method="grid", grid=grid,
                                                   pee_model=solar.PAPER004_PEE_MODEL))
            grid = templates[-1].grid
    else:  # tabulated efficiency, adiabatic split; constant P_ee by exact merging
        for r in xenonnt.RUNS:
            adiabatic.append(xenonnt.run_templates(r, model=model, grid=grid,
                                                   pee_model=solar.MSW_PEE_MODEL))
            grid = adiabatic[-1].grid
        templates = [xenonnt.merge_to_constant(t) for t in adiabatic]
    info["templates"] = templates
    total01 = 0.0
    for t in templates:
        n_sm = xenonnt.expected_events(t)
        if t.run in ("sr0", "sr1"):
            total01 += n_sm
        rows.append(_row(a, f"expected_8b_events_{t.run}", n_sm, "events", None,
                         f"release efficiency x {t.exposure_t_y} t yr, B16-GS98 fluxes",
                         f"method {t.method}; no per-run expectation is published"))
        if t.method == "tabulated":
            grid_sm = float(np.sum(t.grid_counts()[0]))
            rows.append(_row(a, f"expected_8b_events_{t.run}_release_method", grid_sm, "events",
                             n_sm, "trapezoid on the release's 0.1-keV grid, B16-GS98 fluxes",
                             "reference column: the tabulated-efficiency value"))
        rows.append(_row(a, f"background_events_{t.run}", t.background_total, "events", None,
                         "release templates (AC + ER + neutrons), nominal", ""))
        rows.append(_row(a, f"observed_events_{t.run}", t.observed, "events", None,
                         "release data", ""))
        rows.append(_row(a, f"em_events_unit_moment_{t.run}", float(jnp.sum(t.em)),
                         "events per (1e-10 mu_B)^2", None,
                         "mu_eff = 1e-10 mu_B, B16-GS98 fluxes", ""))
    rows.append(_row(a, "expected_8b_events_sr0_sr1", total01, "events", pub["expected_8b"],
                     pub["reference"], "reference is 11.9 (+4.5 -4.2); B16-GS98 flux 5.46e6"))
    per_flux = total01 / (flux / 1e6)
    rows.append(_row(a, "expected_8b_events_sr0_sr1_per_1e6_flux", per_flux,
                     "events per 1e6 cm^-2 s^-1",
                     (pub["observed"] - pub["background"]) / (pub["flux_measured"] / 1e6),
                     pub["reference"] + " abstract: (37 - 26.4) / 4.7",
                     "signal per unit 8B flux; independent of the flux model"))
    rows.append(_row(a, "sr0_sr1_signal_over_poisson_floor", total01 /
                     xenonnt.POISSON_90CL_ZERO_BACKGROUND, "ratio", None,
                     "zero-background 90 % Poisson floor 2.30 events, B16-GS98 fluxes",
                     "> 1: the 8B signal is reachable with this exposure"))
    analysis, limits = _xenonnt_limits(templates)
    info["analysis"] = analysis
    info["limits"] = limits
    if not tiny:
        grid_2d = _region_grid(tiny)
        measurement = xenonnt.measurement(analysis)
        info["regions"] = {
            pair: flavour_region(measurement, analysis.flavour_model(), *pair, x_grid=grid_2d,
                                 y_grid=grid_2d)
            for pair in (("mu_e", "mu_mu"), ("mu_e", "mu_tau"))}
    ref = PAPER004 + " (CDEX-10, for comparison)"
    for flav in solar.FLAVOURS:
        rows.append(_row(a, f"limit_mu_{flav}", limits[("mu_" + flav, 2.71)].value, MU_UNIT,
                         cdex.PAPER004_LIMITS[flav], ref,
                         "SR0+SR1+SR2 counting, 90 % C.L., others 0, constant P_ee, "
                         "B16-GS98 fluxes"))
    if adiabatic:
        _, lim_ad = _xenonnt_limits(adiabatic)
        for flav in solar.FLAVOURS:
            rows.append(_row(a, f"limit_mu_{flav}_adiabatic_pee", lim_ad[("mu_" + flav, 2.71)].value,
                             MU_UNIT, cdex.PAPER004_LIMITS[flav], ref,
                             "SR0+SR1+SR2, energy-dependent adiabatic LMA-MSW P_ee, mass-state "
                             "beams, B16-GS98 fluxes"))
        _, lim01 = _xenonnt_limits(templates[:2])
        for flav in solar.FLAVOURS:
            rows.append(_row(a, f"limit_mu_{flav}_sr0_sr1", lim01[("mu_" + flav, 2.71)].value,
                             MU_UNIT,
                             None, "", "SR0+SR1 only (the PRL 133 data set), constant P_ee, "
                             "B16-GS98 fluxes"))
    return rows, info


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------


def top_guess(sp):
    """Label height for figure annotations: just below the largest plotted rate."""
    return 0.5 * float(np.max(solar.spectra_rate(sp, (10, 10, 10))))


def _figure2(spectra, path):
    import matplotlib.pyplot as plt

    scales = sorted({s for _, s in spectra}, key=("nr", "ee").index)
    fig, axes = plt.subplots(len(scales), 2, figsize=(10, 4 * len(scales)), squeeze=False)
    for row, scale in enumerate(scales):
        for col, material in enumerate(("Ge", "Xe")):
            ax = axes[row, col]
            sp = spectra[(material, scale)]
            ax.loglog(sp.energy_kev, solar.spectra_rate(sp), "k-", lw=2, label="SM")
            for mu, style in zip(solar.PAPER004_FIGURE2_MOMENTS, ("--", "-.", ":")):
                ax.loglog(sp.energy_kev, solar.spectra_rate(sp, (mu, mu, mu)), style,
                          label=rf"SM + MM, $\mu_\nu = {mu / 10:g}\times10^{{-9}}\,\mu_B$")
            ax.set_xlabel(rf"$T_{{{scale}}}$ [keV{scale}]")
            ax.set_ylabel(rf"$dR/dT_{{{scale}}}$ [events / (kg keV{scale} day)]")
            kappa = "0.162" if material == "Ge" else "0.166 (Lindhard)"
            title = f"{material}, solar $^8$B (BS05(OP))"
            if scale == "ee":
                title += rf", $\kappa$ = {kappa}"
            ax.set_title(title, fontsize=11)
            if material == "Ge" and scale == "ee":
                ax.axvline(cdex.CDEX10_THRESHOLD_KEVEE, color="grey", lw=1)
                ax.text(cdex.CDEX10_THRESHOLD_KEVEE * 1.05, top_guess(sp), "CDEX-10\nthreshold",
                        fontsize=8, color="grey", va="top")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
            top = float(np.max(solar.spectra_rate(sp, (10, 10, 10))))
            ax.set_ylim(top * 1e-5, top * 2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _figure3(cdex_info, xe_info, path):
    import matplotlib.pyplot as plt

    names = {"e": "e", "mu": r"\mu", "tau": r"\tau"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, (pair, region) in zip(axes, cdex_info["regions"].items()):
        x, y = pair
        ax.contourf(region.x, region.y, region.delta, levels=[-1.0, region.level],
                    colors=["tab:blue"], alpha=0.3)
        ax.contour(region.x, region.y, region.delta, levels=[region.level], colors="tab:blue")
        ax.plot([], [], color="tab:blue", lw=6, alpha=0.4,
                label="CDEX-10-like Asimov (this work)")
        xe = xe_info.get("regions", {}).get(pair)
        if xe is not None:
            ax.contourf(xe.x, xe.y, xe.delta, levels=[-1.0, xe.level], colors=["tab:green"],
                        alpha=0.3)
            ax.contour(xe.x, xe.y, xe.delta, levels=[xe.level], colors="tab:green")
            ax.plot([], [], color="tab:green", lw=6, alpha=0.4,
                    label="XENONnT 8B SR0-SR2 counting (this work)")
        fx, fy = x.removeprefix("mu_"), y.removeprefix("mu_")
        px, py = cdex.PAPER004_LIMITS[fx], cdex.PAPER004_LIMITS[fy]
        ax.plot([0.5, px, px], [py, py, 0.5], "r--", lw=2,
                label=f"paper 004 CDEX-10 limits ({px}, {py})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(0.5, 2000.0)
        ax.set_ylim(0.5, 2000.0)
        ax.set_xlabel(rf"$\mu_{{\nu_{names[fx]}}}$ [$10^{{-10}}\,\mu_B$]")
        ax.set_ylabel(rf"$\mu_{{\nu_{names[fy]}}}$ [$10^{{-10}}\,\mu_B$]")
        third = ({"e", "mu", "tau"} - {fx, fy}).pop()
        ax.set_title(rf"90% C.L. allowed regions (2 d.o.f.), $\mu_{{\nu_{names[third]}}}$ = 0")
        ax.legend(fontsize=8, loc="upper right")
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _figure_xenonnt(xe_info, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    grid = xe_info["templates"][0].grid
    rate = np.asarray(grid.sm).sum(axis=0)
    e = grid.energies_kev
    ax.semilogy(e, rate, "k--", label="8B CEvNS (B16-GS98), no efficiency")
    for t in xe_info["templates"]:
        _, eff = datasets.xenonnt_nr_efficiency(t.run)
        n = xenonnt.expected_events(t)
        ax.semilogy(e, rate * eff, label=f"x efficiency, {t.run.upper()}: {n:.2f} events in "
                    f"{t.exposure_t_y:.2f} t yr")
    ax.set_ylim(1e-4, 2e3)
    ax.set_xlabel(r"$T_{nr}$ [keVnr]")
    ax.set_ylabel(r"$dR/dT_{nr}$ [events / (t yr keVnr)]")
    ax.set_title("XENONnT 8B release: signal x detection efficiency")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------


def write_csv(rows, path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def written_files(output_dir, figure_dir=None) -> list[str]:
    """Paths of every file :func:`run` writes (:data:`TABLE_FILES`, :data:`FIGURE_FILES`)."""
    figure_dir = output_dir if figure_dir is None else figure_dir
    return ([os.path.join(output_dir, n) for n in TABLE_FILES]
            + [os.path.join(figure_dir, n) for n in FIGURE_FILES])


def run(output_dir, tiny: bool = False, verbose: bool = False, figure_dir=None) -> list[dict]:
    """Compute the paper-004 / XENONnT-8B results, write the tables into ``output_dir`` and
    the figures into ``figure_dir`` (default ``output_dir``; both created if needed) and
    return the rows (see the module docstring; :func:`written_files` lists the paths)."""
    require_x64()
    figure_dir = output_dir if figure_dir is None else figure_dir
    os.makedirs(output_dir, exist_ok=True)
    os.makedirs(figure_dir, exist_ok=True)
    log = (lambda msg: print(msg, file=sys.stderr)) if verbose else (lambda msg: None)
    t0 = time.time()
    rows = []
    spectra = _spectra(tiny)
    rows += _spectra_rows(spectra)
    log(f"spectra {time.time() - t0:.1f} s")
    if not tiny:
        rows += _total_rates_rows()
    cdex_rows, cdex_info = _cdex(tiny, output_dir)
    rows += cdex_rows
    log(f"cdex {time.time() - t0:.1f} s")
    xe_rows, xe_info = _xenonnt(tiny)
    rows += xe_rows
    log(f"xenonnt {time.time() - t0:.1f} s")
    write_csv(rows, os.path.join(output_dir, TABLE_FILES[0]))
    fig2, fig3, fig_xe = (os.path.join(figure_dir, n) for n in FIGURE_FILES)
    _figure2(spectra, fig2)
    _figure3(cdex_info, xe_info, fig3)
    _figure_xenonnt(xe_info, fig_xe)
    log(f"figures {time.time() - t0:.1f} s")
    return rows


def format_rows(rows) -> str:
    """Plain-text table of the rows (computed vs reference)."""
    lines = [f"{'analysis':<14} {'quantity':<44} {'computed':>12} {'reference':>10}  unit"]
    for r in rows:
        ref = f"{r['reference']:.4g}" if r["reference"] != "" else "-"
        lines.append(f"{r['analysis']:<14} {r['quantity']:<44} {r['computed']:>12.5g} "
                     f"{ref:>10}  {r['unit']}")
    return "\n".join(lines)
