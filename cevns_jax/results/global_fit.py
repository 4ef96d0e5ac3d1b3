"""Global real-data fit of the neutrino magnetic moments.

The real-data measurements (each an analysis of :mod:`cevns_jax.analyses`) are prefixed with
their name and added (:meth:`~cevns_jax.likelihood.Measurement.__add__`): the physics
parameters are shared, every experiment keeps its own nuisances. Limits at 90% C.L.:

- ``wilks``: Delta(-2 ln L) = 2.71 from the minimum over the parameter >= 0
  (:func:`cevns_jax.inference.profile_likelihood.upper_limit`); for the transition moments
  the phases xi1, xi3 are profiled on a grid (the worst case over them);
- ``toys``: the Feldman-Cousins construction of :mod:`cevns_jax.inference.toys` with the
  phases at zero (reactor and solar beams do not depend on them; only the SNS beams do).

Each row names the data sets it combines; :func:`world_table` puts every data set alone and
the combination side by side with the published limits.
"""

from __future__ import annotations

import functools
import importlib
import operator

import jax
import numpy as np

from ..inference import toys as toy_engine
from ..inference.profile_likelihood import upper_limit
from ..likelihood.physics_model import EffectiveMoment, FlavourMoments, TransitionMoments
from ..precision import require_x64
from .published import attach, world_rows

__all__ = ["REAL_DATA", "combined_measurement", "data_results", "limit", "world_table"]

#: Real-data analyses: name -> "module:function" returning its Measurement (``quick`` flag).
REAL_DATA = {
    "coherent_csi2021": "cevns_jax.results.coherent_csi:build_measurement",
    "coherent_lar2020": "cevns_jax.results.coherent_lar:build_measurement",
    "dresden2": "cevns_jax.results.dresden2:build_measurement",
    "xenonnt_8b": "cevns_jax.results.xenonnt_8b:build_measurement",
    "xenonnt_er2022": "cevns_jax.results.xenonnt_er2022:build_measurement",
}

#: Parameters reported: (name, model, search upper end in 1e-10 mu_B).
PARAMETERS = (("lambda1", "tmm"), ("lambda2", "tmm"), ("lambda3", "tmm"),
              ("mu_e", "flavour"), ("mu_mu", "flavour"), ("mu_tau", "flavour"))
def phase_grid(n: int) -> dict:
    """n x n points of (xi1, xi3) on [0, 2 pi) for profiling the phases."""
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


def combined_measurement(parts: dict):
    """The sum of the measurements, each with its nuisances prefixed by its name."""
    return functools.reduce(operator.add, [m.prefixed(n) for n, m in parts.items()])


def _model(kind):
    return TransitionMoments() if kind == "tmm" else FlavourMoments()


def limit(measurement, name: str, kind: str, *, method: str = "wilks", upper: float = 100.0,
          n_toys: int = 1000, n_points: int = 12, key=None, n_phases: int = 8):
    """90% C.L. upper limit on ``name`` ([1e-10 mu_B]); NaN with no sensitivity. Wilks limits
    on transition moments take the worst case over an ``n_phases`` x ``n_phases`` grid of
    (xi1, xi3); toys hold the phases at zero."""
    require_x64()
    model = _model(kind)
    grid = phase_grid(n_phases) if kind == "tmm" else None
    wilks = upper_limit(measurement, model, name, upper=upper, profile_grid=grid)
    if method == "wilks" or not wilks.valid:
        return wilks.value
    if method != "toys":
        raise ValueError(f"method must be 'wilks' or 'toys', got {method!r}")
    x_points = np.linspace(0.25, 1.5, n_points) * wilks.value
    result = toy_engine.neyman_upper_limit(
        measurement, model, name, x_points, n_toys=n_toys,
        key=jax.random.PRNGKey(0) if key is None else key, batch_size=n_toys,
        upper=3.0 * x_points[-1], n_steps=20)
    return result.value


def _row(analysis, quantity, computed, method, published=None, reference=""):
    return dict(analysis=analysis, quantity=quantity, computed=float(computed),
                uncertainty=None, published=published, unit="1e-10 mu_B", method=method,
                reference=reference)


#: Single data sets whose limits are also given from toys: (data set, parameter).
TOYS_ALONE = (("coherent_csi2021", "mu_mu"), ("xenonnt_er2022", "mu_e"))


def data_results(quick: bool = False, names=None) -> list[dict]:
    """Rows ``global`` x ``limit_<parameter>`` with methods ``wilks`` and ``toys``, and the
    Wilks-vs-toys comparison for the single data sets of :data:`TOYS_ALONE`."""
    parts = measurements(names, quick)
    combined = combined_measurement(parts)
    label = "+".join(parts)
    rows = []
    for data_set, name in TOYS_ALONE:
        if data_set not in parts:
            continue
        alone = parts[data_set].prefixed(data_set)
        for method in ("wilks", "toys"):
            value = limit(alone, name, "flavour", method=method, n_toys=200 if quick else 1000,
                          n_points=6 if quick else 12)
            rows.append(_row(data_set, f"limit_{name.replace('mu_', 'mu_nu')}", value,
                             f"{method}, 90% CL, this data set alone, other moments 0"))
    for name, kind in PARAMETERS:
        for method in ("wilks", "toys"):
            value = limit(combined, name, kind, method=method,
                          n_toys=64 if quick else 1000, n_points=4 if quick else 12,
                          n_phases=3 if quick else 8)
            quantity = f"limit_{name}" if kind == "tmm" else f"limit_{name.replace('mu_', 'mu_nu')}"
            rows.append(_row("global", quantity, value,
                             f"{method}, 90% CL, combined {label}"
                             + (", phases profiled" if kind == "tmm" and method == "wilks"
                                else ", phases 0" if kind == "tmm" else "")))
    return attach(rows)


def world_table(quick: bool = False, names=None) -> list[dict]:
    """The effective moment of each data set's own beams, alone (Wilks), with the published
    value of results.published where one exists, then its world_rows. (An effective moment means a
    different flavour/mass mixture in each beam, so it is not combined: the combination is
    :func:`data_results`, in |Lambda_i| and mu_alpha.)"""
    parts = measurements(names, quick)
    rows = []
    for name, m in parts.items():
        value = upper_limit(m.prefixed(name), EffectiveMoment(), "mu", upper=100.0).value
        module = importlib.import_module(REAL_DATA[name].partition(":")[0])
        rows.append(_row(name, "limit_mu_eff", value, "wilks, 90% CL", None,
                         getattr(module, "REFERENCE", "")))
    return attach(rows) + world_rows()
