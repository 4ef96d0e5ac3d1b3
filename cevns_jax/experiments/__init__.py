"""Experiment catalogue and configuration builder."""

from .build import ConfigError, Experiment, PhysicsOptions, build_experiment
from .catalog import CATALOG, get_config, list_experiments

__all__ = ["CATALOG", "ConfigError", "Experiment", "PhysicsOptions", "build_experiment",
           "get_config", "list_experiments"]
