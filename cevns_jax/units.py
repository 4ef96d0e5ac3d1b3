"""Quantities with explicit units, as written in experiment configurations.

A configuration states every dimensional input as ``"<number> <unit>"`` (for example
``"14.57 kg"``, ``"5 keVnr"``, ``"308.1 day"``). A bare number, an unknown unit or a unit
of the wrong kind raises :class:`UnitError` naming the value and what was expected.
Values are converted to the library's internal units: MeV, cm, s, kg, W, and counts
(for protons on target).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .constants import SECONDS_PER_DAY, SECONDS_PER_YEAR


class UnitError(ValueError):
    """A configuration value is missing its unit or has the wrong kind of unit."""


#: unit -> (dimension, factor to the internal unit of that dimension)
_UNITS: dict[str, tuple[str, float]] = {
    # recoil / neutrino energy, with the energy scale made explicit for thresholds
    "eV": ("energy", 1e-6), "keV": ("energy", 1e-3), "MeV": ("energy", 1.0), "GeV": ("energy", 1e3),
    "eVnr": ("energy_nr", 1e-6), "keVnr": ("energy_nr", 1e-3), "MeVnr": ("energy_nr", 1.0),
    "eVee": ("energy_ee", 1e-6), "keVee": ("energy_ee", 1e-3), "MeVee": ("energy_ee", 1.0),
    "PE": ("photoelectrons", 1.0),
    "kg": ("mass", 1.0), "g": ("mass", 1e-3), "t": ("mass", 1e3), "ton": ("mass", 1e3),
    "s": ("time", 1.0), "day": ("time", SECONDS_PER_DAY), "days": ("time", SECONDS_PER_DAY),
    "yr": ("time", SECONDS_PER_YEAR), "year": ("time", SECONDS_PER_YEAR),
    "years": ("time", SECONDS_PER_YEAR),
    "cm": ("length", 1.0), "m": ("length", 100.0), "km": ("length", 1e5),
    "W": ("power", 1.0), "kW": ("power", 1e3), "MW": ("power", 1e6), "GW": ("power", 1e9),
    "POT": ("pot", 1.0),
}

_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)\s*$")


@dataclass(frozen=True)
class Quantity:
    """A parsed quantity: ``value`` in internal units, its ``dimension`` and the raw text."""

    value: float
    dimension: str
    unit: str
    text: str


def parse_quantity(text, what: str, dimensions: tuple[str, ...]) -> Quantity:
    """Parse ``"<number> <unit>"`` for the field ``what``, allowing only ``dimensions``.

    Raises :class:`UnitError` for bare numbers, unknown units, wrong dimensions and
    non-finite values.
    """
    allowed = ", ".join(sorted(u for u, (d, _) in _UNITS.items() if d in dimensions))
    if isinstance(text, bool):
        raise UnitError(f"{what}: expected a string '<number> <unit>', got {text!r}")
    if isinstance(text, (int, float)):
        raise UnitError(
            f"{what}: the value {text!r} has no unit; write it as a string such as "
            f"'{text} <unit>' with one of: {allowed}"
        )
    if not isinstance(text, str):
        raise UnitError(f"{what}: expected a string '<number> <unit>', got {text!r}")
    match = _PATTERN.match(text)
    if match is None:
        raise UnitError(
            f"{what}: cannot read {text!r}; expected '<number> <unit>' with one of: {allowed}"
        )
    number, unit = float(match.group(1)), match.group(2)
    if unit not in _UNITS:
        raise UnitError(f"{what}: unknown unit {unit!r} in {text!r}; expected one of: {allowed}")
    dimension, factor = _UNITS[unit]
    if dimension not in dimensions:
        raise UnitError(
            f"{what}: {text!r} is a {dimension.replace('_', ' ')} but a "
            f"{' or '.join(d.replace('_', ' ') for d in dimensions)} is expected ({allowed})"
        )
    if not math.isfinite(number):
        raise UnitError(f"{what}: {text!r} is not a finite number")
    return Quantity(number * factor, dimension, unit, text)


def parse_positive(text, what: str, dimensions: tuple[str, ...]) -> Quantity:
    """Like :func:`parse_quantity` but the value must be strictly positive."""
    quantity = parse_quantity(text, what, dimensions)
    if quantity.value <= 0.0:
        raise UnitError(f"{what}: {text!r} must be positive")
    return quantity
