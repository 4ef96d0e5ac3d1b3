"""Experiment configurations: unknown fields, non-physical numbers and bad rate parameters
are refused with errors that name the field (never a silently changed result)."""

import math
import random

import jax
import pytest

from cevns_jax.experiments import ConfigError, build_experiment, get_config
from cevns_jax.quadrature import QuadratureConfig
from cevns_jax.rates import binned_templates

FUZZ_EXPERIMENTS = (("COHERENT-CsI", "current"), ("CONUS", "future"), ("COHERENT-LAr", "current"))


def _set(config, path, value):
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def test_misspelt_efficiency_is_refused_not_replaced_by_the_default():
    # with the old silent default (flat efficiency 1) this configuration gave 542.9 events
    # instead of 187.8
    cfg = get_config("COHERENT-CsI", "current")
    cfg["detector"]["efficiancy"] = cfg["detector"].pop("efficiency")
    with pytest.raises(ConfigError, match="'efficiancy'.*did you mean 'efficiency'.*threshold"):
        build_experiment(cfg)


@pytest.mark.parametrize("path", [("physik",), ("source", "potz"), ("physics", "sin2"),
                                  ("detector", "quenching", "kapa"),
                                  ("detector", "efficiency", "k3"),
                                  ("source", "fission_fractions", "U233")])
def test_unknown_field_at_every_level_is_named(path):
    cfg = get_config("CONUS" if "fission_fractions" in path else "COHERENT-CsI", "current")
    _set(cfg, path, 1.0)
    with pytest.raises(ConfigError, match=f"unknown field '{path[-1]}'"):
        build_experiment(cfg)


@pytest.mark.parametrize("path, value, message", [
    (("physics", "sin2_theta_w"), math.nan, "physics.sin2_theta_w.*finite"),
    (("physics", "sin2_theta_w"), 2.0, "physics.sin2_theta_w.*< 1"),
    (("source", "nu_per_flavor_per_pot"), math.inf, "nu_per_flavor_per_pot.*finite"),
    (("detector", "quenching", "kappa"), math.nan, "quenching.kappa.*finite"),
    (("detector", "quenching", "kappa"), 0.0, "quenching.kappa.*> 0"),
    (("detector", "quenching", "kappa"), -0.1, "quenching.kappa.*> 0"),
    (("detector", "mass"), "-1 kg", "detector.mass.*positive"),
    (("detector", "mass"), 14.57, "detector.mass.*no unit"),
    (("detector", "mass"), True, "detector.mass: expected a string"),
    (("source", "beams"), [], "source.beams.*non-empty"),
    (("source", "beams"), ["prompt", "prompt"], "source.beams.*duplicate"),
    (("source", "beams"), ["delayed"], "source.beams.*'delayed'"),
    (("detector", "efficiency", "k1"), "0.66", "efficiency.k1.*number"),
    (("detector", "material"), {"Cs": -1, "I": 1}, r"detector.material.Cs.*> 0"),
    (("detector", "bins"), "5 keVnr", "detector.bins.*list"),
    (("name",), 7, "name.*string"),
])
def test_non_physical_inputs_are_named(path, value, message):
    cfg = get_config("COHERENT-CsI", "current")
    _set(cfg, path, value)
    with pytest.raises(ValueError, match=message):  # ConfigError, or UnitError for quantities
        build_experiment(cfg)


def test_reactor_and_solar_blocks_are_checked():
    cfg = get_config("CONUS", "current")
    cfg["source"]["fission_fractions"]["U235"] = math.nan
    with pytest.raises(ConfigError, match="fission_fractions.U235.*finite"):
        build_experiment(cfg)
    cfg = get_config("CONUS", "current")
    cfg["source"]["fission_fractions"]["U235"] = 0.9
    with pytest.raises(ConfigError, match="fission_fractions.*sum to 1"):
        build_experiment(cfg)
    cfg = get_config("CONUS", "current")
    cfg["source"]["energy_per_fission"] = {"U235": "201.9 MeV", "Pu293": "210 MeV"}
    with pytest.raises(ConfigError, match="energy_per_fission: unknown field 'Pu293'"):
        build_experiment(cfg)
    cfg = get_config("CONUS", "current")
    cfg["source"]["spectrum"]["high_energy"] = "huber"
    with pytest.raises(ConfigError, match="source.spectrum.high_energy.*'huber'"):
        build_experiment(cfg)
    from cevns_jax.solar import solar_config

    cfg = solar_config("Xe", "1 keVnr", components=[])
    with pytest.raises(ConfigError, match="source.components"):
        build_experiment(cfg)
    cfg = solar_config("Xe", "1 keVnr", model="BS2099")
    with pytest.raises(ConfigError, match="source \\(solar\\).*BS2099"):
        build_experiment(cfg)


def test_misspelt_or_non_physical_rate_parameters_raise():
    exp = build_experiment(get_config("COHERENT-CsI", "current"))
    for params in ({"radius": 1.5}, {"flux_scal": 2.0}):
        with pytest.raises(KeyError, match=f"{list(params)[0]}.*known.*radius_scale"):
            binned_templates(exp, params)
    for name, value in (("radius_scale", 0.0), ("flux_scale", -1.0), ("sin2_theta_w", math.nan),
                        ("kappa", -0.1)):
        with pytest.raises(ValueError, match=f"rate parameter {name}"):
            binned_templates(exp, {name: value})
    # traced values are not checked (and jit/grad keep working)
    quad = QuadratureConfig(8, 8)
    total = lambda r: binned_templates(exp, {"radius_scale": r}, quad).sm.sum()
    grad = jax.jit(jax.grad(total))(1.0)
    assert math.isfinite(float(grad)) and float(grad) < 0  # a larger nucleus: fewer events


# ---------------------------------------------------------------------------------------
# fuzzing: every field of three catalogue experiments
# ---------------------------------------------------------------------------------------


def _leaves(node, path=()):
    """Paths of every field (mapping entries, recursively)."""
    for key, value in node.items():
        yield path + (key,)
        if isinstance(value, dict):
            yield from _leaves(value, path + (key,))


def _get(config, path):
    for key in path:
        config = config[key]
    return config


def _misspell(rng, key):
    letters = "abcdefghijklmnopqrstuvwxyz"
    i = rng.randrange(len(key) + 1)
    op = rng.choice(("insert", "delete", "swap"))
    if op == "delete" and len(key) > 1:
        return key[:i] + key[i + 1:] if i < len(key) else key[:-1]
    if op == "swap" and len(key) > 1:
        i = min(i, len(key) - 2)
        swapped = key[:i] + key[i + 1] + key[i] + key[i + 2:]
        if swapped != key:
            return swapped
    return key[:i] + rng.choice(letters) + key[i:]


def _mutations(rng, value):
    """(kind, new value) pairs of bad values for a field currently holding ``value``."""
    wrong = rng.choice(([1, 2], {"x": 1}, True) if not isinstance(value, dict) else ([1, 2], True))
    out = [("wrong type", wrong), ("nan", math.nan)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out += [("inf", math.inf), ("negative", -abs(value) - 0.5)]
    elif isinstance(value, str) and value[:1].isdigit():
        number, unit = value.split(maxsplit=1)
        out += [("inf", f"1e999 {unit}"), ("negative", f"-{number} {unit}")]
    elif isinstance(value, str):
        out += [("inf", math.inf)]
    return out


def _cases(seed=20261130):
    rng = random.Random(seed)
    cases = []
    for name, setup in FUZZ_EXPERIMENTS:
        base = get_config(name, setup)
        for path in _leaves(base):
            parent = _get(base, path[:-1])
            bad_key = _misspell(rng, path[-1])
            if bad_key not in parent:
                cases.append((name, setup, path, "misspelt", bad_key))
            for kind, value in _mutations(rng, _get(base, path)):
                cases.append((name, setup, path, kind, value))
    return cases


CASES = _cases()


def test_fuzz_case_count():
    # every field of the three configurations gets a misspelling and 2-4 bad values
    assert len(CASES) >= 200


def test_every_fuzzed_configuration_is_refused_naming_its_field():
    failures = []
    for name, setup, path, kind, value in CASES:
        cfg = get_config(name, setup)
        if kind == "misspelt":
            parent = _get(cfg, path[:-1])
            parent[value] = parent.pop(path[-1])
            expected = repr(value)
        else:
            _set(cfg, path, value)
            expected = path[-1]
        try:
            build_experiment(cfg)
        except (ValueError, KeyError) as error:
            if expected not in str(error):
                failures.append(f"{name}:{setup} {'.'.join(path)} {kind} {value!r}: {error}")
        else:
            failures.append(f"{name}:{setup} {'.'.join(path)} {kind} {value!r}: accepted")
    assert not failures, "\n".join(failures[:20])
