"""Global real-data fit of the neutrino magnetic moments.

The real-data measurements (each an analysis of :mod:`cevns_jax.analyses`) are prefixed with
their name and added (:meth:`~cevns_jax.likelihood.Measurement.__add__`): the physics
parameters are shared, every experiment keeps its own nuisances. Limits at 90% C.L. on the
transition moments |Lambda_i| (paper 000) and the flavour moments mu_alpha (paper 004):

- ``wilks``: Delta(-2 ln L) = 2.71 from the minimum over the parameter >= 0, the other
  moments 0 (:func:`cevns_jax.inference.profile_grid.upper_limits`; the parts are profiled
  separately and summed, which is exact with the physics parameters held). With one
  modulus non-zero the phases xi1, xi3 only change the overall phase of Lambda: mu_eff^2 of
  every beam (paper 000 Eqs. 5, 9, 38) and so these limits do not depend on them;
- ``toys``: the Feldman-Cousins construction of :mod:`cevns_jax.inference.toys` (phases 0,
  which by the same argument is no restriction);
- ``wilks, other moduli profiled``: the other two moduli profiled (>= 0) in the joint fit,
  where the phases matter; profiled on a grid of (xi1, xi3), and the limit at the most and
  least favourable grid point (``best phases`` / ``worst phases``);
- ``wilks, mixing profiled``: theta12, theta13, theta23, delta_CP profiled with the Gaussian
  constraints of NuFIT 6.0 NO (:data:`~cevns_jax.likelihood.physics_model.NUFIT_60_NO`)
  against the same fit with the mixing held at the NuFIT central values.

The last two need the joint fit of all nuisances (the physics parameters couple the data
sets) and run in the full mode only; ``quick`` gives the first two (toys at two points around
the Wilks limit, 32 toys each: a CI-sized check, biased a few per cent low by the linear
interpolation between the points).

:func:`regions` gives the 90% C.L. regions (Delta(-2 ln L) = 4.61, two parameters) of
paper 000 Figs. 4-7 and in mu_e-mu_mu, for the combination and COHERENT CsI + LAr alone;
:func:`write_regions` writes them as JSON, CSV and a figure.
"""

from __future__ import annotations

import csv
import functools
import importlib
import json
import math
import operator
import os

import jax
import numpy as np

from ..inference import toys as toy_engine
from ..inference.toy_store import ToyStore
from ..inference.profile_grid import evaluate_points, held_nuisances, region_2d, upper_limits
from ..likelihood.physics_model import (NUFIT_60_NO, NUFIT_60_NO_SIGMA, OSCILLATION_PARAMETERS,
                                        EffectiveMoment, FlavourMoments, TransitionMoments,
                                        WithOscillation)
from ..precision import require_x64
from .published import attach, world_rows

__all__ = ["REAL_DATA", "combined_measurement", "data_results", "limits", "measurements",
           "phase_grid", "regions", "world_table", "write_regions"]

#: Real-data analyses: name -> "module:function" returning its Measurement (``quick`` flag).
REAL_DATA = {
    "coherent_csi2021": "cevns_jax.results.coherent_csi:build_measurement",
    "coherent_lar2020": "cevns_jax.results.coherent_lar:build_measurement",
    "dresden2": "cevns_jax.results.dresden2:build_measurement",
    "xenonnt_8b": "cevns_jax.results.xenonnt_8b:build_measurement",
    "xenonnt_er2022": "cevns_jax.results.xenonnt_er2022:build_measurement",
}
COHERENT = ("coherent_csi2021", "coherent_lar2020")
MODULI = ("lambda1", "lambda2", "lambda3")
FLAVOURS = ("mu_e", "mu_mu", "mu_tau")
REFERENCE = "this work: combined fit of the listed real data sets"
#: 2-D regions: (x, y, model kind, profiled others).
PLANES = (("lambda1", "lambda2", "tmm"), ("lambda1", "lambda3", "tmm"),
          ("lambda2", "lambda3", "tmm"), ("mu_e", "mu_mu", "flavour"))


def phase_grid(n: int) -> dict:
    """n x n points of (xi1, xi3) on [0, 2 pi)."""
    axis = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return {"xi1": axis, "xi3": axis}


def _builder(name):
    module, _, function = REAL_DATA[name].partition(":")
    return getattr(importlib.import_module(module), function)


def measurements(names=None, quick: bool = False) -> dict:
    """{name: Measurement} of the requested real-data analyses (all by default)."""
    names = list(REAL_DATA) if names is None else list(names)
    unknown = sorted(set(names) - set(REAL_DATA))
    if unknown:
        raise KeyError(f"unknown real-data analysis {unknown}; known: {sorted(REAL_DATA)}")
    return {n: _builder(n)(quick=quick) for n in names}


def prefixed_parts(parts: dict) -> tuple:
    """The measurements with their nuisances prefixed by their names (no shared nuisance)."""
    return tuple(m.prefixed(n) for n, m in parts.items())


def combined_measurement(parts: dict):
    """The sum of the measurements, each with its nuisances prefixed by its name."""
    return functools.reduce(operator.add, prefixed_parts(parts))


def _kind(name):
    if name in MODULI:
        return "tmm"
    if name in FLAVOURS:
        return "flavour"
    raise KeyError(f"unknown parameter {name!r}; known: {MODULI + FLAVOURS}")


def _wilks(parts, names, *, upper: float = 10.0, **kwargs) -> dict:
    """{name: UpperLimit} (Wilks, other moments 0), tmm and flavour parameters alike."""
    out = {}
    for kind in ("tmm", "flavour"):
        chosen = [n for n in names if _kind(n) == kind]
        if chosen:
            model = TransitionMoments() if kind == "tmm" else FlavourMoments()
            out.update(upper_limits(parts, model, chosen, upper=upper, **kwargs))
    return out


def limits(parts, names, *, upper: float = 10.0, **kwargs) -> dict:
    """{name: Wilks 90% C.L. upper limit} with the other moments 0; ``parts`` a Measurement
    or a tuple of parts without shared nuisances (profiled separately and summed)."""
    require_x64()
    return {k: r.value for k, r in _wilks(parts, names, upper=upper, **kwargs).items()}


def phase_limits(combined, *, n_phases: int, upper: float = 1.0, **kwargs) -> dict:
    """{lambda_i: UpperLimit} with the other two moduli profiled in [0, 10 upper] and the
    phases on an n_phases x n_phases grid (profiled, and held at each point)."""
    require_x64()
    free = {k: (0.0, 10.0 * upper) for k in MODULI}
    return upper_limits(combined, TransitionMoments(), list(MODULI), grid=phase_grid(n_phases),
                        others_free=free, upper=upper, **kwargs)


def oscillation_limits(combined, *, profiled: bool, upper: float = 1.0, **kwargs) -> dict:
    """{lambda_i: limit} (other moments 0) with the mixing at the NuFIT 6.0 NO central values
    (``profiled`` False) or profiled within +-5 sigma under their Gaussian constraints."""
    require_x64()
    model = WithOscillation(TransitionMoments(osc=NUFIT_60_NO))
    centre = model.defaults
    priors = {k: (centre[k], NUFIT_60_NO_SIGMA[k]) for k in OSCILLATION_PARAMETERS}
    free = ({k: (centre[k] - 5 * s, centre[k] + 5 * s) for k, (_, s) in priors.items()}
            if profiled else None)
    found = upper_limits(combined, model, list(MODULI), others_free=free, priors=priors,
                         upper=upper, **kwargs)
    return {k: r.value for k, r in found.items()}


def toy_limit(combined, pieces, wilks, *, n_toys: int, factors, key=None, store=None,
              progress=None) -> float:
    """Feldman-Cousins 90% C.L. upper limit from toys at ``factors`` x the Wilks limit
    ``wilks`` (a UpperLimit; other moments and phases 0); NaN without a Wilks limit. t_obs and
    the nuisances the toys are generated with come from the held profile of the parts.
    ``store``: a :class:`~cevns_jax.inference.toy_store.ToyStore` keeping each point's toys
    (resumable); ``progress(done, total)`` after each point."""
    if not math.isfinite(wilks.value):
        return math.nan
    name = wilks.name
    model = TransitionMoments() if _kind(name) == "tmm" else FlavourMoments()
    x_points = np.asarray(factors, dtype=float) * wilks.value
    t_obs = evaluate_points(pieces, model, {name: x_points}) - wilks.twice_nll_min
    nu_true = [held_nuisances(pieces, model, {name: x}) for x in x_points]
    result = toy_engine.neyman_upper_limit(
        combined, model, name, x_points, n_toys=n_toys,
        key=jax.random.PRNGKey(0) if key is None else key, batch_size=n_toys,
        upper=3.0 * x_points[-1], n_steps=20, t_observed=np.maximum(t_obs, 0.0),
        nu_true=nu_true, store=store, progress=progress)
    return result.value


def _quantity(name):
    return f"limit_{name.replace('mu_', 'mu_nu')}"


def _row(analysis, name, computed, method, published=None, reference=REFERENCE):
    return dict(analysis=analysis, quantity=_quantity(name), computed=float(computed),
                uncertainty=None, published=published, unit="1e-10 mu_B", method=method,
                reference=reference)


#: Single data sets whose limits are also given from toys, beside Wilks: (data set, parameter).
TOYS_ALONE = (("coherent_csi2021", "mu_mu"), ("xenonnt_er2022", "mu_e"))


def _settings(quick):
    """Quick: a CI-sized run (toys at two points around the Wilks limit, no phase or mixing
    scans); full: the tables of the README."""
    if quick:
        return dict(n_toys=32, factors=(0.6, 1.1), n_phases=0, n_coarse=14)
    return dict(n_toys=1000, factors=np.linspace(0.25, 1.5, 12), n_phases=6, n_coarse=24)


def data_results(quick: bool = False, names=None, workdir=None, progress=None) -> list[dict]:
    """Rows of the results contract: each data set alone (Wilks), the combination (``global``:
    Wilks and toys) and, in the full run, the phase best/worst case with the other moduli
    profiled and the transition-moment limits with the mixing fixed and profiled (module
    docstring). ``workdir``: a folder where the toys are kept (``workdir/toys``): a run
    stopped part-way resumes there. ``progress(message)``: called as the toys advance."""
    require_x64()
    cfg = _settings(quick)
    store = None if workdir is None else ToyStore(os.path.join(workdir, "toys"))

    def toys_of(analysis, name, *args):
        def report(done, total):
            if progress is not None:
                progress(f"toys {analysis} {name}: point {done}/{total}")
        return toy_limit(*args, n_toys=cfg["n_toys"], factors=cfg["factors"], store=store,
                         progress=report)

    parts = measurements(names, quick)
    pieces = prefixed_parts(parts)
    combined = functools.reduce(operator.add, pieces)
    label = "+".join(parts)
    everything = list(MODULI + FLAVOURS)
    rows = []
    for (name, _), piece in zip(parts.items(), pieces):
        alone = _wilks(piece, everything, upper=100.0, n_coarse=cfg["n_coarse"])
        rows.extend(_row(name, k, r.value, "wilks, 90% CL, this data set alone, other moments 0")
                    for k, r in alone.items())
        for k in (k for data_set, k in TOYS_ALONE if data_set == name):
            toys = toys_of(name, k, piece, (piece,), alone[k])
            rows.append(_row(name, k, toys, f"toys (Feldman-Cousins, {cfg['n_toys']} per point, "
                                            f"{len(cfg['factors'])} points), 90% CL, this data "
                                            "set alone, other moments 0"))
    wilks = _wilks(pieces, everything, upper=10.0, n_coarse=cfg["n_coarse"])
    for k in everything:
        rows.append(_row("global", k, wilks[k].value, f"wilks, 90% CL, combined {label}, "
                                                      "other moments 0 (phases irrelevant)"))
        toys = toys_of("global", k, combined, pieces, wilks[k])
        rows.append(_row("global", k, toys, f"toys (Feldman-Cousins, {cfg['n_toys']} per point,"
                                            f" {len(cfg['factors'])} points), 90% CL, combined "
                                            f"{label}, other moments and phases 0"))
    if cfg["n_phases"]:
        rows.extend(_extra_rows(combined, label, cfg))
    return attach(rows)


def _extra_rows(combined, label, cfg) -> list[dict]:
    """Phase best/worst case (other moduli profiled) and mixing fixed vs profiled."""
    rows = []
    for k, r in phase_limits(combined, n_phases=cfg["n_phases"],
                             n_coarse=cfg["n_coarse"]).items():
        common = f"wilks, 90% CL, combined {label}, other moduli profiled"
        rows.append(_row("global", k, r.value, f"{common}, phases profiled "
                                               f"({cfg['n_phases']}x{cfg['n_phases']} grid)"))
        for which, pick in (("best", np.nanargmin), ("worst", np.nanargmax)):
            i = int(pick(r.per_point))
            xi1, xi3 = (float(v) for v in r.grid_points[i])
            rows.append(_row("global", k, r.per_point[i], f"{common}, {which} phases "
                                                          f"(xi1, xi3) = ({xi1:.3f}, {xi3:.3f})"))
    for profiled in (False, True):
        osc = oscillation_limits(combined, profiled=profiled, n_coarse=cfg["n_coarse"])
        how = "profiled with NuFIT 6.0 NO constraints" if profiled else "fixed at NuFIT 6.0 NO"
        rows.extend(_row("global", k, v, f"wilks, 90% CL, combined {label}, other moments 0, "
                                         f"mixing {how}") for k, v in osc.items())
    return rows


def regions(quick: bool = False, names=None, n_grid: int | None = None) -> dict:
    """90% C.L. regions (Delta(-2 ln L) <= 4.61): {data label: {"x/y": {"x": values,
    "y": values, "delta": [[...]]}}} for the combination of ``names`` (all by default) and
    for COHERENT CsI + LAr, the remaining moduli profiled (>= 0) and the phases profiled on a
    grid; mu_tau profiled in the mu_e-mu_mu plane."""
    require_x64()
    n = n_grid or (9 if quick else 25)
    n_phases = 2 if quick else 4
    parts = measurements(names, quick)
    sets = {"+".join(parts): parts}
    coherent = {k: v for k, v in parts.items() if k in COHERENT}
    if len(coherent) == len(COHERENT) and len(parts) > len(coherent):
        sets["+".join(COHERENT)] = coherent
    out = {}
    for label, chosen in sets.items():
        pieces = prefixed_parts(chosen)
        combined = functools.reduce(operator.add, pieces)
        # axes to 2.5 x the larger single-parameter limit (other moments 0) of the plane
        one_d = limits(pieces, sorted({p for plane in PLANES for p in plane[:2]}), upper=100.0,
                       n_coarse=12, rtol=1e-3)
        out[label] = {}
        for x, y, kind in PLANES:
            axis = np.linspace(0.0, 2.5 * np.nanmax([one_d[x], one_d[y], 1e-3]), n)
            if kind == "tmm":
                model, grid = TransitionMoments(), phase_grid(n_phases)
                free = {k: (0.0, 10.0 * axis[-1]) for k in MODULI if k not in (x, y)}
            else:
                model, grid, free = FlavourMoments(), None, {"mu_tau": (0.0, 10.0 * axis[-1])}
            delta = region_2d(combined, model, x, axis, y, axis, grid=grid, free=free)
            out[label][f"{x}/{y}"] = {"x": axis.tolist(), "y": axis.tolist(),
                                      "delta": delta.tolist()}
    return out


def write_regions(output: str, quick: bool = False, names=None) -> list[str]:
    """regions.json, regions.csv (label, plane, x, y, delta) and regions.png in ``output``."""
    import matplotlib.pyplot as plt

    from ..plots.world import regions_figure

    found = regions(quick, names)
    os.makedirs(output, exist_ok=True)
    paths = [os.path.join(output, f) for f in ("regions.json", "regions.csv", "regions.png")]
    with open(paths[0], "w") as handle:
        json.dump({"level": 4.61, "unit": "1e-10 mu_B", "regions": found}, handle)
    with open(paths[1], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["data", "plane", "x", "y", "delta_twice_nll"])
        for label, planes in found.items():
            for plane, r in planes.items():
                for i, xv in enumerate(r["x"]):
                    for j, yv in enumerate(r["y"]):
                        writer.writerow([label, plane, xv, yv, r["delta"][i][j]])
    fig = regions_figure(found)
    fig.savefig(paths[2], dpi=120)
    plt.close(fig)
    return paths


def world_table(quick: bool = False, names=None) -> list[dict]:
    """The effective moment of each data set's own beams, alone (Wilks), with the published
    value of results.published where one exists, then its world_rows. (An effective moment means a
    different flavour/mass mixture in each beam, so it is not combined: the combination is
    :func:`data_results`, in |Lambda_i| and mu_alpha.)"""
    parts = measurements(names, quick)
    rows = []
    for name, m in parts.items():
        value = upper_limits(m.prefixed(name), EffectiveMoment(), ["mu"], upper=100.0)["mu"].value
        module = importlib.import_module(REAL_DATA[name].partition(":")[0])
        rows.append(dict(analysis=name, quantity="limit_mu_eff", computed=float(value),
                         uncertainty=None, published=None, unit="1e-10 mu_B",
                         method="wilks, 90% CL", reference=getattr(module, "REFERENCE", "")))
    return attach(rows) + world_rows()
