"""The ``cevns-jax`` command: one module per sub-command, shared conventions in
:mod:`.common`. User errors are one line on stderr and a non-zero exit status; ``--debug``
shows the traceback instead."""

from __future__ import annotations

import sys

from .common import HelpFormatter, Parser, UserError, compilation_cache_dir, stderr

DESCRIPTION = """CEvNS and neutrino magnetic moments: event rates, paper reproductions, scans.

Experiments are written NAME:SETUP (e.g. COHERENT-CsI:current) or as a .toml/.json
configuration file; lists may be space- or comma-separated. Run cevns-jax COMMAND --help."""

#: exit status of a user error and of an interruption (128 + SIGINT)
USER_ERROR, INTERRUPTED = 2, 130


def build_parser() -> Parser:
    from .. import __version__
    from . import data, dresden2, experiments, fit, posterior, rates, reproduce, scan, solar

    parser = Parser(prog="cevns-jax", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"cevns-jax {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of errors (also accepted after the "
                             "sub-command)")
    parser.add_argument("--compilation-cache", metavar="DIR",
                        help="folder of JAX's persistent compilation cache, so a second run loads "
                             "the compiled kernels instead of compiling them again; 'off' "
                             "disables it (default: $JAX_COMPILATION_CACHE_DIR, else "
                             "~/.cache/cevns_jax/xla)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for module in (experiments, rates, reproduce, scan, solar, posterior, data, fit, dresden2):
        module.register(sub)
    return parser


def _use_compilation_cache(path) -> None:
    """Point JAX's persistent compilation cache at ``path`` (None: leave it off)."""
    if path is None:
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", path)
    # our kernels compile in 0.1-10 s each: cache them all, not only those above JAX's 1 s
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        args = build_parser().parse_args(argv)
        import jax

        jax.config.update("jax_enable_x64", True)
        _use_compilation_cache(compilation_cache_dir(args.compilation_cache))
        return args.func(args)
    except KeyboardInterrupt as interrupt:
        if debug:
            raise
        stderr("cevns-jax: interrupted" + (f" ({interrupt})" if str(interrupt) else ""))
        return INTERRUPTED
    except (UserError, ValueError, KeyError, OSError) as error:
        if debug:
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        hint = "" if isinstance(error, UserError) else " (--debug shows the traceback)"
        stderr(f"cevns-jax: error: {message}{hint}")
        return USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
