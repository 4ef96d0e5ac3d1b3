"""The fields an experiment configuration may contain, and checks of their plain values.

Every block of a configuration is checked against the keys listed here, so a misspelt
field (``"efficiancy"``) raises instead of silently falling back to a default. Numbers
that are not dimensional quantities (``sin2_theta_w``, ``kappa``, efficiency parameters)
are checked for type, finiteness and range, with errors naming the dotted field.
"""

from __future__ import annotations

import difflib
import math


class ConfigError(ValueError):
    """An experiment configuration is incomplete or inconsistent."""


TOP_KEYS = ("name", "setup", "group", "reference", "channel", "source", "detector", "physics")
SOURCE_KEYS = {
    "sns": ("type", "pot", "nu_per_flavor_per_pot", "baseline", "beams"),
    "reactor": ("type", "thermal_power", "baseline", "time", "fission_fractions",
                "energy_per_fission", "spectrum"),
    "solar": ("type", "time", "model", "components", "b8_spectrum"),
}
SPECTRUM_KEYS = ("high_energy", "low_energy", "e_max")
DETECTOR_KEYS = ("material", "mass", "threshold", "bins", "efficiency", "resolution",
                 "quenching", "pe_per_keVnr")
QUENCHING_KEYS = ("model", "kappa")
EFFICIENCY_KEYS = {
    "flat": ("type", "value"),
    "coherent_csi2017": ("type", "k1", "k2", "x0", "pe_per_keVnr"),
    "tabulated": ("type", "energies", "values"),
}
RESOLUTION_KEYS = ("type", "noise", "stochastic", "relative")
PHYSICS_KEYS = ("cross_section", "form_factor", "kinematics", "sin2_theta_w")


def block(value, where: str) -> dict:
    """``value`` if it is a dict, else a :class:`ConfigError` naming ``where``."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of fields, got {type(value).__name__} "
                          f"{value!r}")
    return value


def check_keys(value: dict, allowed, where: str) -> dict:
    """Raise :class:`ConfigError` for the first key of ``value`` not in ``allowed``,
    naming it, the closest known key and every known key."""
    block(value, where)
    for key in value:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: unknown field {key!r}{hint}; known fields: "
                              f"{', '.join(allowed)}")
    return value


def require(value: dict, key: str, where: str):
    """``value[key]``, or a :class:`ConfigError` naming the missing field."""
    if key not in value:
        raise ConfigError(f"{where}: missing required field {key!r}")
    return value[key]


def number(value, where: str, *, low=None, high=None, low_open=True, high_open=False) -> float:
    """A finite real number (not a bool) in the given interval, as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(f"{where}: {value!r} must be {'>' if low_open else '>='} {low}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ConfigError(f"{where}: {value!r} must be {'<' if high_open else '<='} {high}")
    return value


def text(value, where: str) -> str:
    """A string field."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {type(value).__name__} {value!r}")
    return value


def string_list(value, where: str, *, allowed=None) -> list:
    """A non-empty list of distinct strings (from ``allowed`` when given)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{where}: expected a non-empty list of names, got {value!r}")
    for item in value:
        text(item, where)
        if allowed is not None and item not in allowed:
            raise ConfigError(f"{where}: unknown name {item!r}; expected a subset of "
                              f"{tuple(allowed)}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: duplicate names in {list(value)}")
    return list(value)


def check_header(config: dict) -> None:
    """Top-level keys and the descriptive string fields."""
    check_keys(config, TOP_KEYS, "configuration")
    for key in ("name", "setup", "group", "reference"):
        if key in config:
            text(config[key], key)
    if config.get("channel", "nuclear") != "nuclear":
        raise ConfigError(f"channel: {config['channel']!r} is not built here (nuclear recoils "
                          "only); electron recoils: cevns_jax.electron_rates.electron_setup")


def check_material(material, where: str = "detector.material") -> None:
    """A material name or a mapping element -> positive finite atoms per formula unit."""
    if isinstance(material, str):
        return
    block(material, where)
    if not material:
        raise ConfigError(f"{where}: the element mapping is empty")
    for element, ratio in material.items():
        text(element, where)
        number(ratio, f"{where}.{element}", low=0.0)


def check_fractions(fractions, isotopes, where: str = "source.fission_fractions") -> None:
    """Fission fractions: a mapping of known ``isotopes`` -> numbers in [0, 1] summing to 1
    (within 1e-3, the tolerance of :func:`cevns_jax.sources.reactor.reactor_beams`)."""
    check_keys(fractions, tuple(isotopes), where)
    total = sum(number(v, f"{where}.{iso}", low=0.0, low_open=False, high=1.0)
                for iso, v in fractions.items())
    if not math.isclose(total, 1.0, rel_tol=1e-3):
        raise ConfigError(f"{where}: fission fractions must sum to 1, got {total:.6g} "
                          f"from {fractions}")
