"""Bayesian layer: numpyro models, NUTS posteriors, credible limits and regions.

User guide: docs/bayes.md. The posterior consumes the same
:class:`cevns_jax.likelihood.measurement.Measurement` and physics models as every other
inference path; there is no second statistic:

* Counts. Each channel's expected counts are ``sum_b [S_b(nu) + mu_b^2 E_b(nu)] + B(nu)``
  (paper 000 Eqs. 26 and 33) from the measurement's ``expected_fn``; catalogue experiments
  get their templates from :func:`cevns_jax.rates.binned_templates` at the configuration's
  default parameters (:mod:`.measurements`). mu_b^2 comes from the physics model,
  :class:`~cevns_jax.likelihood.physics_model.TransitionMoments` (paper 000 Eqs. 5-9: moduli
  |Lambda_i|, phases xi_1, xi_3, optionally delta_CP) or
  :class:`~cevns_jax.likelihood.physics_model.FlavourMoments` (paper 004 Eqs. 6-11).
* Likelihood. ``numpyro.factor("twice_nll", -twice_nll / 2)`` with
  :meth:`Measurement.twice_nll` at the sampled nuisances. Its Gaussian constraint terms are
  the nuisance priors; nuisances with treatment ``"profiled"`` are marginalised, ``"fixed"``
  ones stay at nominal (:mod:`.model`). The unnormalised posterior is exactly
  ``prior(theta) exp(-twice_nll / 2)``.

Modules: :mod:`.measurements` (paper 000's statistics on catalogue experiments, as shared
measurements), :mod:`.problem` (priors, the posterior problem, allowed reach, one-parameter
limits), :mod:`.fits` (best fit, chain start, frequentist limits), :mod:`.model` (the numpyro model),
:mod:`.sampling` (NUTS, diagnostics, :class:`PosteriorResult`), :mod:`.summaries` (credible
limits, HPD regions, comparisons), :mod:`.io` (saving and loading results). Corner plots are
in :mod:`cevns_jax.plots.posterior`, the ``posterior`` command in :mod:`cevns_jax.cli.posterior`.
"""

from ...likelihood.measurement import Measurement
from .fits import StartPoint, best_fit, frequentist_limits, start_point
from .io import load_result, save_result
from .measurements import (CSI_2017_MEASURED, STATISTICS, custom_measurement, default_statistic,
                           describe, make_measurement, nuisance_key)
from .model import TRACE_COUNT, model_data, numpyro_model
from .problem import (FLAVOUR_MODULI, MODELS, NUISANCE_PARAMETERIZATIONS, PRIOR_KINDS,
                      TMM_MODULI, PosteriorProblem, Prior, allowed_reach, build_problem,
                      chi2_profiled, chi2_unprofiled, em_forms, physics_model)
from .sampling import (ConvergenceWarning, PosteriorResult, clear_compiled_cache, diagnose,
                       edge_mass, sample_posterior)
from .summaries import (CredibleRegion2D, compare_limits, credible_region_2d,
                        credible_upper_limits, derived_mu2, format_comparison)

__all__ = [
    "CSI_2017_MEASURED",
    "ConvergenceWarning",
    "CredibleRegion2D",
    "FLAVOUR_MODULI",
    "MODELS",
    "Measurement",
    "NUISANCE_PARAMETERIZATIONS",
    "PRIOR_KINDS",
    "PosteriorProblem",
    "PosteriorResult",
    "Prior",
    "STATISTICS",
    "StartPoint",
    "TMM_MODULI",
    "TRACE_COUNT",
    "allowed_reach",
    "best_fit",
    "build_problem",
    "chi2_profiled",
    "chi2_unprofiled",
    "clear_compiled_cache",
    "compare_limits",
    "credible_region_2d",
    "credible_upper_limits",
    "custom_measurement",
    "default_statistic",
    "derived_mu2",
    "describe",
    "diagnose",
    "edge_mass",
    "em_forms",
    "format_comparison",
    "frequentist_limits",
    "load_result",
    "make_measurement",
    "model_data",
    "nuisance_key",
    "numpyro_model",
    "physics_model",
    "sample_posterior",
    "save_result",
    "start_point",
]
