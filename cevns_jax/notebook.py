"""The size switch shared by the notebooks in ``notebooks/``: ``CEVNS_JAX_TINY`` asks for
CI-sized grids, chains and experiment lists (tests/test_notebooks.py sets it to "1")."""

from __future__ import annotations

import os

TINY_VARIABLE = "CEVNS_JAX_TINY"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def tiny_mode(environ=None) -> bool:
    """Whether ``CEVNS_JAX_TINY`` (in ``environ``, default ``os.environ``) asks for tiny runs:
    True for "1", "true", "yes", "on"; False when unset or "", "0", "false", "no", "off" (any
    case, surrounding spaces ignored). Any other value raises ValueError naming it."""
    value = (os.environ if environ is None else environ).get(TINY_VARIABLE, "")
    key = value.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{TINY_VARIABLE}={value!r}: expected one of {_TRUE + _FALSE[1:]} "
                     "(or unset)")
