"""``cevns-jax data``: the real-data analyses, written as one results table.

``DIR/data_results.csv`` has one row per result with the columns of
:data:`cevns_jax.results.COLUMNS` (computed value, uncertainty, the published value beside it,
unit, method, reference); ``DIR/data_results.json`` the same rows with the software version,
the time and the options used; ``DIR/world_table.csv``/``.json`` every magnetic-moment limit
(each data set alone and combined, ours beside the published value) and ``world_limits.png``;
with ``--regions`` also the 2-D 90% C.L. regions of the global fit (``regions.*``).
``DIR/work/global/toys/`` keeps the global fit's toys: run the same command again after an
interruption and it resumes (:mod:`cevns_jax.inference.toy_store`).
"""

from __future__ import annotations

import csv
import datetime
import importlib
import inspect
import json
import os
import time

from .common import UserError, add_parser, prepare_output, split_list, stderr


def _write(rows, output, meta):
    from ..results import COLUMNS

    path_csv = os.path.join(output, "data_results.csv")
    with open(path_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
    path_json = os.path.join(output, "data_results.json")
    with open(path_json, "w") as handle:
        json.dump({**meta, "rows": rows}, handle, indent=2)
    return [path_csv, path_json]


def _world(rows, output):
    """world_table.csv/.json (every limit in 1e-10 mu_B, ours beside the published value) and
    world_limits.png."""
    import matplotlib.pyplot as plt

    from ..plots.world import world_limits
    from ..results import COLUMNS

    limits = [r for r in rows
              if r["quantity"].startswith("limit_") and r["unit"] == "1e-10 mu_B"]
    if not limits:
        return []
    paths = [os.path.join(output, name) for name in
             ("world_table.csv", "world_table.json", "world_limits.png")]
    with open(paths[0], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if r.get(k) is None else r[k]) for k in COLUMNS} for r in limits)
    with open(paths[1], "w") as handle:
        json.dump(limits, handle, indent=2)
    sets = len({r["analysis"] for r in limits})
    fig, ax = plt.subplots(figsize=(8.5, 1.4 + 0.6 * sets))
    world_limits(ax, limits)
    ax.set_title("Neutrino magnetic-moment limits from the real data (Wilks)")
    fig.tight_layout()
    fig.savefig(paths[2], dpi=130)
    plt.close(fig)
    return paths


def _long_run_options(analysis, name, args, start) -> dict:
    """A work folder (``DIR/work/NAME``, where a long analysis keeps what lets it resume) and a
    progress printer, for the analyses whose ``data_results`` accepts them."""
    accepted = inspect.signature(analysis).parameters
    options = {}
    if "workdir" in accepted:
        options["workdir"] = os.path.join(args.output, "work", name)
    if "progress" in accepted and not args.quiet:
        options["progress"] = lambda message: stderr(
            f"[{time.perf_counter() - start:6.1f} s] {name}: {message}")
    return options


def run(args) -> int:
    from .. import __version__
    from ..results import ANALYSES, COLUMNS, DEFAULT_ANALYSES

    names = split_list(args.analyses) or list(DEFAULT_ANALYSES)
    unknown = [n for n in names if n not in ANALYSES]
    if unknown:
        raise UserError(f"unknown analysis {unknown}; known: {', '.join(ANALYSES)}")
    prepare_output(args.output)
    rows, start = [], time.perf_counter()
    for name in names:
        if not args.quiet:
            stderr(f"[{time.perf_counter() - start:6.1f} s] {name} ...")
        module, _, function = ANALYSES[name].partition(":")
        analysis = getattr(importlib.import_module(module), function or "data_results")
        new = analysis(quick=args.quick, **_long_run_options(analysis, name, args, start))
        for row in new:
            missing = set(COLUMNS) - set(row)
            if missing:
                raise RuntimeError(f"{name} returned a row without {sorted(missing)}")
        rows.extend(new)
    width = max(len(f"{r['analysis']} {r['quantity']}") for r in rows)
    print(f"{'result':<{width}}  {'computed':>11}  {'published':>11}  unit")
    for r in rows:
        published = "" if r["published"] is None else f"{r['published']:.4g}"
        print(f"{r['analysis'] + ' ' + r['quantity']:<{width}}  {r['computed']:>11.4g}  "
              f"{published:>11}  {r['unit']}")
    meta = {"software": f"cevns_jax {__version__}",
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "options": {"analyses": names, "quick": bool(args.quick)}}
    paths = _write(rows, args.output, meta) + _world(rows, args.output)
    if args.regions:
        from ..results.global_fit import write_regions

        if not args.quiet:
            stderr(f"[{time.perf_counter() - start:6.1f} s] 90% C.L. regions ...")
        paths += write_regions(args.output, quick=args.quick)
    print("wrote " + ", ".join(paths))
    return 0


def register(sub) -> None:
    from ..results import ANALYSES

    p = add_parser(sub, "data", help="fit the real data sets; write data_results.csv",
                   description="Runs the real-data analyses and writes DIR/data_results.csv "
                               "and .json: one row per result, the published value beside "
                               "ours.")
    p.add_argument("analyses", nargs="*", metavar="NAME",
                   help=f"analyses to run: {', '.join(ANALYSES)} (default: all but global, "
                        "which fits every data set together and takes many minutes)")
    p.add_argument("--output", metavar="DIR", default="results",
                   help="output folder")
    p.add_argument("--quick", action="store_true",
                   help="coarser quadrature, fewer toys: a CI-sized run")
    p.add_argument("--regions", action="store_true",
                   help="also write the 2-D 90%% C.L. regions of the global fit "
                        "(regions.json/.csv/.png)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)
