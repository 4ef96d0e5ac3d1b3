"""``cevns-jax dresden2``: the Dresden-II fit under one Ge quenching model.

``DIR/dresden2.json``: data set and release, software version, options, every nuisance's best
fit and Hessian error (CEvNS strength free, no moment), the CEvNS strength with its 68 %
interval and significance, the 90 % C.L. nuebar moment limits (CEvNS, nu-e, combined) and the
|Lambda_i| limits; ``DIR/dresden2.png``: the Rx-ON spectrum with the fitted background, the
CEvNS prediction of every quenching model and the nu-e signal at its limit.
"""

from __future__ import annotations

import datetime
import json
import os
import time


from .common import UserError, add_parser, jsonable, prepare_output, stderr

QUENCHING = ("lindhard", "modified_lindhard", "fef", "ybe")
BINDING = ("stepping", "free")


def run(args) -> int:
    from .. import __version__
    from ..plots.dresden2 import figure
    from ..quadrature import QuadratureConfig
    from ..results import dresden2 as results

    if args.quenching not in QUENCHING:
        raise UserError(f"--quenching {args.quenching!r}: expected one of {', '.join(QUENCHING)}")
    prepare_output(args.output)
    start = time.perf_counter()
    if not args.quiet:
        stderr(f"Dresden-II fit, {args.quenching} quenching, {args.binding} binding ...")
    quad = results.QUICK_QUAD if args.quick else QuadratureConfig()
    summary = results.fit_summary(args.quenching, args.binding, quad)
    path_png = os.path.join(args.output, "dresden2.png")
    figure(summary["curves"], args.quenching).savefig(path_png, dpi=130)
    out = {"analysis": "dresden2", "dataset": results.DATASET,
           "reference": results.REFERENCE, "software": f"cevns_jax {__version__}",
           "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "options": {"quenching": args.quenching, "binding": args.binding,
                       "quick": bool(args.quick)},
           "units": {"limits": "1e-10 mu_B (90% C.L., Wilks)",
                     "curves": "counts / (10 eVee 3 kg day) per bin"},
           **summary}
    path_json = os.path.join(args.output, "dresden2.json")
    with open(path_json, "w") as handle:
        json.dump(jsonable(out), handle, indent=2)
    s, lim = summary["strength"], summary["limits_mu_nuebar"]
    print(f"CEvNS strength {s['strength']:.3f} (68%: {s['lower']:.3f}-{s['upper']:.3f}), "
          f"Z = {s['z']:.2f}")
    print("mu_nuebar < " + ", ".join(f"{v:.3g} ({k})" for k, v in lim.items())
          + " x 1e-10 mu_B (90% C.L.)")
    print(f"wrote {path_json}, {path_png} in {time.perf_counter() - start:.0f} s")
    return 0


def register(sub) -> None:
    p = add_parser(sub, "dresden2", help="fit the Dresden-II reactor data (CEvNS + nu-e)",
                   description="Fits the Dresden-II Rx-ON/OFF spectra under one Ge quenching "
                               "model and writes DIR/dresden2.json (best fit, Hessian errors, "
                               "strength, moment limits) and DIR/dresden2.png.")
    p.add_argument("--quenching", default="fef", metavar="MODEL",
                   help=f"Ge quenching model: {', '.join(QUENCHING)}")
    p.add_argument("--binding", default="stepping", choices=BINDING,
                   help="atomic binding of the nu-e channel")
    p.add_argument("--output", metavar="DIR", default="results", help="output folder")
    p.add_argument("--quick", action="store_true", help="coarser quadrature: a CI-sized run")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)
