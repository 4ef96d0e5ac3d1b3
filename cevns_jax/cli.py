"""Command-line interface: ``cevns-jax experiments | rates | reproduce | scan | solar | posterior``."""

from __future__ import annotations

import argparse
import json
import sys


def _enable_x64():
    import jax

    jax.config.update("jax_enable_x64", True)


def _cmd_experiments(args) -> int:
    from .experiments import get_config, list_experiments

    if args.show:
        name, _, setup = args.show.partition(":")
        print(json.dumps(get_config(name, setup or "current"), indent=2))
        return 0
    print(f"{'experiment':<16} {'setup':<8} {'source':<8} {'material':<9} {'mass':>9} "
          f"{'threshold':>10}  baseline")
    for name, setup in list_experiments():
        cfg = get_config(name, setup)
        det, src = cfg["detector"], cfg["source"]
        print(f"{name:<16} {setup:<8} {src['type']:<8} {det['material']:<9} {det['mass']:>9} "
              f"{det['threshold']:>10}  {src.get('baseline', '-')}")
    print("\nShow one configuration with: cevns-jax experiments --show NAME:SETUP")
    return 0


def _cmd_rates(args) -> int:
    from .summary import (COHERENT_CSI2017_PREDICTION, catalog_counts, format_counts_table,
                          write_counts_csv)

    progress = (lambda n, s: print(f"  computed {n} [{s}]", file=sys.stderr)) if args.verbose else None
    rows = catalog_counts(progress=progress)
    print(format_counts_table(rows))
    csi = sum(r["n_sm"] for r in rows if r["experiment"] == "COHERENT-CsI" and r["setup"] == "current")
    mean, err = COHERENT_CSI2017_PREDICTION
    print(f"\nCOHERENT CsI 2017: N_SM = {csi:.1f} here vs {mean:.0f} +- {err:.0f} predicted by "
          f"COHERENT (Science 357, 1123): ratio {csi / mean:.3f}")
    if args.csv:
        write_counts_csv(rows, args.csv)
        print(f"wrote {args.csv}")
    return 0


def _cmd_reproduce(args) -> int:
    import csv
    import os
    import time

    from .papers import paper000
    from .papers.paper000_figures import make_all

    start = time.perf_counter()
    log = lambda msg: print(f"[{time.perf_counter() - start:6.1f} s] {msg}", file=sys.stderr)
    options = paper000.Paper000Options(
        nuisance=args.nuisance, delta_cp=args.delta_cp,
        reactor_threshold_scale=args.reactor_threshold, reactor_low_energy=args.reactor_low_energy)
    os.makedirs(args.output, exist_ok=True)
    counts = paper000.compute_counts(options, progress=lambda s: log(f"templates {s}"))
    rows = paper000.table2(options, counts)
    print("Paper 000 Table II (+ full SNS beam, Sect. 5), 90% C.L. limits in 1e-10 mu_B:")
    print(paper000.format_table2(rows))
    with open(os.path.join(args.output, "table2.csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    sns = [r["ratio"] for r in rows if r["group"].startswith("SNS")]
    print(f"\nSNS entries: {len(sns)}, ratio computed/paper in [{min(sns):.3f}, {max(sns):.3f}]")
    with open(os.path.join(args.output, "results.json"), "w") as handle:
        json.dump({"options": {k: str(v) for k, v in vars(options).items()}, "table2": rows},
                  handle, indent=1)
    if not args.no_figures:
        scales = [1, 10, 100] if args.quick else None
        make_all(counts, options, args.output, scales, progress=log)
    if not args.skip_solar:
        from .papers import paper004

        log("paper 004: solar CEvNS (CDEX-10-like Asimov, XENONnT 8B)")
        solar_rows = paper004.run(args.output, tiny=args.quick)
        print("\nPaper 004 (solar CEvNS, flavour magnetic moments):")
        print(paper004.format_rows(solar_rows))
    log(f"wrote table2.csv, results.json{'' if args.no_figures else ', figures'}"
        f"{'' if args.skip_solar else ', solar.csv'} to {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cevns-jax", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("experiments", help="list the experiment catalogue")
    p.add_argument("--show", metavar="NAME:SETUP", help="print one configuration as JSON")
    p.set_defaults(func=_cmd_experiments)
    p = sub.add_parser("rates", help="SM and EM event counts of every catalogue experiment")
    p.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    p.add_argument("-v", "--verbose", action="store_true", help="report progress")
    p.set_defaults(func=_cmd_rates)
    p = sub.add_parser("reproduce", help="reproduce paper 000 (Table II, full-beam limits, "
                       "Borexino row, Figures 1-8) and paper 004 (solar.csv)")
    p.add_argument("--output", default="results", help="output folder (default: results)")
    p.add_argument("--nuisance", choices=("fixed", "profiled"), default="fixed",
                   help="Eq. 35 nuisance: held at its null best fit (paper) or profiled")
    p.add_argument("--delta-cp", type=float, default=0.0, help="Dirac CP phase [rad]")
    p.add_argument("--reactor-threshold", choices=("nr", "ee"), default=None,
                   help="override the catalogue's reading of the reactor thresholds")
    p.add_argument("--reactor-low-energy", choices=("vogel_engel", "kopeikin", "none"),
                   default="vogel_engel", help="reactor spectrum below 2 MeV")
    p.add_argument("--no-figures", action="store_true", help="skip Figures 1-8")
    p.add_argument("--quick", action="store_true",
                   help="coarser Fig. 3 and paper-004 grids (for smoke tests)")
    p.add_argument("--skip-solar", action="store_true", help="skip the paper-004 analyses")
    p.set_defaults(func=_cmd_reproduce)
    from .inference.bayes import register_cli as register_posterior
    from .inference.scan import register_cli as register_scan
    from .papers.paper004 import register_cli as register_solar

    register_scan(sub)
    register_solar(sub)
    register_posterior(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _enable_x64()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
