"""Parameter-space scans of the transition-magnetic-moment space: the public namespace.

The scan model (statistics, quadratic forms, the chi^2 of a grid point) is in
:mod:`.scan_model`, the drivers (chunked, sharded, checkpointed runs) in :mod:`.scan_run`, the
output format in :mod:`.scan_io`, and the reductions (profiles, limits, regions) and plots in
:mod:`.scan_outputs`; :mod:`.scan_model`'s docstring describes the method.
"""

from .scan_io import AXIS_LABELS, AXIS_UNITS, ScanResult, load
from .scan_model import (NUISANCE_AXES, TMM_AXES, ScanModel, ScanTerm, Statistic,
                         build_scan_model, default_statistic, eq34_statistic, eq35_statistic,
                         make_grid, mu2_from_coefficients, mu2_quadratic, quadratic_coefficients,
                         quadratic_form_matrix)
from .scan_outputs import (Limit, delta_chi2_level, phase_extremes, plot_profiles, plot_regions,
                           profile_limit, refine_limit, region_contours)
from .scan_run import MAX_POINTS, estimate_resources, evaluate_points, run_scan

__all__ = [
    "TMM_AXES", "NUISANCE_AXES", "quadratic_form_matrix", "quadratic_coefficients",
    "mu2_quadratic", "mu2_from_coefficients", "Statistic", "eq35_statistic", "eq34_statistic",
    "default_statistic", "ScanTerm", "ScanModel", "build_scan_model", "make_grid",
    "evaluate_points", "run_scan", "estimate_resources", "MAX_POINTS", "load", "ScanResult",
    "AXIS_LABELS", "AXIS_UNITS", "delta_chi2_level", "profile_limit", "refine_limit", "Limit",
    "region_contours", "phase_extremes", "plot_profiles", "plot_regions",
]
