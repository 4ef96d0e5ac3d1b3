"""``cevns-jax fit``: the moment-free fit of real data sets, written to cite.

For every NAME, ``DIR/NAME/fit.json`` holds the data set, its release (the provenance line of
its data folder), the software (cevns_jax, jax), dtype, machine and date, the fit report
(:func:`cevns_jax.inference.fit_report.fit_report`: every nuisance's best fit, Hessian 1 sigma,
profile-likelihood interval, prior and pull; -2 ln L, bins, observed events) and the CEvNS
or signal strength where the data set has one; ``DIR/NAME/fit.png`` the data with the fitted
model and its components for the COHERENT and Dresden-II data sets.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import time

from .common import UserError, add_parser, prepare_output, split_list, stderr

FILENAME = "fit.json"


def _check_names(names):
    from ..results.data_set_fit import DATA_SETS

    if not names:
        raise UserError(f"no data set given; known: {', '.join(DATA_SETS)}")
    unknown = [n for n in names if n not in DATA_SETS]
    if unknown:
        raise UserError(f"unknown data set {', '.join(unknown)}; known: {', '.join(DATA_SETS)}")


def _check_folders(output, names, force):
    """Refuse a non-empty DIR/NAME unless ``force``, before any computation."""
    for name in names:
        folder = os.path.join(output, name)
        if os.path.isdir(folder) and os.listdir(folder) and not force:
            raise UserError(f"--output {folder!r} is not empty; choose another --output or add "
                            "--force to overwrite it")
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise UserError(f"--output {folder!r} exists and is not a folder")


def _environment(quick: bool) -> dict:
    import jax
    import jax.numpy as jnp

    from .. import __version__

    return {"cevns_jax": __version__, "jax": jax.__version__,
            "dtype": str(jnp.zeros(()).dtype),
            "machine": {"machine": platform.machine(), "processor": platform.processor()},
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "options": {"quick": bool(quick)}}


def fit_document(name: str, quick: bool = False):
    """(the JSON document of data set ``name``, its figure or None)."""
    from ..results.data_set_fit import figure, fit, release

    fit_setup, report, signal = fit(name, quick)
    document = {"data_set": name, "release": release(name), **_environment(quick),
                "units": {"twice_nll": "-2 ln L (Poisson deviance / chi^2 + constraints)",
                          "sm_signal_events": "events in the fitted region"},
                "fit": report.as_dict(), "signal": signal}
    return document, figure(fit_setup, report)


def run(args) -> int:
    names = split_list(args.names)
    _check_names(names)
    prepare_output(args.output)
    _check_folders(args.output, names, args.force)
    start = time.perf_counter()
    for name in names:
        if not args.quiet:
            stderr(f"[{time.perf_counter() - start:6.1f} s] {name}: building and fitting ...")
        document, fig = fit_document(name, args.quick)
        folder = prepare_output(os.path.join(args.output, name))
        paths = [os.path.join(folder, FILENAME)]
        with open(paths[0], "w") as handle:
            json.dump(document, handle, indent=2)
        if fig is not None:
            paths.append(os.path.join(folder, "fit.png"))
            fig.savefig(paths[1], dpi=130)
        fit, signal = document["fit"], document["signal"]
        line = f"{name}: -2 ln L = {fit['twice_nll']:.3f} ({fit['n_bins']} bins)"
        if signal.get("strength") is not None:
            lo, hi = signal["strength_interval"]
            line += (f", {signal['strength_parameter']} = {signal['strength']:.4g} "
                     f"[{lo:.4g}, {hi:.4g}]")
        line += f", SM signal events {signal['sm_signal_events']:.4g}"
        print(line)
        for message in fit["warnings"]:
            stderr(f"{name}: warning: {message}")
        print("wrote " + ", ".join(paths))
    if not args.quiet:
        stderr(f"[{time.perf_counter() - start:6.1f} s] done")
    return 0


def register(sub) -> None:
    from ..results.data_set_fit import DATA_SETS

    p = add_parser(sub, "fit", help="fit one real data set (no moment); write DIR/NAME/fit.json",
                   description="Fits each named real data set without magnetic moment and "
                               "writes DIR/NAME/fit.json (release, software, every nuisance's "
                               "best fit, Hessian and profile-likelihood 1 sigma, prior, pull; "
                               "the CEvNS strength) and, for COHERENT and Dresden-II, "
                               "DIR/NAME/fit.png (data, fitted model and components).")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"data sets: {', '.join(DATA_SETS)}")
    p.add_argument("--output", metavar="DIR", default="results", help="output folder")
    p.add_argument("--quick", action="store_true",
                   help="the coarser quadrature of each data set's quick mode")
    p.add_argument("--force", action="store_true",
                   help="overwrite a non-empty DIR/NAME")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)
