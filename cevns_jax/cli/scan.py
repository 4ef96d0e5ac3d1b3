"""``cevns-jax scan``: chunked, resumable Delta chi^2 scan of the transition-magnetic-moment
space (:mod:`cevns_jax.inference.scan`), with limits refined between grid points."""

from __future__ import annotations

import math

import numpy as np

from .common import (UserError, add_parser, build_experiments, positive_int, prepare_output,
                     probability, stderr)

USAGE_HINT = ("scan needs --experiments NAME:SETUP [...] and at least one --axis "
              "NAME=LO:HI:N, e.g.: cevns-jax scan --experiments CONUS:current "
              "--axis lambda1=0:10:101 --axis lambda2=0:10:101")


def _parse_number(text, spec):
    t = text.strip().lower()
    try:
        if t.endswith("pi"):
            head = t[:-2].strip().rstrip("*")
            return (float(head) if head else 1.0) * math.pi
        return float(t)
    except ValueError:
        raise UserError(f"--axis {spec!r}: {text!r} is not a number (pi allowed, e.g. "
                        "2pi)") from None


def parse_axis(spec: str):
    """``name=lo:hi:n`` (n points, inclusive, lo < hi) or ``name=v`` or ``name=v1;v2;...``
    (increasing; ``pi`` allowed, e.g. ``delta_cp=0:2pi:8``)."""
    name, sep, rhs = spec.partition("=")
    parts = rhs.split(":")
    if not sep or not name.strip() or len(parts) not in (1, 3):
        raise UserError(f"--axis {spec!r}: expected NAME=LO:HI:N, NAME=VALUE or "
                        "NAME=V1;V2;...")
    if len(parts) == 3:
        lo, hi = _parse_number(parts[0], spec), _parse_number(parts[1], spec)
        try:
            n = int(parts[2])
        except ValueError:
            raise UserError(f"--axis {spec!r}: the number of points {parts[2]!r} is not an "
                            "integer") from None
        if n < 1 or (n > 1 and not lo < hi):
            raise UserError(f"--axis {spec!r}: need LO < HI and N >= 1 (axes run upwards)")
        return name.strip(), np.linspace(lo, hi, n)
    return name.strip(), np.array([_parse_number(p, spec) for p in rhs.split(";")])


def run(args) -> int:
    from ..inference import scan
    from ..inference.scan_io import FORMAT
    from ..quadrature import QuadratureConfig

    if not args.experiments or not args.axis:
        raise UserError(USAGE_HINT)
    axes = dict(parse_axis(a) for a in args.axis)
    if len(axes) != len(args.axis):
        raise UserError("an --axis is given twice")
    grid = scan.make_grid(args.path, **axes)
    n_points = math.prod(len(v) for v in grid.values())
    if n_points > scan.MAX_POINTS and not args.force:
        raise UserError(f"the grid has {n_points:.3g} points (more than "
                        f"{scan.MAX_POINTS:.0e}); coarsen the axes or add --force")
    keep = [tuple(k.split(",")) for k in args.keep] if args.keep else None
    if args.output:
        prepare_output(args.output)
    model = scan.build_scan_model(build_experiments(args.experiments),
                                  quad=QuadratureConfig(args.nodes, args.nodes))
    timing = {}
    try:
        res = scan.run_scan(model, grid, output=args.output, batch_size=args.batch_size,
                            keep=keep, path=args.path, store_values=args.store_values,
                            resume=not args.restart, progress=not args.no_progress,
                            max_chunks=args.max_chunks, timing=timing,
                            checkpoint_every=args.checkpoint_every, force=args.force,
                            log=stderr)
    except KeyboardInterrupt:
        if args.output:
            raise KeyboardInterrupt(f"finished chunks are saved in {args.output}; rerun the "
                                    "same command to resume") from None
        raise
    print(f"{res.n_points} grid points, chi2_min = {res.chi2_min:.6g} at {res.best}")
    print(f"compile {timing['compile_s']:.2f} s, run {timing['run_s']:.2f} s "
          f"({timing['n_points_done'] / max(timing['run_s'], 1e-12):.3g} points/s)")
    level = scan.delta_chi2_level(args.cl, 1)
    for n in ("lambda1", "lambda2", "lambda3"):
        if res.complete and len(res.axes[n]) > 1 and (n,) in res.reductions:
            limit = scan.refine_limit(model, grid, n, level, res.chi2_min, path=args.path,
                                      profile=res.profile(n))
            print(f"  |{n}| {limit.describe(' x 1e-10 mu_B')} ({100 * args.cl:.0f}% C.L., "
                  "others profiled over the grid)")
    if args.output:
        print(f"results in {args.output} (format {FORMAT}, see docs/scans.md)")
    if not res.complete:
        print("scan incomplete: rerun the same command to resume")
    return 0


def register(sub) -> None:
    p = add_parser(sub, "scan", help="chunked Delta chi^2 scan of the TMM space",
                   description="Chunked, resumable Delta chi^2 scan of the transition "
                               "magnetic moments |Lambda_i|, xi_1, xi_3, delta_CP (paper 000) "
                               "and, on the full path, shape nuisances. " + USAGE_HINT)
    p.add_argument("--experiments", nargs="+", metavar="NAME:SETUP",
                   help="experiments, chi^2 summed (space- or comma-separated; NAME:SETUP or "
                        ".toml/.json files)")
    p.add_argument("--axis", action="append", metavar="NAME=LO:HI:N",
                   help="grid axis (repeatable), e.g. lambda1=0:3:31 delta_cp=0:2pi:8; "
                        "missing TMM axes are fixed at 0")
    p.add_argument("--path", choices=("template", "full"), default="template",
                   help="template: counts linear in mu^2 (fast); full: rates recomputed at "
                        "every point (nuisance axes)")
    p.add_argument("--output", metavar="DIR", help="checkpoint/result folder (resumable)")
    p.add_argument("--batch-size", type=positive_int, default=1 << 20,
                   help="points per chunk (at most the grid)")
    p.add_argument("--checkpoint-every", type=positive_int, default=1, metavar="N",
                   help="write the state to --output after every N chunks")
    p.add_argument("--keep", action="append", metavar="A,B",
                   help="axis set to keep in the reductions (default: all singles and pairs)")
    p.add_argument("--store-values", action="store_true", help="also write every chi^2 value")
    p.add_argument("--restart", action="store_true", help="ignore an existing scan in --output")
    p.add_argument("--max-chunks", type=positive_int, help="stop after N chunks (resume later)")
    p.add_argument("--nodes", type=positive_int, default=48,
                   help="quadrature nodes (recoil and energy)")
    p.add_argument("--cl", type=probability, default=0.9,
                   help="confidence level of the printed limits, in (0, 1)")
    p.add_argument("--force", action="store_true",
                   help="run grids above 1e11 points or chunks larger than the memory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
