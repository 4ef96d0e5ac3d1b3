"""Conventions shared by the sub-commands: argument parser and help format, experiment lists
(names or configuration files), output folders checked before any work, progress on stderr."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile


class UserError(Exception):
    """A mistake in the command line or its inputs: reported in one line, no traceback."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (then exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default; descriptions keep their line breaks."""

    def _fill_text(self, text, width, indent):
        import textwrap

        return "\n".join(textwrap.fill(line, width, initial_indent=indent,
                                        subsequent_indent=indent) if line.strip() else ""
                         for line in text.splitlines())

    def _get_help_string(self, action):
        if action.default in (None, False) or isinstance(action, argparse._HelpAction):
            return action.help
        return super()._get_help_string(action)


def add_parser(subparsers, name, **kwargs):
    return subparsers.add_parser(name, formatter_class=HelpFormatter, **kwargs)


def stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def split_list(items) -> list[str]:
    """Flatten space- and comma-separated items: ``["A,B", "C"]`` -> ``["A", "B", "C"]``."""
    out = [part.strip() for item in (items or []) for part in str(item).split(",")]
    return [part for part in out if part]


def _is_file_spec(spec: str) -> bool:
    return spec.lower().endswith((".toml", ".json")) or os.path.sep in spec


def read_config_file(path: str) -> dict:
    """An experiment configuration from a ``.toml`` (tomllib) or ``.json`` file."""
    if not os.path.isfile(path):
        raise UserError(f"configuration file {path!r} does not exist")
    try:
        if path.lower().endswith(".toml"):
            import tomllib

            with open(path, "rb") as handle:
                config = tomllib.load(handle)
        else:
            with open(path, encoding="utf-8") as handle:
                config = json.load(handle)
    except (ValueError, OSError) as error:   # tomllib.TOMLDecodeError is a ValueError
        raise UserError(f"cannot read configuration file {path!r}: {error}") from error
    if not isinstance(config, dict):
        raise UserError(f"configuration file {path!r} must hold one mapping, got "
                        f"{type(config).__name__}")
    return config


def experiment_config(spec: str) -> dict:
    """The configuration named by ``NAME[:SETUP]`` (catalogue) or a ``.toml``/``.json`` file."""
    from ..experiments import get_config

    if _is_file_spec(spec):
        return read_config_file(spec)
    name, _, setup = spec.partition(":")
    try:
        return get_config(name, setup or "current")
    except KeyError as error:
        raise UserError(error.args[0]) from None


def build_experiments(items) -> list:
    """Built experiments of a space/comma-separated list of names or configuration files."""
    from ..experiments import build_experiment

    specs = split_list(items)
    if not specs:
        raise UserError("no experiment given (NAME:SETUP, e.g. COHERENT-CsI:current, or a "
                        ".toml/.json configuration file)")
    built = []
    for spec in specs:
        config = experiment_config(spec)
        try:
            built.append(build_experiment(config))
        except ValueError as error:
            raise UserError(f"{spec}: {error}") from error
    return built


def prepare_output(path: str, option: str = "--output") -> str:
    """Create the output folder and check it is writable, before any computation."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".cevns-write-test"):
            pass
    except OSError as error:
        raise UserError(f"{option} {path!r} is not a writable folder: "
                        f"{error.strerror or error}") from None
    return path


def check_writable_file(path: str, option: str) -> str:
    """Check that ``path`` can be created (its folder exists and is writable)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UserError(f"{option} {path!r}: folder {folder!r} does not exist or is not "
                        "writable")
    if os.path.isdir(path):
        raise UserError(f"{option} {path!r} is a folder; give a file name")
    return path


def jsonable(value):
    """``value`` with named tuples, dataclasses and NumPy scalars/arrays as JSON types."""
    import numpy as np

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as JSON")


def compilation_cache_dir(option, environ=None) -> str | None:
    """Folder of JAX's persistent compilation cache for this run: ``option`` (``--compilation-cache``;
    "off" disables it), else ``JAX_COMPILATION_CACHE_DIR`` when set, else
    ``$XDG_CACHE_HOME/cevns_jax/xla`` (``~/.cache/cevns_jax/xla``)."""
    environ = os.environ if environ is None else environ
    if option is not None:
        return None if option.strip().lower() == "off" else option
    if environ.get("JAX_COMPILATION_CACHE_DIR"):
        return environ["JAX_COMPILATION_CACHE_DIR"]
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cevns_jax", "xla")


def probability(text: str) -> float:
    """argparse type of a confidence level in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        hint = f"; for {value:g}% write {value / 100:g}" if 1.0 < value < 100.0 else ""
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1){hint}")
    return value


def positive_int(text: str) -> int:
    """argparse type of an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be >= 1")
    return value


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = repr(float(value)) if isinstance(value, float) else str(value)
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(text, text)
    if isinstance(value, str):
        return json.dumps(value)   # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise UserError(f"cannot write {type(value).__name__} {value!r} to TOML")


def to_toml(config: dict, prefix: str = "") -> str:
    """A TOML document of a configuration (scalars and lists first, then one table per
    nested mapping), readable by :mod:`tomllib`."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in config.items()
             if not isinstance(v, dict)]
    for key, value in config.items():
        if isinstance(value, dict):
            name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
            lines += ["", f"[{name}]", to_toml(value, name).strip("\n")]
    return "\n".join(line for line in lines) + "\n"
