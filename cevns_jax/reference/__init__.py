"""Independent NumPy/SciPy reference implementation of CEvNS and magnetic-moment rates.

Used by tests and benchmarks to validate the JAX engine; it shares only the physical
constants, unit parsing, the isotope/material tables, the experiment catalogue and the
data loaders with it, never its physics code. No JAX here. See ``docs/reference.md``.

Units: energies MeV, lengths cm, cross sections cm^2/MeV, magnetic moment in units of
1e-10 mu_B.
"""

from .counts import differential_rate, differential_rate_ee, expected_counts
from .cross_sections import dsigma_em, dsigma_sm, physics_options, quark_couplings, weak_charges
from .detector import parse_efficiency, target_numbers
from .form_factors import FORM_FACTOR_MODELS, form_factor
from .kinematics import e_min, nuclear_mass, t_max
from .quenching import (
    lindhard_dtee_dtnr, lindhard_inverse, lindhard_kappa, lindhard_quenching, lindhard_tee,
)
from .sources import (
    reactor_spectrum_per_fission, reactor_total_flux, sns_fluence, sns_spectrum, source_beams,
)

__all__ = [
    "FORM_FACTOR_MODELS", "differential_rate", "differential_rate_ee", "dsigma_em", "dsigma_sm",
    "e_min", "expected_counts", "form_factor", "lindhard_dtee_dtnr", "lindhard_inverse",
    "lindhard_kappa", "lindhard_quenching", "lindhard_tee", "nuclear_mass", "parse_efficiency",
    "physics_options", "quark_couplings", "reactor_spectrum_per_fission", "reactor_total_flux",
    "sns_fluence", "sns_spectrum", "source_beams", "t_max", "target_numbers", "weak_charges",
]
