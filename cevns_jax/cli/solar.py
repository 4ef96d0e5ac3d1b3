"""``cevns-jax solar``: paper 004 solar-neutrino analyses (spectra, CDEX-10-like Asimov
limits, XENONnT 8B expectations and limits)."""

from __future__ import annotations

import argparse

from .common import add_parser, prepare_output, stderr


def run(args) -> int:
    from ..papers import paper004

    if args.tiny:
        stderr("cevns-jax solar: --tiny is deprecated; use --quick")
    prepare_output(args.output)
    stderr(f"solar: paper 004 analyses{' (quick grids)' if args.quick or args.tiny else ''}; "
           "progress follows")
    rows = paper004.run(args.output, tiny=args.quick or args.tiny, verbose=not args.quiet)
    print(paper004.format_rows(rows))
    print("\nwrote " + ", ".join(paper004.written_files(args.output)))
    return 0


def register(sub) -> None:
    p = add_parser(sub, "solar", help="paper 004 solar channel: spectra, CDEX-10-like Asimov "
                   "limits, XENONnT 8B expectations and limits",
                   description="Paper 004 (solar CEvNS and flavour magnetic moments): "
                               "spectra, CDEX-10-like Asimov limits, XENONnT 8B.")
    p.add_argument("--output", default="results", metavar="DIR", help="output folder")
    p.add_argument("--quick", action="store_true", help="small grids (smoke tests)")
    p.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)
