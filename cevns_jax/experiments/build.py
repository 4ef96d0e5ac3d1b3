"""Build an :class:`Experiment` from a configuration dictionary (see docs/configuration.md).

Validation happens here, once, with errors that name the bad field and value: an unknown
field anywhere (:mod:`.schema`), unknown material or isotope, non-positive mass / exposure /
baseline, a missing unit, an unknown option, a non-finite or out-of-range number
(sin^2 theta_W, kappa, neutrinos per POT, efficiency parameters), and a threshold above the
kinematic end point of every neutrino of the source.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import jax
import numpy as np

from ..detectors import (ENERGY_SCALES, Detector, Target, efficiency_from_config,
                         resolution_from_config, to_recoil_nr)
from ..physics.cross_sections import CROSS_SECTIONS
from ..physics.form_factors import FORM_FACTORS
from ..physics.kinematics import KINEMATICS, recoil_max
from ..physics.quenching import (QUENCHING_MODELS, SCHOLZ2016_KAPPA, QuenchingModel,
                                 collar2021)
from ..precision import require_x64
from ..datasets import SOLAR_COMPONENTS, reactor_isotopes
from ..sources.reactor import HIGH_ENERGY_MODELS, LOW_ENERGY_MODELS, reactor_beams
from ..sources.sns import SNS_BEAMS, sns_beams
from ..sources.solar import solar_beams
from ..units import parse_positive, parse_quantity
from . import schema
from .schema import ConfigError

SOURCE_TYPES = ("sns", "reactor", "solar")
_THRESHOLD_DIMENSIONS = tuple(ENERGY_SCALES)


@dataclass(frozen=True)
class PhysicsOptions:
    """Static physics choices: cross-section form, form factor, kinematics."""

    cross_section: str = "paper000"
    form_factor: str = "symmetrized_fermi"
    kinematics: str = "exact"


@dataclass(frozen=True, eq=False)
class Experiment:
    """A built experiment: beams, detector, physics options and default parameters.

    A JAX pytree: the arrays and numbers of the beams, the detector and the default
    parameters are leaves; the physics options, beam names, energy scale, quenching model
    and array sizes are its structure (static). ``name``, ``setup``, ``group`` and
    ``config`` describe it: they travel with the static data but compare equal for every
    experiment, so experiments that differ only in numbers share compiled code, and a
    jitted function must not branch on them. ``config`` is the configuration it was built
    from (it does not follow :mod:`~cevns_jax.experiments.vary`).
    """

    name: str
    setup: str
    group: str
    beams: tuple
    detector: Detector
    options: PhysicsOptions
    default_params: dict
    config: dict = field(repr=False)

    @property
    def beam_names(self) -> tuple:
        return tuple(beam.name for beam in self.beams)

    @property
    def label(self) -> str:
        return f"{self.name} [{self.setup}]"


class _Description:
    """Descriptive fields of an experiment kept in its pytree static data; every instance
    compares equal, so they are not part of the structure that keys compiled code."""

    def __init__(self, fields: tuple):
        self.fields = fields

    def __eq__(self, other):
        return isinstance(other, _Description)

    def __hash__(self):
        return 0


def _flatten_experiment(experiment: Experiment):
    children = (experiment.beams, experiment.detector, experiment.default_params)
    description = _Description((experiment.name, experiment.setup, experiment.group,
                                experiment.config))
    return children, (experiment.options, description)


def _unflatten_experiment(static, children):
    options, description = static
    name, setup, group, config = description.fields
    beams, detector, params = children
    return Experiment(name, setup, group, beams, detector, options, params, config)


jax.tree_util.register_pytree_node(Experiment, _flatten_experiment, _unflatten_experiment)


_require = schema.require


def _choice(value, allowed, what):
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{what}: unknown value {value!r}; expected one of {tuple(allowed)}")
    return value


def _build_beams(source: dict) -> tuple:
    if "type" not in schema.block(source, "source"):
        schema.check_keys(source, tuple(dict.fromkeys(sum(schema.SOURCE_KEYS.values(), ()))),
                          "source")
    kind = _choice(_require(source, "type", "source"), SOURCE_TYPES, "source.type")
    schema.check_keys(source, schema.SOURCE_KEYS[kind], f"source ({kind})")
    if kind == "sns":
        pot = parse_positive(_require(source, "pot", "source"), "source.pot", ("pot",)).value
        r = schema.number(source.get("nu_per_flavor_per_pot", 0.08),
                          "source.nu_per_flavor_per_pot", low=0.0)
        baseline = parse_positive(_require(source, "baseline", "source"), "source.baseline",
                                  ("length",)).value
        beams = schema.string_list(source.get("beams", list(SNS_BEAMS)), "source.beams",
                                   allowed=SNS_BEAMS)
        return sns_beams(pot, r, baseline, tuple(beams))
    time = parse_positive(_require(source, "time", "source"), "source.time", ("time",)).value
    if kind == "reactor":
        spectrum = schema.check_keys(source.get("spectrum", {}), schema.SPECTRUM_KEYS,
                                     "source.spectrum")
        e_max = parse_positive(spectrum.get("e_max", "10 MeV"), "source.spectrum.e_max",
                               ("energy",)).value
        energy_per_fission = {
            iso: parse_positive(v, f"source.energy_per_fission.{iso}", ("energy",)).value
            for iso, v in schema.check_keys(source.get("energy_per_fission", {}),
                                            reactor_isotopes(),
                                            "source.energy_per_fission").items()}
        fractions = _require(source, "fission_fractions", "source")
        schema.check_fractions(fractions, reactor_isotopes())
        return reactor_beams(
            parse_positive(_require(source, "thermal_power", "source"), "source.thermal_power",
                           ("power",)).value,
            parse_positive(_require(source, "baseline", "source"), "source.baseline",
                           ("length",)).value,
            time, fractions,
            low_energy=_choice(spectrum.get("low_energy", "vogel_engel"), LOW_ENERGY_MODELS,
                               "source.spectrum.low_energy"),
            high_energy=_choice(spectrum.get("high_energy", "mueller2011"), HIGH_ENERGY_MODELS,
                                "source.spectrum.high_energy"),
            e_max=e_max, energy_per_fission=energy_per_fission)
    components = source.get("components")
    if components is not None:
        components = schema.string_list(components, "source.components",
                                        allowed=SOLAR_COMPONENTS)
    model = schema.text(source.get("model", "BS05OP"), "source.model")
    b8 = schema.text(source.get("b8_spectrum", "winter2006"), "source.b8_spectrum")
    try:
        return solar_beams(time, model, components, b8)
    except (KeyError, ValueError) as error:
        raise ConfigError(f"source (solar): model {model!r}, b8_spectrum {b8!r}: "
                          f"{error}") from error


def _efficiency(block) -> object:
    if "type" not in schema.block(block, "detector.efficiency"):
        schema.check_keys(block, tuple(dict.fromkeys(sum(schema.EFFICIENCY_KEYS.values(), ()))),
                          "detector.efficiency")
    kind = _choice(block.get("type"), tuple(schema.EFFICIENCY_KEYS), "detector.efficiency.type")
    schema.check_keys(block, schema.EFFICIENCY_KEYS[kind], f"detector.efficiency ({kind})")
    if kind == "flat":
        schema.number(_require(block, "value", "detector.efficiency"),
                      "detector.efficiency.value", low=0.0, high=1.0)
    elif kind == "coherent_csi2017":
        for key in ("k1", "k2", "x0", "pe_per_keVnr"):
            if key in block:
                schema.number(block[key], f"detector.efficiency.{key}", low=0.0)
    else:
        for key in ("energies", "values"):
            if not isinstance(block.get(key), (list, tuple)):
                raise ConfigError(f"detector.efficiency.{key}: expected a list, got "
                                  f"{block.get(key)!r}")
        for i, v in enumerate(block["values"]):
            schema.number(v, f"detector.efficiency.values[{i}]", low=0.0, low_open=False,
                          high=1.0)
    return efficiency_from_config(block)


def _build_detector(block: dict) -> Detector:
    schema.check_keys(block, schema.DETECTOR_KEYS, "detector")
    mass = parse_positive(_require(block, "mass", "detector"), "detector.mass", ("mass",)).value
    material = _require(block, "material", "detector")
    schema.check_material(material)
    target = Target.from_material(material, mass)
    efficiency = _efficiency(block.get("efficiency", {"type": "flat", "value": 1.0}))
    quenching, kappa = _build_quenching(block.get("quenching", {"model": "lindhard"}), target)
    pe_per_kev_nr = block.get("pe_per_keVnr", getattr(efficiency, "pe_per_keVnr", None))
    if "pe_per_keVnr" in block:
        schema.number(pe_per_kev_nr, "detector.pe_per_keVnr", low=0.0)

    threshold = parse_quantity(_require(block, "threshold", "detector"), "detector.threshold",
                               _THRESHOLD_DIMENSIONS)
    if threshold.value <= 0:
        raise ConfigError(f"detector.threshold {threshold.text!r} must be positive")
    bins = block.get("bins")
    if bins is None:
        scale, edges = ENERGY_SCALES[threshold.dimension], [threshold.value, np.inf]
    else:
        if not isinstance(bins, (list, tuple)):
            raise ConfigError(f"detector.bins: expected a list of edges, got {bins!r}")
        parsed = [parse_quantity(e, "detector.bins", _THRESHOLD_DIMENSIONS) for e in bins]
        dims = {q.dimension for q in parsed}
        if len(dims) != 1:
            raise ConfigError(f"detector.bins must share one energy scale, got {sorted(dims)}")
        scale, edges = ENERGY_SCALES[dims.pop()], [q.value for q in parsed]
        if ENERGY_SCALES[threshold.dimension] != scale:
            raise ConfigError("detector.threshold and detector.bins must use the same scale")
        edges = [max(e, threshold.value) for e in edges]
    edges = np.asarray(edges, dtype=np.float64)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ConfigError(f"detector.bins must be strictly increasing above the threshold: {edges}")
    if scale == "pe" and pe_per_kev_nr is None:
        raise ConfigError("a PE threshold needs 'pe_per_keVnr' in the detector or efficiency block")
    resolution = block.get("resolution")
    if resolution is not None:
        schema.check_keys(resolution, schema.RESOLUTION_KEYS, "detector.resolution")
        if "relative" in resolution:
            schema.number(resolution["relative"], "detector.resolution.relative", low=0.0,
                          low_open=False)
    return Detector(target, scale, edges, efficiency, kappa, pe_per_kev_nr,
                    resolution_from_config(resolution, scale), quenching)


_QUENCHING_KEYS = {"lindhard": ("model", "kappa"), "modified_lindhard": ("model", "kappa", "xi"),
                   "fef": ("model",), "ybe": ("model",)}


def _build_quenching(block: dict, target: Target):
    """(QuenchingModel, kappa per isotope) of ``detector.quenching``:
    ``{"model": "lindhard", "kappa": 0.162}`` (kappa optional: Lindhard's formula),
    ``{"model": "modified_lindhard", "kappa": 0.1789, "xi": "0.16 keVnr"}`` (defaults: the Ge
    fit of Scholz et al. 2016), ``{"model": "fef"}`` or ``{"model": "ybe"}`` (Collar et al.
    2021 Ge tables; Ge targets only)."""
    if not isinstance(block, dict):
        raise ConfigError(f"detector.quenching must be a dict with a 'model', got {block!r}")
    name = _choice(block.get("model", "lindhard"), QUENCHING_MODELS, "detector.quenching.model")
    schema.check_keys(block, _QUENCHING_KEYS[name], f"detector.quenching (model {name!r})")
    kappa = block.get("kappa")
    if kappa is not None:
        schema.number(kappa, "detector.quenching.kappa", low=0.0)
    if name == "lindhard":
        return QuenchingModel("lindhard"), target.default_kappa(kappa)
    if name == "modified_lindhard":
        xi = parse_positive(block.get("xi", "0.16 keVnr"), "detector.quenching.xi",
                            ("energy_nr",)).value
        return (QuenchingModel("modified_lindhard", xi=xi),
                target.default_kappa(SCHOLZ2016_KAPPA if kappa is None else kappa))
    if np.any(np.asarray(target.Z) != 32):
        raise ConfigError(f"detector.quenching.model {name!r} is a germanium calibration; the "
                          f"target has isotopes {target.names}")
    from ..datasets.dresden2 import ge_quenching_table

    energies, fef, ybe = ge_quenching_table()
    model = collar2021(energies, fef, ybe, 1.0 if name == "fef" else 0.0)
    return model, target.default_kappa()


def _check_threshold_reachable(detector: Detector, beams, options: PhysicsOptions, label: str):
    """Raise if the threshold lies above T_max(E_max) for every isotope and every beam."""
    target = detector.target
    threshold_nr = np.asarray(to_recoil_nr(
        np.full(target.Z.shape, detector.edges[0]), detector.scale, target.Z, detector.kappa,
        detector.pe_per_kev_nr, detector.quenching))
    e_max = max(float(beam.e_max) for beam in beams)
    t_max = np.asarray(recoil_max(e_max, target.nuclear_mass, options.kinematics))
    if np.all(threshold_nr >= t_max):
        raise ConfigError(
            f"{label}: threshold {detector.edges[0]:.6g} ({detector.scale}) corresponds to "
            f"T_nr >= {threshold_nr.min() * 1e3:.6g} keV, above the largest recoil "
            f"{t_max.max() * 1e3:.6g} keV that the source's highest neutrino energy "
            f"({e_max:.6g} MeV) can produce: no events are possible")


def build_experiment(config: dict) -> "Experiment":
    """Validate ``config`` and build the :class:`Experiment`."""
    require_x64()
    if not isinstance(config, dict):
        raise ConfigError(f"an experiment configuration must be a dict, got {type(config)}")
    config = copy.deepcopy(config)
    schema.check_header(config)
    if isinstance(config.get("detector"), dict):     # misspellings first: they explain the rest
        schema.check_keys(config["detector"], schema.DETECTOR_KEYS, "detector")
    label = f"{config.get('name', 'experiment')} [{config.get('setup', 'custom')}]"
    physics = schema.check_keys(config.get("physics", {}), schema.PHYSICS_KEYS, "physics")
    options = PhysicsOptions(
        cross_section=_choice(physics.get("cross_section", "paper000"), CROSS_SECTIONS,
                              "physics.cross_section"),
        form_factor=_choice(physics.get("form_factor", "symmetrized_fermi"), FORM_FACTORS,
                            "physics.form_factor"),
        kinematics=_choice(physics.get("kinematics", "exact"), KINEMATICS, "physics.kinematics"))
    default_sin2 = 0.23863 if options.cross_section == "paper004" else 0.23120
    sin2 = schema.number(physics.get("sin2_theta_w", default_sin2), "physics.sin2_theta_w",
                         low=0.0, high=1.0, high_open=True)
    beams = _build_beams(_require(config, "source", label))
    detector = _build_detector(schema.block(_require(config, "detector", label), "detector"))
    _check_threshold_reachable(detector, beams, options, label)
    params = {"flux_scale": 1.0, "radius_scale": 1.0, "kappa": detector.kappa,
              "sin2_theta_w": sin2}
    return Experiment(config.get("name", "experiment"), config.get("setup", "custom"),
                      config.get("group", config["source"]["type"]), beams, detector, options,
                      params, config)
