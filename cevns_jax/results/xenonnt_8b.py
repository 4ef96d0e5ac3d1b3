"""XENONnT solar-8B CEvNS release: expected events per science run and 90 % C.L. limits on
the flavour magnetic moments mu_e, mu_mu, mu_tau.

The measurement is :func:`cevns_jax.analyses.xenonnt_8b.measurement` (Poisson counts of SR0,
SR1, SR2; 8B flux, background, light- and charge-yield nuisances profiled). Limits: profile
likelihood, Wilks, Delta(-2 ln L) = 2.71 from the minimum over mu >= 0, one moment at a time
(the others zero), :func:`cevns_jax.inference.profile_grid.upper_limits`.

Two flavour compositions are reported: the energy-dependent adiabatic LMA-MSW one (the
default of data analyses, :data:`cevns_jax.solar.MSW_PEE_MODEL`; 8B P_ee about 0.3) and paper
004's energy-independent reading (Eqs. 8-11, P_ee = 0.54; :data:`cevns_jax.solar.
PAPER004_PEE_MODEL`), obtained from the same templates by exact merging. Every number uses the
B16-GS98 solar fluxes (8B: 5.46e6 cm^-2 s^-1, 12 % uncertainty), stated in each row.

The limit and region helpers (:func:`flavour_limits`, :func:`flavour_region`,
:func:`best_fit`) work on any measurement with a flavour-moment model; paper 004's driver uses
them for CDEX-10 too.
"""

from __future__ import annotations

import numpy as np

from ..analyses import xenonnt_8b as xenonnt
from ..inference.limits import region_from_map
from ..inference.profile_grid import evaluate_points, upper_limits
from ..inference.profile_likelihood import upper_limit
from ..precision import require_x64
from ..solar import FLAVOURS, MSW_PEE_MODEL, PAPER004_PEE_MODEL
from .published import attach

__all__ = ["SOLAR_MODEL", "best_fit", "build_measurement", "build_templates", "data_results",
           "flavour_limits", "flavour_region"]

#: Flux model of every XENONnT 8B number here.
SOLAR_MODEL = "B16-GS98"
REFERENCE = xenonnt.PUBLISHED["reference"]
METHOD = ("profile likelihood (8B flux, background, light/charge yield profiled), Wilks, "
          "90% CL, Poisson counts SR0+SR1+SR2")
COMPOSITIONS = {MSW_PEE_MODEL: "adiabatic LMA-MSW P_ee(E)",
                PAPER004_PEE_MODEL: "paper 004 energy-independent P_ee = 0.54"}


# ---------------------------------------------------------------------------------------------
# limits on flavour moments (any measurement)
# ---------------------------------------------------------------------------------------------
def flavour_limits(measurement, model, *, levels=(2.71,), upper: float = 500.0) -> dict:
    """Upper limits on mu_e, mu_mu, mu_tau [1e-10 mu_B] one at a time (the others zero) for
    every Delta(-2 ln L) in ``levels`` (2.71: 90 % C.L. one parameter; 4.61: the axis extent of
    a 2 d.o.f. region), the three flavours of a level searched together.
    ``{("mu_e", level): UpperLimit, ...}``; invalid results raise."""
    names = [f"mu_{flavour}" for flavour in FLAVOURS]
    out = {}
    for level in levels:
        for name, limit in upper_limits(measurement, model, names, level=level, upper=upper,
                                        rtol=1e-10).items():
            if not limit.valid:
                raise RuntimeError(f"no {name} limit at Delta = {level}: {limit.status}")
            out[(name, level)] = limit
    return {key: out[key] for key in sorted(out, key=lambda k: (names.index(k[0]), k[1]))}


def best_fit(measurement, model, name: str, *, upper: float = 1.0e3):
    """(x_hat, -2 ln L at x_hat) of one physics parameter on [0, ``upper``], the others zero."""
    limit = upper_limit(measurement, model, name, upper=upper)
    return limit.x_min, limit.twice_nll_min


def flavour_region(measurement, model, x: str = "mu_e", y: str = "mu_mu", *, x_grid, y_grid,
                   level: float = 4.61):
    """Delta(-2 ln L) map in the (x, y) plane of two flavour moments, the third zero, and its
    ``level`` contour (4.61: 90 % C.L., 2 d.o.f.; paper 004 Figure 3); nuisances profiled.
    Returns a :class:`~cevns_jax.inference.limits.Region2D`."""
    unknown = sorted({x, y} - set(model.parameters))
    if unknown:
        raise KeyError(f"unknown parameter(s) {unknown}; known: {list(model.parameters)}")
    if x == y:
        raise ValueError(f"x and y must be different parameters, got {x!r} twice")

    x_grid, y_grid = np.asarray(x_grid, dtype=float), np.asarray(y_grid, dtype=float)
    xx, yy = np.meshgrid(x_grid, y_grid)
    values = evaluate_points(measurement, model, {x: xx.ravel(), y: yy.ravel()}, chunk=256)
    return region_from_map(x_grid, y_grid, values.reshape(xx.shape), level)


# ---------------------------------------------------------------------------------------------
# the XENONnT 8B results
# ---------------------------------------------------------------------------------------------
def build_templates(quick: bool = False, *, solar_model: str = SOLAR_MODEL) -> dict:
    """Run templates per flavour composition: ``{pee_model: [RunTemplates per run]}``.

    The adiabatic templates are computed (``quick``: trapezoid on the release's 0.1-keV grid,
    one compilation; otherwise the exact integral of the tabulated efficiency), the constant
    ones merged from them exactly (:func:`cevns_jax.analyses.xenonnt_8b.merge_to_constant`).
    """
    require_x64()
    adiabatic, grid = [], None
    for run in xenonnt.RUNS:
        adiabatic.append(xenonnt.run_templates(run, model=solar_model, pee_model=MSW_PEE_MODEL,
                                               method="grid" if quick else "tabulated",
                                               grid=grid))
        grid = adiabatic[-1].grid
    return {MSW_PEE_MODEL: adiabatic,
            PAPER004_PEE_MODEL: [xenonnt.merge_to_constant(t) for t in adiabatic]}


def build_measurement(quick: bool = False, *, pee_model: str = MSW_PEE_MODEL,
                      solar_model: str = SOLAR_MODEL):
    """The XENONnT 8B measurement (default: adiabatic MSW composition, B16-GS98 fluxes)."""
    if pee_model not in COMPOSITIONS:
        raise ValueError(f"unknown pee_model {pee_model!r}; expected one of {list(COMPOSITIONS)}")
    templates = build_templates(quick, solar_model=solar_model)[pee_model]
    return xenonnt.measurement(xenonnt.setup_counting(templates=templates))


def _row(quantity, computed, published=None, *, unit="1e-10 mu_B", method=METHOD,
         uncertainty=None):
    return dict(analysis="xenonnt_8b", quantity=quantity, computed=float(computed),
                uncertainty=None if uncertainty is None else float(uncertainty),
                published=published, unit=unit, method=method, reference=REFERENCE)


def data_results(quick: bool = False) -> list[dict]:
    """Rows of the results contract: expected SM 8B events per run, SR0+SR1 (vs the
    published 11.9) and all runs; flavour limits under both compositions."""
    require_x64()
    templates = build_templates(quick)
    flux = f"{SOLAR_MODEL} fluxes"
    sigma_flux = xenonnt.setup_counting(templates=templates[MSW_PEE_MODEL]).sigma_flux
    how = ("exact integral of the tabulated release efficiency" if not quick
           else "trapezoid on the release's 0.1-keV efficiency grid")
    rows = []
    counts = {t.run: xenonnt.expected_events(t) for t in templates[MSW_PEE_MODEL]}
    for run, n in counts.items():
        rows.append(_row(f"expected_8b_events_{run}", n, unit="events",
                         uncertainty=sigma_flux * n,
                         method=f"SM CEvNS, nominal yields, {how}, {flux} (uncertainty: "
                                "8B flux only)"))
    sr01 = counts["sr0"] + counts["sr1"]
    rows.append(_row("expected_8b_events_sr0_sr1", sr01, xenonnt.PUBLISHED["expected_8b"],
                     unit="events", uncertainty=sigma_flux * sr01,
                     method=f"SM CEvNS, nominal yields, {how}, {flux}; published 11.9 "
                            "(+4.5 -4.2)"))
    total = sum(counts.values())
    rows.append(_row("expected_8b_events_total", total, unit="events",
                     uncertainty=sigma_flux * total,
                     method=f"SM CEvNS SR0+SR1+SR2, nominal yields, {how}, {flux}"))
    for pee_model, suffix in ((MSW_PEE_MODEL, ""), (PAPER004_PEE_MODEL, "_paper004_composition")):
        analysis = xenonnt.setup_counting(templates=templates[pee_model])
        limits = flavour_limits(xenonnt.measurement(analysis), analysis.flavour_model())
        for flavour in FLAVOURS:
            value = limits[(f"mu_{flavour}", 2.71)].value
            rows.append(_row(f"limit_mu_nu{flavour}{suffix}", value,
                             method=f"{METHOD}, other moments 0, {COMPOSITIONS[pee_model]}, "
                                    f"{flux}"))
    return attach(rows)

