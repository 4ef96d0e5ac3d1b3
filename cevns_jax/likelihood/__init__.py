"""Likelihoods: generic statistics (:mod:`.statistics`) and the measurement model
(:mod:`.measurement`) that every inference path consumes. Names no experiment."""

from .statistics import *  # noqa: F401,F403
from .statistics import EQ35_SIGMA, paper000_statistic  # noqa: F401
