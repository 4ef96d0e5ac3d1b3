"""Build an :class:`Experiment` from a configuration dictionary (see docs/configuration.md).

Validation happens here, once, with errors that name the bad value: unknown material or
isotope, non-positive mass / exposure / baseline, a missing unit, an unknown option, and a
threshold above the kinematic end point of every neutrino of the source.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from ..detectors import (ENERGY_SCALES, Detector, Target, efficiency_from_config,
                         resolution_from_config, to_recoil_nr)
from ..physics.cross_sections import CROSS_SECTIONS
from ..physics.form_factors import FORM_FACTORS
from ..physics.kinematics import KINEMATICS, recoil_max
from ..physics.quenching import (QUENCHING_MODELS, SCHOLZ2016_KAPPA, QuenchingModel,
                                 collar2021)
from ..precision import require_x64
from ..sources.reactor import reactor_beams
from ..sources.sns import SNS_BEAMS, sns_beams
from ..sources.solar import solar_beams
from ..units import parse_positive, parse_quantity

SOURCE_TYPES = ("sns", "reactor", "solar")
_THRESHOLD_DIMENSIONS = tuple(ENERGY_SCALES)


class ConfigError(ValueError):
    """An experiment configuration is incomplete or inconsistent."""


@dataclass(frozen=True)
class PhysicsOptions:
    """Static physics choices: cross-section form, form factor, kinematics."""

    cross_section: str = "paper000"
    form_factor: str = "symmetrized_fermi"
    kinematics: str = "exact"


@dataclass(frozen=True, eq=False)
class Experiment:
    """A built experiment: beams, detector, physics options and default parameters."""

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


def _require(block: dict, key: str, where: str):
    if key not in block:
        raise ConfigError(f"{where}: missing required field {key!r}")
    return block[key]


def _choice(value, allowed, what):
    if value not in allowed:
        raise ConfigError(f"{what}: unknown value {value!r}; expected one of {tuple(allowed)}")
    return value


def _build_beams(source: dict) -> tuple:
    kind = _choice(_require(source, "type", "source"), SOURCE_TYPES, "source.type")
    if kind == "sns":
        pot = parse_positive(_require(source, "pot", "source"), "source.pot", ("pot",)).value
        r = source.get("nu_per_flavor_per_pot", 0.08)
        if not isinstance(r, (int, float)) or not r > 0:
            raise ConfigError(f"source.nu_per_flavor_per_pot must be a positive number, got {r!r}")
        baseline = parse_positive(_require(source, "baseline", "source"), "source.baseline",
                                  ("length",)).value
        return sns_beams(pot, float(r), baseline, tuple(source.get("beams", SNS_BEAMS)))
    time = parse_positive(_require(source, "time", "source"), "source.time", ("time",)).value
    if kind == "reactor":
        spectrum = source.get("spectrum", {})
        e_max = parse_positive(spectrum.get("e_max", "10 MeV"), "source.spectrum.e_max",
                               ("energy",)).value
        energy_per_fission = {
            iso: parse_positive(v, f"source.energy_per_fission.{iso}", ("energy",)).value
            for iso, v in source.get("energy_per_fission", {}).items()}
        return reactor_beams(
            parse_positive(_require(source, "thermal_power", "source"), "source.thermal_power",
                           ("power",)).value,
            parse_positive(_require(source, "baseline", "source"), "source.baseline",
                           ("length",)).value,
            time, _require(source, "fission_fractions", "source"),
            low_energy=spectrum.get("low_energy", "vogel_engel"),
            high_energy=spectrum.get("high_energy", "mueller2011"), e_max=e_max,
            energy_per_fission=energy_per_fission)
    return solar_beams(time, source.get("model", "BS05OP"), source.get("components"),
                       source.get("b8_spectrum", "winter2006"))


def _build_detector(block: dict) -> Detector:
    mass = parse_positive(_require(block, "mass", "detector"), "detector.mass", ("mass",)).value
    target = Target.from_material(_require(block, "material", "detector"), mass)
    efficiency = efficiency_from_config(block.get("efficiency", {"type": "flat", "value": 1.0}))
    quenching, kappa = _build_quenching(block.get("quenching", {"model": "lindhard"}), target)
    pe_per_kev_nr = block.get("pe_per_keVnr", getattr(efficiency, "pe_per_keVnr", None))

    threshold = parse_quantity(_require(block, "threshold", "detector"), "detector.threshold",
                               _THRESHOLD_DIMENSIONS)
    if threshold.value <= 0:
        raise ConfigError(f"detector.threshold {threshold.text!r} must be positive")
    bins = block.get("bins")
    if bins is None:
        scale, edges = ENERGY_SCALES[threshold.dimension], [threshold.value, np.inf]
    else:
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
    resolution = resolution_from_config(block.get("resolution"), scale)
    return Detector(target, scale, edges, efficiency, kappa, pe_per_kev_nr, resolution, quenching)


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
    unknown = sorted(set(block) - set(_QUENCHING_KEYS[name]))
    if unknown:
        raise ConfigError(f"detector.quenching: unknown field(s) {unknown} for model {name!r}; "
                          f"allowed: {_QUENCHING_KEYS[name]}")
    kappa = block.get("kappa")
    if kappa is not None and not (isinstance(kappa, (int, float)) and kappa > 0):
        raise ConfigError(f"detector.quenching.kappa must be a positive number, got {kappa!r}")
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
    e_max = max(beam.e_max for beam in beams)
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
    label = f"{config.get('name', 'experiment')} [{config.get('setup', 'custom')}]"
    physics = config.get("physics", {})
    options = PhysicsOptions(
        cross_section=_choice(physics.get("cross_section", "paper000"), CROSS_SECTIONS,
                              "physics.cross_section"),
        form_factor=_choice(physics.get("form_factor", "symmetrized_fermi"), FORM_FACTORS,
                            "physics.form_factor"),
        kinematics=_choice(physics.get("kinematics", "exact"), KINEMATICS, "physics.kinematics"))
    default_sin2 = 0.23863 if options.cross_section == "paper004" else 0.23120
    beams = _build_beams(_require(config, "source", label))
    detector = _build_detector(_require(config, "detector", label))
    _check_threshold_reachable(detector, beams, options, label)
    params = {"flux_scale": 1.0, "radius_scale": 1.0, "kappa": detector.kappa,
              "sin2_theta_w": float(physics.get("sin2_theta_w", default_sin2))}
    return Experiment(config.get("name", "experiment"), config.get("setup", "custom"),
                      config.get("group", config["source"]["type"]), beams, detector, options,
                      params, config)
