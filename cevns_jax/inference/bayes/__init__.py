"""Bayesian layer: numpyro models, NUTS posteriors, credible limits and regions.

User guide: docs/bayes.md. The posterior is built from the *same* pieces as the chi^2 fits
of paper 000 -- there is no second implementation of the physics:

* Counts. Per-beam templates S_b, E_b (events per bin; E_b at mu = 1e-10 mu_B) from
  :func:`cevns_jax.rates.binned_templates` are computed once per experiment at the
  configuration's default parameters (flux_scale = radius_scale = 1, the configured
  Lindhard kappa and sin^2 theta_W). These *shape* parameters are held fixed: the only
  rate freedom in the posterior is the normalisation nuisance of the test statistic, as in
  paper 000 Eqs. (34)-(35). Expected counts are
  ``N = (1 + a) sum_b (S_b + mu_b^2 E_b)`` (:func:`cevns_jax.likelihood.expected_counts`,
  paper 000 Eqs. 26 and 33), with mu_b^2 from :func:`cevns_jax.effective_moments.tmm_mu2`
  (TMM model, paper 000 Eqs. 5-9: moduli |Lambda_i|, phases xi_1, xi_3, optionally
  delta_CP) or :func:`cevns_jax.effective_moments.flavour_mu2` (flavour moments mu_e,
  mu_mu, mu_tau, paper 004 Eqs. 6-11).
* Likelihood. ``numpyro.factor("chi2__<exp>", -0.5 * (chi2 - pull))`` with chi2 the
  paper's *unprofiled* statistic at the sampled nuisances:
  ``"eq34"`` :func:`cevns_jax.likelihood.chi2_coherent_csi_nuisance` (paper 000 Eq. 34,
  COHERENT CsI, nuisances a1 (signal), a2 (prompt-neutron background));
  ``"eq35"`` :func:`cevns_jax.likelihood.chi2_single_nuisance_unprofiled` (Eq. 35, one
  normalisation nuisance a); ``"poisson"`` :func:`cevns_jax.likelihood.poisson_deviance`
  per bin plus a normalisation pull; ``"gaussian"`` a plain ((n_obs - N)/sigma)^2 without
  nuisance (toys). ``pull = sum (a_k / sigma_k)^2`` is the Gaussian penalty these chi^2
  contain; in the Bayesian model it is replaced by the nuisance prior of the sample site.
  With Gaussian nuisances the unnormalised posterior is exactly
  ``prior(theta) exp(-chi2_paper / 2)``.

Modules: :mod:`.measurements` (templates, data, statistic and chi^2 of one experiment),
:mod:`.problem` (priors, the posterior problem, allowed reach, one-parameter limits),
:mod:`.fits` (best fit, frequentist limits), :mod:`.model` (the numpyro model),
:mod:`.sampling` (NUTS, diagnostics, :class:`PosteriorResult`), :mod:`.summaries` (credible
limits, HPD regions, comparisons), :mod:`.io` (saving and loading results). Corner plots are
in :mod:`cevns_jax.plots.posterior`, the ``posterior`` command in :mod:`cevns_jax.cli.posterior`.
"""

from .fits import best_fit, frequentist_limits
from .io import load_result, save_result
from .measurements import (CSI_2017_MEASURED, STATISTICS, Measurement, custom_measurement,
                           default_statistic, make_measurement, measurement_chi2,
                           measurement_chi2_profiled, measurement_pull, nuisance_mode)
from .model import model_data, numpyro_model
from .problem import (FLAVOUR_MODULI, MODELS, NUISANCE_PARAMETERIZATIONS, NUISANCE_PRIORS,
                      PRIOR_KINDS, TMM_MODULI, PosteriorProblem, Prior, allowed_reach,
                      build_problem, chi2_profiled, chi2_unprofiled, em_forms,
                      likelihood_measurement, physics_model)
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
    "NUISANCE_PRIORS",
    "PRIOR_KINDS",
    "PosteriorProblem",
    "PosteriorResult",
    "Prior",
    "STATISTICS",
    "TMM_MODULI",
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
    "diagnose",
    "edge_mass",
    "em_forms",
    "format_comparison",
    "frequentist_limits",
    "likelihood_measurement",
    "load_result",
    "make_measurement",
    "measurement_chi2",
    "measurement_chi2_profiled",
    "measurement_pull",
    "model_data",
    "nuisance_mode",
    "numpyro_model",
    "physics_model",
    "sample_posterior",
    "save_result",
]
