"""Measurements for posteriors: paper 000's statistics on catalogue experiments, as the shared
:class:`cevns_jax.likelihood.measurement.Measurement`.

There is no statistic here: every constructor returns the measurement every other inference
path consumes, with its nuisances renamed ``<NAME:SETUP>/<nuisance>`` so that measurements of
different experiments add without sharing a nuisance. The statistics (``statistic=``):

* ``"eq34"``: paper 000 Eq. (34), COHERENT CsI 2017, one count with signal (a1, sigma 0.28) and
  prompt-neutron background (a2, sigma 0.25) normalisations,
  variance N_meas + B_0n + 2 B_ss (:func:`cevns_jax.likelihood.counting.total_count_measurement`);
* ``"eq35"``: Eq. (35), one count, one signal normalisation (sigma_sys), the variance of the
  chosen reading of its denominator (:func:`cevns_jax.likelihood.statistics.single_nuisance_variance`);
* ``"poisson"``: Poisson counts per bin with a signal normalisation (sigma_norm, 1 + a >= 0.01)
  (:func:`cevns_jax.likelihood.counting.binned_poisson_measurement`);
* ``"gaussian"``: one count, variance sigma^2, no free nuisance (toys).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Mapping

import numpy as np

from ...effective_moments import beam_flavours
from ...likelihood.counting import binned_poisson_measurement, total_count_measurement
from ...likelihood.measurement import Measurement
from ...likelihood.physics_model import MassStateBeam
from ...likelihood.statistics import (DENOMINATORS, EQ35_SIGMA, paper000_statistic,
                                      single_nuisance_variance)
from ...moments import solar_mass_probabilities

__all__ = ["CSI_2017_MEASURED", "STATISTICS", "custom_measurement", "default_statistic",
           "describe", "make_measurement", "nuisance_key"]

STATISTICS = ("eq34", "eq35", "poisson", "gaussian")

#: Measured COHERENT CsI 2017 counts behind paper 000 Eq. (34).
CSI_2017_MEASURED = 142.0

#: The other numbers quoted with Eq. (34) (COHERENT, Science 357, 1123 (2017)).
_EQ34_DEFAULTS = {"b_0n": 6.0, "b_ss": 405.0, "sigma_a1": 0.28, "sigma_a2": 0.25}

_OPTIONS = {"eq34": set(_EQ34_DEFAULTS), "eq35": {"sigma_stat", "sigma_sys", "denominator"},
            "poisson": {"background", "sigma_norm"}, "gaussian": {"sigma"}}


def nuisance_key(name: str) -> str:
    """Result name of a nuisance: ``"COHERENT-CsI:current/signal"`` ->
    ``"COHERENT_CsI_current__signal"`` (letters, digits and underscores only)."""
    return "__".join(re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_") for part in name.split("/"))


def default_statistic(name: str, setup: str) -> str:
    """Paper 000's statistic: Eq. (34) for COHERENT CsI current, Eq. (35) otherwise."""
    return paper000_statistic(name, setup)


def _options(statistic, options, setup):
    """The statistic's options completed with paper 000's values."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    options = dict(options or {})
    unknown = sorted(set(options) - _OPTIONS[statistic])
    if unknown:
        raise ValueError(f"options {unknown} are not known to statistic {statistic!r}; "
                         f"allowed: {sorted(_OPTIONS[statistic])}")
    sigma = EQ35_SIGMA.get(setup, EQ35_SIGMA["current"])   # paper 000 below Eq. (35)
    defaults = {"eq34": _EQ34_DEFAULTS,
                "eq35": {"sigma_stat": sigma, "sigma_sys": sigma, "denominator": "printed"},
                "poisson": {"background": 0.0, "sigma_norm": sigma}, "gaussian": {}}[statistic]
    full = {**defaults, **options}
    if statistic == "gaussian" and "sigma" not in full:
        raise ValueError("statistic 'gaussian' needs options={'sigma': ...} (absolute, events)")
    if statistic == "eq35" and full["denominator"] not in DENOMINATORS:
        raise ValueError(f"denominator must be one of {DENOMINATORS}, got {full['denominator']!r}")
    for key, value in full.items():
        if key.startswith("sigma") and not (np.isfinite(value) and value > 0):
            raise ValueError(f"{key} must be finite and > 0, got {value!r}")
    return full


def custom_measurement(name, flavours, sm, em, *, statistic="gaussian", n_obs, setup="custom",
                       options=None, pe1_2nu=None) -> Measurement:
    """The shared measurement of ``statistic`` for explicit templates (toys, external
    experiments): ``sm``/``em`` of shape (n_beams, n_bins) (EM at mu = 1e-10 mu_B),
    ``flavours`` one beam label per row, ``n_obs`` the observed total (per bin for
    ``"poisson"``). ``pe1_2nu`` turns ``"nue_solar"`` beams into mass-state beams (paper 000
    Eq. 38). Nuisances are named ``"<name>:<setup>/<nuisance>"``."""
    full = _options(statistic, options, setup)
    sm = np.asarray(sm, dtype=float)
    em = np.asarray(em, dtype=float)
    if sm.ndim != 2 or sm.shape != em.shape:
        raise ValueError(f"templates must share a (n_beams, n_bins) shape, got {sm.shape}, "
                         f"{em.shape}")
    beams = tuple(flavours)
    if len(beams) != sm.shape[0]:
        raise ValueError(f"{len(beams)} flavours {beams} for {sm.shape[0]} beams")
    if pe1_2nu is not None:
        p = np.asarray(solar_mass_probabilities(pe1_2nu))
        beams = tuple(MassStateBeam("solar", *p) if b == "nue_solar" else b for b in beams)
    n_obs = np.asarray(n_obs, dtype=float)
    want = (sm.shape[1],) if statistic == "poisson" else ()
    if n_obs.shape != want:
        raise ValueError(f"n_obs for statistic {statistic!r} must have shape {want}, "
                         f"got {n_obs.shape}")
    if not np.all(np.isfinite(n_obs)) or np.any(n_obs < 0):
        raise ValueError(f"n_obs must be finite and >= 0, got {n_obs!r}")
    label = f"{name}:{setup}"
    totals = dict(sm=sm.sum(axis=1), em=em.sum(axis=1), n_obs=float(n_obs.sum()))
    if statistic == "eq34":
        out = total_count_measurement(
            label, beams, **totals, variance=totals["n_obs"] + full["b_0n"] + 2.0 * full["b_ss"],
            signal_sigma=full["sigma_a1"], background=full["b_0n"],
            background_sigma=full["sigma_a2"])
    elif statistic == "eq35":
        variance = float(single_nuisance_variance(totals["n_obs"], full["sigma_stat"],
                                                  full["denominator"]))
        out = total_count_measurement(label, beams, **totals, variance=variance,
                                      signal_sigma=full["sigma_sys"])
    elif statistic == "poisson":
        out = binned_poisson_measurement(label, beams, sm, em, n_obs=n_obs,
                                         background=full["background"],
                                         signal_sigma=full["sigma_norm"])
    else:
        out = total_count_measurement(label, beams, **totals, variance=float(full["sigma"]) ** 2,
                                      signal_sigma=1.0, treatment="fixed")
    return dataclasses.replace(out.prefixed(label), name=label)


def _resolve_experiment(experiment):
    from ...experiments import Experiment, build_experiment, get_config

    if isinstance(experiment, Experiment):
        return experiment
    if isinstance(experiment, Mapping):
        return build_experiment(dict(experiment))
    if isinstance(experiment, str):
        name, _, setup = experiment.partition(":")
        return build_experiment(get_config(name, setup or "current"))
    if isinstance(experiment, tuple) and len(experiment) == 2:
        return build_experiment(get_config(*experiment))
    raise TypeError(f"experiment must be an Experiment, a config dict, 'NAME:SETUP' or "
                    f"(name, setup); got {experiment!r}")


def make_measurement(experiment, *, statistic=None, data=None, truth_mu2=None, options=None,
                     pe1_2nu=None, quad=None) -> Measurement:
    """The shared measurement of a catalogue experiment (or config / built Experiment) with
    the templates of :func:`cevns_jax.rates.binned_templates` at the configuration's default
    parameters.

    ``statistic``: one of :data:`STATISTICS`, default :func:`default_statistic`.
    ``data``: ``"measured"`` (Eq. 34 only: N_meas = 142 of COHERENT 2017, the default there),
    ``"asimov"`` (default otherwise: the expected counts at ``truth_mu2``, per beam in
    (1e-10 mu_B)^2, zero by default, nuisances at nominal), or explicit counts (a total, or
    per bin for Poisson).
    """
    from ...quadrature import QuadratureConfig
    from ...rates import binned_templates

    exp = _resolve_experiment(experiment)
    statistic = statistic or default_statistic(exp.name, exp.setup)
    full = _options(statistic, options, exp.setup)
    if data is None:
        data = "measured" if statistic == "eq34" else "asimov"
    asimov = isinstance(data, str) and data == "asimov"
    if isinstance(data, str) and not asimov:
        if data != "measured":
            raise ValueError(f"data must be 'measured', 'asimov' or counts, got {data!r}")
        if statistic != "eq34":
            raise ValueError(f"data='measured' is only defined for Eq. 34 (COHERENT CsI "
                             f"2017); {exp.label} with {statistic!r} needs 'asimov' or "
                             f"explicit counts")
        data = CSI_2017_MEASURED
    templates = binned_templates(exp, quad=quad or QuadratureConfig())
    sm, em = np.asarray(templates.sm), np.asarray(templates.em)
    placeholder = np.sum(sm, axis=0) if statistic == "poisson" else np.sum(sm)

    def build(n_obs):
        return custom_measurement(exp.name, beam_flavours(exp), sm, em, statistic=statistic,
                                  n_obs=n_obs, setup=exp.setup, options=full, pe1_2nu=pe1_2nu)

    meas = build(placeholder if asimov else data)
    if not asimov:
        return meas
    mu2 = np.zeros(sm.shape[0]) if truth_mu2 is None else np.asarray(truth_mu2, float)
    if mu2.shape not in ((), (sm.shape[0],)):
        raise ValueError(f"truth_mu2 must be scalar or one value per beam ({sm.shape[0]}), "
                         f"got shape {mu2.shape}")
    (expected,) = meas.expected([np.broadcast_to(mu2, (sm.shape[0],))])
    expected = np.asarray(expected)
    # the totals' variances are computed from N_meas: rebuild rather than replace the counts
    return build(expected if statistic == "poisson" else float(expected[0]))


def describe(measurement: Measurement) -> dict:
    """JSON summary: channels (statistic, beams, observed counts, SM and unit-moment EM
    totals per beam at nominal nuisances) and nuisances (prior and treatment)."""
    nominal = measurement.nominal_nuisances()
    channels = []
    for c in measurement.channels:
        comp = c.components(nominal)
        channels.append({"name": c.name, "statistic": c.statistic,
                         "beams": [b if isinstance(b, str) else b._asdict() for b in c.beams],
                         "observed": np.asarray(c.observed).tolist(),
                         "sm_per_beam": np.sum(np.asarray(comp.signal_sm), axis=1).tolist(),
                         "em_per_beam": np.sum(np.asarray(comp.signal_em), axis=1).tolist(),
                         "background": float(np.sum(np.asarray(comp.background)))})
    nuisances = [{"name": n.name, "key": nuisance_key(n.name), "nominal": n.nominal,
                  "sigma": n.sigma, "lower": n.lower, "upper": n.upper,
                  "treatment": n.treatment} for n in measurement.nuisances]
    return {"name": measurement.name, "channels": channels, "nuisances": nuisances}
