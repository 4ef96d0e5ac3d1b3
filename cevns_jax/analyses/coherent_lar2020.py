"""COHERENT CENNS-10 liquid argon 2020 (Analysis A) as a binned Poisson :class:`Measurement`.

One channel of 12 (energy) x 8 (F90) x 10 (time) = 960 bins, flattened in that order, with
expected counts (COHERENT PRL 126, 012002 (2021); release companion arXiv:2006.12659)

    N = n_cevns [S_b(E) F(F90 | E; th_F90) T_b(t; t_POT)]_b            CEvNS, per beam b
        + (n_brn / 497) B(th_E, th_tmean, th_twidth)                    prompt BRN
        + (n_del / 33) D + (n_ss / 3152) SS                             delayed BRN, steady state

S_b, T_b from :mod:`.coherent_lar2020_response` (physics of the SM and unit-moment EM
counts), F the release's per-energy-bin CEvNS F90 shape, and B, D, SS the release's tables.
The systematic shapes of the release (companion Table 3) enter by piecewise-linear vertical
morphing, X(th) = X_0 + th (X_+ - X_0) for th >= 0 and th (X_0 - X_-) for th < 0, with
th ~ N(0, 1); a one-sided variant X_1 uses X_0 + th (X_1 - X_0) on both sides. The CEvNS
arrival-time shift is the physical POT-trace mean t_POT (prior 440 +- 200 ns, parameter
file), in place of the release's one-sided timing template.

Nuisances (priors as released): ``cevns_norm`` (x the SM and EM signal; free for the
fitted-events result, 17/128 for moment limits), ``pot_mean_us`` 0.44 +- 0.20,
``cevns_f90`` 0 +- 1, ``brn_prompt`` 497 +- 160, ``brn_delayed`` 33 +- 33, ``steady_state``
3152 +- 25 (beam-off statistics), ``brn_energy``, ``brn_timing_mean``, ``brn_timing_width``
0 +- 1. Event-count nuisances are bounded below by 0.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from ..datasets.coherent_lar2020 import SHAPE, load_coherent_lar2020
from ..likelihood.measurement import Channel, Components, Measurement, Nuisance
from .coherent_lar2020_response import (BEAMS, EnergyResponse, energy_templates, f90_shapes,
                                        lar_experiment, time_probabilities)

__all__ = ["CEVNS_PREDICTION_SIGMA", "build_templates", "expected_components", "measurement",
           "nuisances", "morph", "prompt_brn", "release_signal_measurement", "N_BINS"]

N_BINS = int(np.prod(SHAPE))
#: Relative uncertainty of the SM CEvNS prediction, 17 / 128 (release parameter file).
CEVNS_PREDICTION_SIGMA = 17.0 / 128.0
#: POT-trace width [us] (parameter file: 150 ns, uncertainty negligible).
POT_WIDTH_US = 0.150


def morph(nominal, up, down, theta):
    """Piecewise-linear vertical morphing: nominal + theta (up - nominal) for theta >= 0,
    nominal + theta (nominal - down) for theta < 0 (HistFactory interpolation code 0)."""
    return nominal + jnp.where(theta >= 0, theta * (up - nominal), theta * (nominal - down))


def nuisances(cevns_norm_sigma: float | None = None, parameters: dict | None = None) -> tuple:
    """The nuisances of the module docstring; ``cevns_norm_sigma`` None leaves the CEvNS
    normalisation free."""
    prm = parameters or load_coherent_lar2020().parameters
    pot_mean, pot_sigma = (v * 1e-3 for v in prm["pot_trace_a"])
    return (
        Nuisance("cevns_norm", 1.0, cevns_norm_sigma, lower=0.0),
        Nuisance("pot_mean_us", pot_mean, pot_sigma),
        Nuisance("cevns_f90", 0.0, 1.0),
        Nuisance("brn_prompt", *prm["prompt_brn_prediction_events"], lower=0.0),
        Nuisance("brn_delayed", *prm["delayed_brn_prediction_events"], lower=0.0),
        # the companion table's 3152 (the sum of the released pdf) with the file's +-25
        Nuisance("steady_state", 3152.0, prm["ss_bkg_prediction_events"][1], lower=0.0),
        Nuisance("brn_energy", 0.0, 1.0),
        Nuisance("brn_timing_mean", 0.0, 1.0),
        Nuisance("brn_timing_width", 0.0, 1.0),
    )


@functools.lru_cache(maxsize=4)
def build_templates(form_factor: str = "helm", n_nodes: int = 24) -> dict:
    """Arrays the expectation needs (NumPy/JAX leaves of the channel data), from the release
    and the physics response; the steady-state, BRN and delayed-BRN tables are divided by
    their stated totals so that their nuisances count events."""
    release = load_coherent_lar2020()
    prm = release.parameters
    experiment = lar_experiment(prm, form_factor)
    response = EnergyResponse(release.efficiency, prm["energy_resolution_a"][0])
    sm, em = energy_templates(experiment, response, prm["qf_a"][0], prm["qf_b"][0], n_nodes)
    t, s = release.tables, release.systematics
    flat = lambda a: jnp.asarray(np.asarray(a).ravel())
    return {
        "sm_energy": jnp.asarray(sm), "em_energy": jnp.asarray(em),
        "f90": jnp.asarray(f90_shapes(t["cevns"])),
        "f90_up": jnp.asarray(f90_shapes(s["cevns_f90_up"])),
        "f90_down": jnp.asarray(f90_shapes(s["cevns_f90_down"])),
        "brn": flat(t["brn_prompt"] / 497.0),
        "brn_energy_up": flat(s["brn_energy_up"] / 497.0),
        "brn_energy_down": flat(s["brn_energy_down"] / 497.0),
        "brn_timing_mean_up": flat(s["brn_timing_mean_up"] / 497.0),
        "brn_timing_mean_down": flat(s["brn_timing_mean_down"] / 497.0),
        "brn_timing_width": flat(s["brn_timing_width"] / 497.0),
        "brn_delayed": flat(t["brn_delayed"] / 33.0),
        "steady_state": flat(t["steady_state"] / 3152.0),
    }


def _signal(energy, f90, times):
    """(n_beams, N_BINS): energy (b, E) x F90 shape (E, F) x time (b, t)."""
    cube = energy[:, :, None, None] * f90[None, :, :, None] * times[:, None, None, :]
    return cube.reshape(energy.shape[0], -1)


def prompt_brn(data: dict, nu: dict):
    """Prompt BRN counts per bin: (n_brn / 497) x the template morphed by the energy, timing
    mean (two-sided) and timing width (one-sided) nuisances, floored at 0."""
    brn = data["brn"]
    brn = (morph(brn, data["brn_energy_up"], data["brn_energy_down"], nu["brn_energy"])
           + morph(brn, data["brn_timing_mean_up"], data["brn_timing_mean_down"],
                   nu["brn_timing_mean"])
           + nu["brn_timing_width"] * (data["brn_timing_width"] - brn) - brn)
    return nu["brn_prompt"] * jnp.maximum(brn, 0.0)


def expected_components(data: dict, nu: dict) -> Components:
    """Expected counts of the module docstring, split into SM / EM signal and background."""
    f90 = jnp.maximum(morph(data["f90"], data["f90_up"], data["f90_down"], nu["cevns_f90"]), 0.0)
    times = time_probabilities(nu["pot_mean_us"], POT_WIDTH_US)
    scale = nu["cevns_norm"]
    background = (prompt_brn(data, nu)
                  + nu["brn_delayed"] * data["brn_delayed"]
                  + nu["steady_state"] * data["steady_state"])
    return Components(scale * _signal(data["sm_energy"], f90, times),
                      scale * _signal(data["em_energy"], f90, times), background)


def measurement(cevns_norm_sigma: float | None = None, observed=None, form_factor: str = "helm",
                n_nodes: int = 24) -> Measurement:
    """The Analysis A measurement; ``observed`` replaces the released counts (toys, Asimov)."""
    release = load_coherent_lar2020()
    counts = release.tables["data"].ravel() if observed is None else np.asarray(observed)
    if counts.shape != (N_BINS,):
        raise ValueError(f"observed counts must have shape ({N_BINS},), got {counts.shape}")
    channel = Channel(observed=jnp.asarray(counts, dtype=jnp.float64),
                      data=build_templates(form_factor, n_nodes), name="coherent_lar2020",
                      beams=tuple(label for _, label in BEAMS),
                      expected_fn=expected_components, statistic="poisson")
    return Measurement((channel,), nuisances(cevns_norm_sigma, release.parameters),
                       name="coherent_lar2020")


def _release_signal_components(data: dict, nu: dict) -> Components:
    signal = morph(data["release_cevns"], data["release_f90_up"], data["release_f90_down"],
                   nu["cevns_f90"])
    signal = signal + nu["cevns_timing_mean"] * (data["release_timing"] - data["release_cevns"])
    signal = nu["cevns_norm"] * jnp.maximum(signal, 0.0)
    background = (prompt_brn(data, nu) + nu["brn_delayed"] * data["brn_delayed"]
                  + nu["steady_state"] * data["steady_state"])
    return Components(signal[None, :], jnp.zeros((1, N_BINS)), background)


def release_signal_measurement() -> Measurement:
    """Cross-check variant: the release's own CEvNS table (128 events) as the signal, with its
    F90 (+-1 sigma) and one-sided timing-mean (``cevns_timing_mean``, 0 +- 1) variants in place
    of the physics response; one row labelled "numu" with no EM template (no moment content)."""
    release = load_coherent_lar2020()
    data = dict(build_templates())
    flat = lambda a: jnp.asarray(np.asarray(a).ravel())
    data.update(release_cevns=flat(release.tables["cevns"]),
                release_f90_up=flat(release.systematics["cevns_f90_up"]),
                release_f90_down=flat(release.systematics["cevns_f90_down"]),
                release_timing=flat(release.systematics["cevns_timing_mean"]))
    channel = Channel(observed=jnp.asarray(release.tables["data"].ravel(), dtype=jnp.float64),
                      data=data, name="coherent_lar2020_release_signal", beams=("numu",),
                      expected_fn=_release_signal_components, statistic="poisson")
    nuis = tuple(n for n in nuisances(None, release.parameters) if n.name != "pot_mean_us")
    return Measurement((channel,), nuis + (Nuisance("cevns_timing_mean", 0.0, 1.0),),
                       name="coherent_lar2020_release_signal")
