"""``cevns-jax reproduce``: paper 000 Table II, full-beam limits, Borexino row, Figures 1-8,
and paper 004 (``solar.csv``)."""

from __future__ import annotations

import csv
import json
import os
import sys
import time

from .common import add_parser, prepare_output


def run(args) -> int:
    from ..papers import paper000
    from ..papers.paper000_figures import make_all

    prepare_output(args.output)
    start = time.perf_counter()
    log = lambda msg: print(f"[{time.perf_counter() - start:6.1f} s] {msg}", file=sys.stderr)
    options = paper000.Paper000Options(
        nuisance=args.nuisance, delta_cp=args.delta_cp,
        reactor_threshold_scale=args.reactor_threshold, reactor_low_energy=args.reactor_low_energy)
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
        from ..papers import paper004

        log("paper 004: solar CEvNS (CDEX-10-like Asimov, XENONnT 8B)")
        solar_rows = paper004.run(args.output, tiny=args.quick)
        print("\nPaper 004 (solar CEvNS, flavour magnetic moments):")
        print(paper004.format_rows(solar_rows))
    log(f"wrote table2.csv, results.json{'' if args.no_figures else ', figures'}"
        f"{'' if args.skip_solar else ', solar.csv'} to {args.output}")
    return 0


def register(sub) -> None:
    p = add_parser(sub, "reproduce", help="reproduce paper 000 (Table II, full-beam limits, "
                   "Borexino row, Figures 1-8) and paper 004 (solar.csv)",
                   description="Reproduce paper 000 (JHEP 07 (2019) 103) Table II, the "
                               "full-beam limits, the Borexino row and Figures 1-8, and "
                               "paper 004's solar results.")
    p.add_argument("--output", default="results", metavar="DIR", help="output folder")
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
    p.set_defaults(func=run)
