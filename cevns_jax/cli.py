"""Command-line interface: ``cevns-jax experiments | rates``."""

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
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _enable_x64()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
