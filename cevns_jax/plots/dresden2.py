"""The Dresden-II Rx-ON spectrum with the fitted background, the CEvNS prediction of each Ge
quenching model and a nu-e magnetic-moment signal (curves from
:func:`cevns_jax.results.dresden2.spectrum_curves`)."""

from __future__ import annotations

import numpy as np

__all__ = ["spectrum"]

#: Label and line style of each quenching model.
#: (Lindhard and modified Lindhard nearly coincide: Lindhard is dash-dotted, drawn on top).
_STYLES = {"lindhard": ("Lindhard", "-.", 3), "modified_lindhard": ("modified Lindhard", "-", 2),
           "fef": ("Fef", "-", 2), "ybe": ("YBe", "-", 2)}


def spectrum(ax, energy_kev, rate, error, background, cevns: dict, electron=None,
             mu_electron: float | None = None, *, residuals: bool = False,
             e_max_kev: float = 0.6, background_label: str = "fitted background"):
    """Draw the ON rate (points with errors) up to ``e_max_kev``, the fitted ``background``
    (dashed), background + SM CEvNS for every quenching model of ``cevns`` ({name: rate}),
    and background + ``electron`` (the nu-e EM rate at ``mu_electron`` [1e-10 mu_B]).
    ``residuals=True``: data minus background and the signals alone, linear scale.
    Rates in counts / (10 eV 3 kg day) per 10-eVee bin; returns ``ax``."""
    energy_kev, rate, error, background = (np.asarray(a, dtype=float) for a in
                                           (energy_kev, rate, error, background))
    if not (energy_kev.shape == rate.shape == error.shape == background.shape):
        raise ValueError(f"energy, rate, error and background need one shape, got "
                         f"{[a.shape for a in (energy_kev, rate, error, background)]}")
    keep = energy_kev <= e_max_kev
    base = np.zeros_like(background) if residuals else background
    e = energy_kev[keep]
    ax.errorbar(e, (rate - background + base)[keep], yerr=error[keep], fmt="o", ms=2.5,
                color="k", elinewidth=0.7,
                label="Rx-ON data (96.4 d)" + (" - background" if residuals else ""))
    ax.plot(e, base[keep], "--", color="0.4", lw=1.2,
            label="zero" if residuals else background_label)
    for name, signal in cevns.items():
        label, style, order = _STYLES.get(name, (name, "-", 2))
        ax.plot(e, (base + np.asarray(signal))[keep], style, lw=1.4, zorder=order,
                label=("" if residuals else "background + ") + f"CEvNS (SM), {label}")
    if electron is not None:
        mu = "" if mu_electron is None else rf", $\mu_\nu = {mu_electron:.2g}\times10^{{-10}}\mu_B$"
        ax.plot(e, (base + np.asarray(electron))[keep], ":", lw=1.8, color="tab:purple",
                label=("" if residuals else "background + ") + rf"$\nu$-$e$ magnetic moment{mu}")
    if not residuals:
        ax.set_yscale("log")
    ax.set_xlim(energy_kev[0] - 0.005, e_max_kev)
    ax.set_xlabel("electron-equivalent energy [keVee]")
    ax.set_ylabel(("data - background" if residuals else "rate")
                  + " [counts/(10 eVee 3 kg day)]")
    ax.legend(fontsize=7, loc="upper right", frameon=False)
    return ax


def figure(curves: dict, quenching: str = "fef"):
    """A two-panel :class:`matplotlib.figure.Figure` (spectrum above, residuals below) of the
    ``curves`` of :func:`cevns_jax.results.dresden2.fit_summary`; the background is that of
    the ``quenching`` fit."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 7.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    args = (curves["energy_kev"], curves["rate"], curves["error"], curves["background"],
            curves["cevns_models"], curves["electron"], curves["mu_electron"])
    name = _STYLES.get(quenching, (quenching,))[0]
    spectrum(top, *args, background_label=f"fitted background ({name} fit, SM CEvNS)")
    spectrum(bottom, *args, residuals=True)
    top.set_xlabel("")
    top.set_title("Dresden-II Rx-ON spectrum", fontsize=10)
    fig.tight_layout()
    return fig
