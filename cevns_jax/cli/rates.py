"""``cevns-jax rates``: SM and unit-moment EM event counts per beam (paper 000 Eq. 33)."""

from __future__ import annotations

import os
import time

from .common import add_parser, build_experiments, prepare_output, stderr


def run(args) -> int:
    from ..experiments import build_experiment, get_config, list_experiments
    from ..quadrature import QuadratureConfig
    from ..summary import (COHERENT_CSI2017_PREDICTION, experiment_counts,
                           format_counts_table, write_counts_csv)

    if args.output:
        prepare_output(args.output)
    if args.experiments:
        experiments = build_experiments(args.experiments)
    else:
        experiments = [build_experiment(get_config(*key)) for key in list_experiments()]
    quad = QuadratureConfig(16, 16) if args.quick else QuadratureConfig()
    rows, start = [], time.perf_counter()
    for i, experiment in enumerate(experiments, 1):
        rows.extend(experiment_counts(experiment, quad))
        if not args.quiet:
            stderr(f"[{time.perf_counter() - start:6.1f} s] {i}/{len(experiments)} "
                   f"{experiment.label}")
    print(format_counts_table(rows))
    csi = [r["n_sm"] for r in rows if r["experiment"] == "COHERENT-CsI"
           and r["setup"] == "current"]
    if csi and len(csi) == 3:
        mean, err = COHERENT_CSI2017_PREDICTION
        print(f"\nCOHERENT CsI 2017: N_SM = {sum(csi):.1f} here vs {mean:.0f} +- {err:.0f} "
              f"predicted by COHERENT (Science 357, 1123): ratio {sum(csi) / mean:.3f}")
    if args.output:
        path = os.path.join(args.output, "counts.csv")
        write_counts_csv(rows, path)
        print(f"wrote {path}")
    return 0


def register(sub) -> None:
    p = add_parser(sub, "rates", help="SM and EM event counts of experiments",
                   description="SM events and EM events for mu = 1e-10 mu_B per beam, for "
                               "catalogue experiments or configuration files.")
    p.add_argument("--experiments", nargs="+", metavar="NAME:SETUP",
                   help="experiments (space- or comma-separated; NAME:SETUP or .toml/.json "
                        "files); default: the whole catalogue")
    p.add_argument("--output", metavar="DIR", help="also write DIR/counts.csv")
    p.add_argument("--quick", action="store_true",
                   help="coarser quadrature (16 recoil x 16 energy nodes), for smoke tests")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)
