"""Experiment catalogue, configuration builder and variations of a built experiment."""

from .build import ConfigError, Experiment, PhysicsOptions, build_experiment
from .catalog import CATALOG, get_config, list_experiments
from .vary import with_exposure, with_target_mass, with_threshold

__all__ = ["CATALOG", "ConfigError", "Experiment", "PhysicsOptions", "build_experiment",
           "get_config", "list_experiments", "with_exposure", "with_target_mass",
           "with_threshold"]
