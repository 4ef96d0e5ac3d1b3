"""The moment-free fit of one real data set, as a user cites it.

:func:`fit` builds the data set's measurement with its CEvNS (or signal) strength free where
it has one, and runs :func:`cevns_jax.inference.fit_report.fit_report` on it (no magnetic
moment): every nuisance's best fit, Hessian 1 sigma, profile-likelihood interval and pull.
:func:`release` reads the provenance line of the data folder, :func:`figure` draws the data
with the fitted model and its components as the collaboration does (COHERENT CsI and LAr
projections, the Dresden-II Rx-ON spectrum).

Which measurement each name fits:

- ``coherent_csi2021``, ``coherent_csi2017``: the analyses' ``build("cevns")`` (CEvNS
  normalisation free, flux fixed: the two are degenerate), as in
  :func:`cevns_jax.results.coherent_csi.fit_cevns`;
- ``coherent_lar2020``: Analysis A with the CEvNS normalisation free, from the starts of
  :data:`cevns_jax.results.coherent_lar.STARTS`;
- ``dresden2``: ON + OFF with the CEvNS strength free (Fef quenching, the collaboration's
  preferred model; no nu-e term), 60 Newton steps as in :mod:`cevns_jax.results.dresden2`;
- ``xenonnt_8b``, ``xenonnt_er2022``: the measurements of the global fit (no free strength).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import re

import jax.numpy as jnp
import numpy as np

from ..inference.fit_report import fit_report
from ..precision import require_x64
from .global_fit import REAL_DATA

__all__ = ["DATA_SETS", "FitSetup", "figure", "fit", "release", "setup", "signal_summary"]

#: The data sets :func:`fit` knows: the real-data analyses of the global fit and CsI 2017.
DATA_SETS = tuple(sorted(set(REAL_DATA) | {"coherent_csi2017"}))


@dataclasses.dataclass(frozen=True)
class FitSetup:
    """What to fit: the measurement, the name of its strength nuisance (None: no free
    strength), extra starting points, Newton steps, and the data folder under
    ``cevns_jax/data``."""

    name: str
    measurement: object
    strength: str | None
    starts: tuple
    n_steps: int
    data_folder: str


def _csi(name):
    if name == "coherent_csi2021":
        from ..analyses import coherent_csi2021 as module
        experiment = module.csi2021_experiment()
    else:
        from ..analyses import coherent_csi2017 as module
        experiment = module.csi2017_experiment()
    return module.build("cevns", experiment=experiment), module.PREFIX + "cevns_norm", (), 30


def _lar(quick):
    from .coherent_lar import STARTS
    from ..analyses import coherent_lar2020 as lar
    return lar.measurement(), "cevns_norm", tuple(s for s in STARTS if s), 40


def _dresden2(quick):
    from ..quadrature import QuadratureConfig
    from . import dresden2 as d2
    quad = d2.QUICK_QUAD if quick else QuadratureConfig()
    m = d2.signal_measurement(d2.cevns_templates(d2.PREFERRED, quad),
                              d2.electron_templates("stepping", quad), "cevns",
                              strength="profiled")
    return m, "cevns_strength", (), d2.N_STEPS


def _global(name, quick):
    module, _, function = REAL_DATA[name].partition(":")
    return getattr(importlib.import_module(module), function)(quick=quick), None, (), 30


def setup(name: str, quick: bool = False) -> FitSetup:
    """The :class:`FitSetup` of data set ``name`` (one of :data:`DATA_SETS`); ``quick``:
    the coarser quadrature of the data set's quick mode where it has one. Built once per
    (name, quick) and kept: the same measurement object reuses the compiled fit kernels."""
    require_x64()
    if name not in DATA_SETS:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATA_SETS)}")
    return _setup(name, bool(quick))


@functools.lru_cache(maxsize=None)
def _setup(name: str, quick: bool) -> FitSetup:
    if name.startswith("coherent_csi"):
        parts = _csi(name)
    elif name == "coherent_lar2020":
        parts = _lar(quick)
    elif name == "dresden2":
        parts = _dresden2(quick)
    else:
        parts = _global(name, quick)
    return FitSetup(name, *parts, data_folder=name)


def _data_path(folder: str) -> str:
    return os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", folder)


def release(name: str) -> str:
    """The provenance of the data set's files: the ``Source:``/``Release:`` paragraph of its
    data folder's README.md, else the first ``source`` cell of the README's table, else the
    ``# Source:`` header line of its data files (whitespace collapsed)."""
    folder = _data_path(name)
    readme = os.path.join(folder, "README.md")
    if os.path.isfile(readme):
        with open(readme, encoding="utf-8") as handle:
            text = handle.read()
        for paragraph in re.split(r"\n\s*\n", text):
            if re.match(r"\s*(Source|Release):", paragraph):
                return " ".join(paragraph.split())
        rows = [line for line in text.splitlines() if line.startswith("|")]
        if len(rows) > 2:
            header = [c.strip().lower() for c in rows[0].strip("|").split("|")]
            if "source" in header:
                cells = rows[2].strip("|").split("|")
                return " ".join(cells[header.index("source")].split())
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.startswith("#"):
                    break
                if line.lstrip("# ").startswith("Source:"):
                    return " ".join(line.lstrip("# ").split())
    raise ValueError(f"no provenance found for {name!r} in {folder} (README.md or '# Source:')")


def signal_summary(fit_setup: FitSetup, report) -> dict:
    """The strength (best, Hessian 1 sigma, profile interval; None without a free strength)
    and the SM signal events at the best fit, summed over channels and beams (CEvNS; 0 for
    xenonnt_er2022, whose SM nu-e rate is inside its B0 background model)."""
    m = fit_setup.measurement
    nu = {k: jnp.asarray(v) for k, v in report.best.items()}
    events = sum(float(jnp.sum(c.components(nu).signal_sm)) for c in m.channels)
    out = {"strength_parameter": fit_setup.strength, "sm_signal_events": events}
    if fit_setup.strength is not None:
        s = report.nuisances[fit_setup.strength]
        out.update(strength=s.best, strength_hessian_sigma=s.hessian_sigma,
                   strength_interval=None if s.interval is None else list(s.interval))
    return out


def fit(name: str, quick: bool = False, **options):
    """(setup, :class:`~cevns_jax.inference.fit_report.FitReport`, signal summary) of the
    moment-free fit of ``name``; ``options`` go to ``fit_report``."""
    fit_setup = setup(name, quick)
    report = fit_report(fit_setup.measurement, starts=fit_setup.starts,
                        n_steps=fit_setup.n_steps, **options)
    return fit_setup, report, signal_summary(fit_setup, report)


def _csi_edges(name):
    if name == "coherent_csi2021":
        from ..analyses import coherent_csi2021 as a
        return a.PE_EDGES, a.T_EDGES_US, a.PREFIX
    from ..analyses import coherent_csi2017 as a
    return np.arange(6.0, 31.0, 2.0), np.arange(0.0, 6.01, 0.5), a.PREFIX


def figure(fit_setup: FitSetup, report):
    """A :class:`matplotlib.figure.Figure` of the data with the fitted model and its
    components, or None for data sets without such a figure in :mod:`cevns_jax.plots`."""
    from matplotlib.figure import Figure

    name, m, best = fit_setup.name, fit_setup.measurement, report.best
    if name.startswith("coherent_csi"):
        from ..plots.coherent import plot_csi_projection
        pe, t, prefix = _csi_edges(name)
        fig = Figure(figsize=(10, 4))
        for ax, axis in zip(fig.subplots(1, 2), ("pe", "time")):
            plot_csi_projection(ax, m, best, pe, t, axis, prefix)
    elif name == "coherent_lar2020":
        from ..plots.coherent_lar import plot_projection
        fig = Figure(figsize=(14, 4))
        for ax, axis in zip(fig.subplots(1, 3), ("energy", "f90", "time")):
            plot_projection(ax, m, best, axis)
    elif name == "dresden2":
        from ..analyses.dresden2 import background_rate
        from ..datasets.dresden2 import dresden2_spectra
        from ..plots.dresden2 import spectrum
        spectra = dresden2_spectra()
        energy = spectra.centres_kev
        strength = best["cevns_strength"]
        cevns = strength * np.asarray(m.channels[0].data["sm"]).sum(0)
        fig = Figure(figsize=(7, 4.5))
        ax = fig.subplots()
        spectrum(ax, energy, spectra.rate["on"], spectra.error["on"],
                 np.asarray(background_rate(jnp.asarray(energy), best, "on")),
                 {f"Fef x {strength:.2f} (fit)": cevns},
                 background_label="fitted background (CEvNS strength free)")
    else:
        return None
    fig.suptitle(f"{name}: data and moment-free best fit (-2 ln L = {report.twice_nll:.1f}, "
                 f"{report.n_bins} bins)", fontsize=10)
    fig.tight_layout()
    return fig
