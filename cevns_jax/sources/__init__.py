"""Neutrino sources: SNS pion decay at rest, nuclear reactors, the Sun.

Each builder returns a tuple of :class:`Beam` objects: named spectrum parts (unit of the
parts: neutrinos per MeV per unit of ``fluence``) and a fluence [cm^-2] over the exposure.
"""

from dataclasses import dataclass
from functools import partial

import jax


@partial(jax.tree_util.register_dataclass, data_fields=["parts", "fluence"],
         meta_fields=["name", "flavour"])
@dataclass(frozen=True)
class Beam:
    """One neutrino beam component reaching the detector.

    ``flavour`` names the helicity state that the magnetic-moment layer needs
    (``numu``, ``nue``, ``numubar``, ``nuebar``, ``nue_solar``); ``parts`` are spectra whose
    tail moments add; ``fluence`` [cm^-2] multiplies them. A pytree: the parts' arrays and
    the fluence are leaves, the name and flavour static.
    """

    name: str
    flavour: str
    parts: tuple
    fluence: float

    @property
    def e_max(self):
        """The highest neutrino energy of the parts [MeV] (concrete parts only)."""
        return max(part.e_max for part in self.parts)
