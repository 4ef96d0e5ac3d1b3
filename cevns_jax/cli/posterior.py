"""``cevns-jax posterior``: the options of :func:`cevns_jax.inference.bayes.register_cli`,
with the output folder checked before sampling."""

from __future__ import annotations

from .common import HelpFormatter, UserError, prepare_output, split_list


def register(sub) -> None:
    from ..inference.bayes import register_cli

    register_cli(sub)
    parser = sub.choices["posterior"]
    parser.formatter_class = HelpFormatter
    for action in parser._actions:          # every option shows its default in --help
        if action.help is None:
            action.help = action.dest.replace("_", " ")
    sample = parser.get_default("func")

    def run(args):
        args.experiments = split_list(args.experiments)
        if any(e.lower().endswith((".toml", ".json")) for e in args.experiments):
            raise UserError("posterior takes catalogue names NAME:SETUP only")
        if args.output:
            prepare_output(args.output)
        return sample(args)

    parser.set_defaults(func=run)
