"""Event-count tables for catalogue experiments (the `cevns-jax rates` job)."""

from __future__ import annotations

import csv


from .experiments import build_experiment, get_config, list_experiments
from .quadrature import QuadratureConfig
from .rates import binned_templates

COUNT_COLUMNS = ("experiment", "setup", "group", "beam", "n_sm", "n_sm_unit", "n_em",
                 "n_em_unit")
#: Units of the count columns: n_em is the EM count for a moment of 1e-10 mu_B (it scales as
#: mu^2 in units of (1e-10 mu_B)^2).
COUNT_UNITS = {"n_sm_unit": "events", "n_em_unit": "events at mu = 1e-10 mu_B"}

#: COHERENT's own SM prediction for the 2017 CsI run: 173 +- 48 events (Science 357, 1123).
COHERENT_CSI2017_PREDICTION = (173.0, 48.0)


def experiment_counts(experiment, quad: QuadratureConfig = QuadratureConfig()) -> list[dict]:
    """One row per beam: SM events and EM events for mu = 1e-10 mu_B, summed over bins."""
    templates = binned_templates(experiment, quad=quad)
    return [
        {"experiment": experiment.name, "setup": experiment.setup, "group": experiment.group,
         "beam": beam, "n_sm": float(templates.sm[i].sum()), "n_em": float(templates.em[i].sum())}
        for i, beam in enumerate(experiment.beam_names)
    ]


def catalog_counts(keys=None, quad: QuadratureConfig = QuadratureConfig(), progress=None) -> list[dict]:
    """Rows of :func:`experiment_counts` for every (name, setup) in ``keys`` (default: all)."""
    rows = []
    for name, setup in keys or list_experiments():
        rows.extend(experiment_counts(build_experiment(get_config(name, setup)), quad))
        if progress is not None:
            progress(name, setup)
    return rows


def format_counts_table(rows: list[dict]) -> str:
    """Markdown table of the counts rows."""
    lines = ["| experiment | setup | beam | N_SM | N_EM (mu = 1e-10 mu_B) |",
             "|---|---|---|---:|---:|"]
    lines += [f"| {r['experiment']} | {r['setup']} | {r['beam']} | {r['n_sm']:.4g} | {r['n_em']:.4g} |"
              for r in rows]
    return "\n".join(lines)


def write_counts_csv(rows: list[dict], path) -> None:
    """Write the counts rows to CSV with the unit columns of :data:`COUNT_UNITS`."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COUNT_COLUMNS)
        writer.writeheader()
        writer.writerows({**row, **COUNT_UNITS} for row in rows)
