"""COHERENT CENNS-10 LAr 2020 (Analysis A): data and fitted model projected on one axis.

Each projection sums the 12 (energy) x 8 (F90) x 10 (time) bins over the two other axes,
as in Fig. 4 of PRL 126, 012002 (2021) but without subtracting the steady state: data with
Poisson errors, and the fitted steady state, prompt BRN, delayed BRN and CEvNS stacked.
"""

from __future__ import annotations

import numpy as np

from ..analyses import coherent_lar2020 as lar
from ..datasets.coherent_lar2020 import ENERGY_EDGES_KEVEE, F90_EDGES, SHAPE, TIME_EDGES_US

__all__ = ["AXES", "projections", "plot_projection"]

#: axis name -> (index in the 3-D table, bin edges, label)
AXES = {"energy": (0, ENERGY_EDGES_KEVEE, "reconstructed energy [keVee]"),
        "f90": (1, F90_EDGES, "F90"),
        "time": (2, TIME_EDGES_US, r"trigger time [$\mu$s]")}


def projections(measurement, nu: dict, axis: str) -> dict:
    """Data and each fitted component summed onto ``axis`` ("energy", "f90" or "time")."""
    if axis not in AXES:
        raise KeyError(f"unknown axis {axis!r}; expected one of {tuple(AXES)}")
    index = AXES[axis][0]
    others = tuple(i for i in range(3) if i != index)
    channel = measurement.channels[0]
    data, nu = channel.data, {k: np.asarray(v) for k, v in nu.items()}
    comp = lar.expected_components(data, nu)
    parts = {"steady state": nu["steady_state"] * np.asarray(data["steady_state"]),
             "prompt BRN": np.asarray(lar.prompt_brn(data, nu)),
             "delayed BRN": nu["brn_delayed"] * np.asarray(data["brn_delayed"]),
             "CEvNS": np.asarray(comp.signal_sm).sum(axis=0)}
    project = lambda a: np.asarray(a).reshape(SHAPE).sum(axis=others)
    return {"data": project(channel.observed),
            "components": {k: project(v) for k, v in parts.items()}}


def plot_projection(ax, measurement, nu: dict, axis: str = "energy"):
    """Draw data (points, Poisson errors) over the stacked fitted components on ``ax``."""
    proj = projections(measurement, nu, axis)
    _, edges, label = AXES[axis]
    bottom = np.zeros(edges.size - 1)
    for name, values in proj["components"].items():
        ax.stairs(bottom + values, edges, baseline=bottom, fill=True, alpha=0.6, label=name)
        bottom = bottom + values
    ax.stairs(bottom, edges, color="k", lw=1.0, label="fit total")
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.errorbar(centres, proj["data"], yerr=np.sqrt(proj["data"]), fmt="o", color="k", ms=3,
                label="data")
    ax.set_xlabel(label)
    ax.set_ylabel("events per bin")
    ax.legend(fontsize="small")
    return ax
