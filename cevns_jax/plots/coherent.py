"""COHERENT CsI figures: data with the fitted model and its components, projected on PE or
on time. Functions draw on a given matplotlib ``ax`` (no backend choice, no ``show``)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

__all__ = ["fitted_components", "plot_csi_projection"]


def fitted_components(measurement, nu_hat, shape, prefix: str) -> dict:
    """Expected counts per component at ``nu_hat``, each reshaped to ``shape`` (n_pe, n_t):
    "CEvNS" (all beams), "steady state", and the beam-related neutron terms present in the
    channel data ("BRN", "NIN" for 2021; "prompt neutrons" for 2017)."""
    channel = measurement.channels[0]
    full = measurement.nominal_nuisances()
    full.update({k: jnp.asarray(v) for k, v in nu_hat.items()})
    comp = channel.components(full)
    data = channel.data
    out = {"CEvNS": np.asarray(jnp.sum(comp.signal_sm, axis=0)).reshape(shape),
           "steady state": np.asarray(full[prefix + "ss_norm"] * data["ss"]).reshape(shape)}
    if "brn" in data:
        out["BRN"] = np.asarray(full[prefix + "brn_norm"] * data["brn"]).reshape(shape)
        out["NIN"] = np.asarray(full[prefix + "nin_norm"] * data["nin"]).reshape(shape)
    else:
        rest = np.asarray(comp.background).reshape(shape) - out["steady state"]
        out["prompt neutrons"] = rest
    return out


def plot_csi_projection(ax, measurement, nu_hat, pe_edges, t_edges, axis: str = "pe",
                        prefix: str = "csi2021_"):
    """Observed counts (Poisson error bars) and the stacked fitted components, summed over
    time (``axis="pe"``) or over PE (``axis="time"``). Returns ``ax``."""
    if axis not in ("pe", "time"):
        raise ValueError(f"axis must be 'pe' or 'time', got {axis!r}")
    pe_edges, t_edges = np.asarray(pe_edges, float), np.asarray(t_edges, float)
    shape = (pe_edges.size - 1, t_edges.size - 1)
    observed = np.asarray(measurement.channels[0].observed).reshape(shape)
    parts = fitted_components(measurement, nu_hat, shape, prefix)
    sum_axis, edges = (1, pe_edges) if axis == "pe" else (0, t_edges)
    widths = np.diff(edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    bottom = np.zeros(widths.size)
    order = [k for k in ("steady state", "prompt neutrons", "BRN", "NIN", "CEvNS") if k in parts]
    for name in order:
        values = parts[name].sum(axis=sum_axis) / widths
        ax.bar(edges[:-1], values, width=widths, bottom=bottom, align="edge", alpha=0.7,
               label=name)
        bottom = bottom + values
    counts = observed.sum(axis=sum_axis)
    ax.errorbar(centres, counts / widths, yerr=np.sqrt(counts) / widths, fmt="o", color="k",
                ms=3, label="data (C, beam on)")
    ax.set_xlabel("reconstructed PE" if axis == "pe" else "t_rec [us]")
    ax.set_ylabel("events per PE" if axis == "pe" else "events per us")
    ax.legend(fontsize="small")
    return ax
