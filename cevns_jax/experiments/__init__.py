"""Experiment catalogue and configuration builder."""

from .catalog import CATALOG, get_config, list_experiments

__all__ = ["CATALOG", "get_config", "list_experiments"]
