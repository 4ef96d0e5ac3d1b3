"""Paper 000 Table II reactor rows of the germanium detectors recomputed under each Ge
quenching model (:mod:`cevns_jax.physics.quenching`): the 90 % C.L. limits on |Lambda_i|
(paper 000 Sect. 5, Eq. 35 on Asimov data, :mod:`cevns_jax.papers.paper000` readings) with the
catalogue setup's ``detector.quenching.model`` replaced.

Rows: CONUS and TEXONO (pure Ge), current and future, Lambda_1..3. MINER ("2Ge:1Si") is left
out: the Fef and YBe tables are germanium calibrations and say nothing about its Si atoms.
The thresholds are electron-equivalent (catalogue reading), so the quenching model sets the
nuclear-recoil threshold and the recoil spectrum seen above it.
"""

from __future__ import annotations

import numpy as np

from ..experiments import build_experiment
from ..papers.paper000 import (PARAMETERS, SETUPS, TABLE2, ExperimentCounts, Paper000Options,
                               analysis_config, single_parameter_limits)
from ..physics.quenching import QUENCHING_MODELS
from ..precision import require_x64
from ..rates import binned_templates

GE_REACTORS = ("CONUS", "TEXONO")
ANALYSIS = "paper000_reactor_quenching"
REFERENCE = "Miranda et al., JHEP 07 (2019) 103 (paper 000), Table II"


def counts_with_quenching(name: str, setup: str, model: str,
                          options: Paper000Options = Paper000Options()) -> ExperimentCounts:
    """Per-beam SM and unit-moment EM counts of a catalogue setup with quenching ``model``."""
    config = analysis_config(name, setup, options)
    config["detector"]["quenching"] = {"model": model}
    experiment = build_experiment(config)
    t = binned_templates(experiment, quad=options.quad)
    return ExperimentCounts(name, setup, experiment.beam_names,
                            tuple(b.flavour for b in experiment.beams),
                            np.asarray(t.sm.sum(1)), np.asarray(t.em.sum(1)))


def quenching_table(options: Paper000Options = Paper000Options(),
                    detectors=GE_REACTORS, models=QUENCHING_MODELS,
                    setups=SETUPS) -> list[dict]:
    """One row per (detector, setup, Lambda_i): the paper's value and the limit under each model
    (keys ``paper`` and one per model name), plus the SM counts per model (``n_sm_<model>``)."""
    require_x64()
    rows = []
    for name in detectors:
        for setup in setups:
            s = SETUPS.index(setup)
            limits, n_sm = {}, {}
            for model in models:
                counts = counts_with_quenching(name, setup, model, options)
                limits[model] = single_parameter_limits(
                    counts, [("reactor", i) for i in range(3)], options)
                n_sm[model] = float(counts.sm.sum())
            for i, parameter in enumerate(PARAMETERS):
                row = {"detector": name, "setup": setup, "parameter": parameter,
                       "paper": TABLE2[("reactor", name)][s][i]}
                row.update({model: float(limits[model][i]) for model in models})
                row.update({f"n_sm_{model}": n_sm[model] for model in models})
                rows.append(row)
    return rows


def format_quenching_table(rows: list[dict], models=QUENCHING_MODELS) -> str:
    """Markdown: paper value and the limit under each model [1e-10 mu_B]."""
    head = "| detector | setup | parameter | paper | " + " | ".join(models) + " |"
    lines = [head, "|---|---|---|---:|" + "---:|" * len(models)]
    for r in rows:
        cells = " | ".join(f"{r[m]:.3g}" for m in models)
        lines.append(f"| {r['detector']} | {r['setup']} | {r['parameter']} | {r['paper']:.3g} | "
                     f"{cells} |")
    return "\n".join(lines)


def data_results(quick: bool = False) -> list[dict]:
    """The table as result rows (analysis "paper000_reactor_quenching"); ``quick``: current
    setups only."""
    table = quenching_table(setups=("current",) if quick else SETUPS)
    out = []
    for r in table:
        for model in QUENCHING_MODELS:
            out.append({"analysis": ANALYSIS,
                        "quantity": f"limit_{r['parameter']}_{r['detector']}_{r['setup']}_{model}",
                        "computed": r[model], "uncertainty": None, "published": r["paper"],
                        "unit": "1e-10 mu_B",
                        "method": f"paper 000 Eq. 35 (Asimov, Delta chi2 = 2.71), {model} "
                                  "quenching",
                        "reference": REFERENCE})
    return out
