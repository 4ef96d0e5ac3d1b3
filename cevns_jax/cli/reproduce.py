"""``cevns-jax reproduce``: paper 000 Table II, full-beam limits, Borexino row, Figures 1-8,
and paper 004 (``solar.csv``).

Files: ``DIR/table2.csv`` (one row per limit, with its unit), ``DIR/results.json`` (the same
rows with the software version, the UTC time and the options used), ``DIR/paper000/fig*.png``,
and from paper 004 ``DIR/solar.csv``, ``DIR/cdex10_asimov_spectrum.csv`` and
``DIR/paper004/*.png``.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import sys
import time

from .common import add_parser, jsonable, prepare_output


#: Unit of every limit in ``table2.csv`` and ``results.json``.
LIMIT_UNIT = "1e-10 mu_B"


def paper000_options(options) -> dict:
    """The paper-000 readings as JSON; ``osc`` holds the mixing actually used (with the
    options' delta_CP, :attr:`~cevns_jax.papers.paper000.Paper000Options.oscillation`)."""
    return {**jsonable(options), "osc": jsonable(options.oscillation)}


def command_options(args) -> dict:
    """The command-line options as given (defaults filled in)."""
    return {"output": args.output, "nuisance": args.nuisance, "delta_cp": args.delta_cp,
            "reactor_threshold": args.reactor_threshold,
            "reactor_low_energy": args.reactor_low_energy, "no_figures": bool(args.no_figures),
            "quick": bool(args.quick), "skip_solar": bool(args.skip_solar)}


def run(args) -> int:
    from .. import __version__
    from ..papers import paper000
    from ..papers.paper000_figures import make_all

    prepare_output(args.output)
    start = time.perf_counter()
    log = lambda msg: print(f"[{time.perf_counter() - start:6.1f} s] {msg}", file=sys.stderr)
    options = paper000.Paper000Options(
        nuisance=args.nuisance, delta_cp=args.delta_cp,
        reactor_threshold_scale=args.reactor_threshold, reactor_low_energy=args.reactor_low_energy)
    counts = paper000.compute_counts(options, progress=lambda s: log(f"templates {s}"))
    rows = [{**r, "unit": LIMIT_UNIT} for r in paper000.table2(options, counts)]
    print(f"Paper 000 Table II (+ full SNS beam, Sect. 5), 90% C.L. limits in {LIMIT_UNIT}:")
    print(paper000.format_table2(rows))
    written = [os.path.join(args.output, "table2.csv"), os.path.join(args.output, "results.json")]
    with open(written[0], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    sns = [r["ratio"] for r in rows if r["group"].startswith("SNS")]
    if sns:
        print(f"\nSNS entries: {len(sns)}, ratio computed/paper in "
              f"[{min(sns):.3f}, {max(sns):.3f}]")
    meta = {"software": f"cevns_jax {__version__}",
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "options": command_options(args), "paper000_options": paper000_options(options)}
    with open(written[1], "w") as handle:
        json.dump({**meta, "table2": jsonable(rows)}, handle, indent=1)
    if not args.no_figures:
        scales = [1, 10, 100] if args.quick else None
        written += make_all(counts, options, os.path.join(args.output, "paper000"), scales,
                            progress=log)
    if not args.skip_solar:
        from ..papers import paper004

        log("paper 004: solar CEvNS (CDEX-10-like Asimov, XENONnT 8B)")
        figures = os.path.join(args.output, "paper004")
        solar_rows = paper004.run(args.output, tiny=args.quick, figure_dir=figures)
        written += paper004.written_files(args.output, figures)
        print("\nPaper 004 (solar CEvNS, flavour magnetic moments):")
        print(paper004.format_rows(solar_rows))
    print("wrote " + ", ".join(written))
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
                   help="coarser Fig. 3 and paper-004 grids (for smoke tests); recorded in "
                        "results.json")
    p.add_argument("--skip-solar", action="store_true", help="skip the paper-004 analyses")
    p.set_defaults(func=run)
