"""``cevns-jax experiments``: the catalogue, one configuration as JSON, or written to a
``.json`` / ``.toml`` file that every sub-command taking an experiment accepts."""

from __future__ import annotations

import json

from .common import UserError, add_parser, check_writable_file, experiment_config, to_toml


def run(args) -> int:
    from ..experiments import get_config, list_experiments

    if args.output and not args.show:
        raise UserError("--output needs --show NAME:SETUP (the configuration to write)")
    if args.show:
        config = experiment_config(args.show)
        if args.output:
            check_writable_file(args.output, "--output")
            if not args.output.lower().endswith((".json", ".toml")):
                raise UserError(f"--output {args.output!r}: the file name must end in "
                                ".json or .toml")
            text = (to_toml(config) if args.output.lower().endswith(".toml")
                    else json.dumps(config, indent=2) + "\n")
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
            print(f"wrote {args.output}")
        else:
            print(json.dumps(config, indent=2))
        return 0
    print(f"{'experiment':<16} {'setup':<8} {'source':<8} {'material':<9} {'mass':>9} "
          f"{'threshold':>10}  baseline")
    for name, setup in list_experiments():
        cfg = get_config(name, setup)
        det, src = cfg["detector"], cfg["source"]
        print(f"{name:<16} {setup:<8} {src['type']:<8} {det['material']:<9} {det['mass']:>9} "
              f"{det['threshold']:>10}  {src.get('baseline', '-')}")
    print("\nShow one configuration with: cevns-jax experiments --show NAME:SETUP "
          "[--output FILE.toml]")
    return 0


def register(sub) -> None:
    p = add_parser(sub, "experiments", help="list the experiment catalogue, show or write one "
                   "configuration",
                   description="List the catalogue, or show one configuration (as JSON) or "
                               "write it to a .json/.toml file to edit and pass to other "
                               "sub-commands.")
    p.add_argument("--show", metavar="NAME:SETUP",
                   help="the configuration to show (a catalogue entry or a .toml/.json file)")
    p.add_argument("--output", metavar="FILE", help="write the --show configuration to FILE "
                   "(.json or .toml) instead of printing it")
    p.set_defaults(func=run)
