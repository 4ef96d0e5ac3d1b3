"""New experiments from a built one with another exposure, target mass or threshold.

Each function returns a new :class:`~cevns_jax.experiments.build.Experiment` whose changed
leaves may be JAX tracers, so counts can be differentiated or vmapped in these numbers::

    jax.grad(lambda t: binned_templates(with_threshold(exp, t)).sm.sum())(2e-3)
    jax.vmap(lambda kg: binned_templates(with_target_mass(exp, kg)).sm)(masses)

- exposure: a factor on every beam's fluence (running time, protons on target, or power x
  time: counts are proportional to it);
- target mass [kg]: the number of nuclei of every isotope scales with it
  (paper 000 Eq. 32 is linear in the mass);
- threshold: the lowest bin edge, on the detector's own energy scale (``nr`` and ``ee`` in
  MeV, ``pe`` in photoelectrons; a string with a unit is parsed). It is mapped to T_nr per
  isotope inside the rate integral (Lindhard or the configured quenching model for ``ee``,
  paper 000 Eq. 29 for ``pe``), so a derivative passes through the quenching inversion.
  With an energy resolution it moves the lower edge of the first observed bin.

Concrete values are checked (ValueError naming the value); traced values cannot be.
``config`` keeps the configuration the experiment was built from.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..detectors import ENERGY_SCALES
from ..units import parse_quantity

__all__ = ["with_exposure", "with_target_mass", "with_threshold"]

_DIMENSION = {scale: dimension for dimension, scale in ENERGY_SCALES.items()}


def _concrete(value) -> bool:
    return not isinstance(value, jax.core.Tracer)


def _check_positive(value, what: str):
    if _concrete(value) and not np.all(np.isfinite(value) & (np.asarray(value) > 0)):
        raise ValueError(f"{what} must be finite and > 0, got {value!r}")


def with_exposure(experiment, scale):
    """The experiment with every beam's fluence multiplied by ``scale`` (> 0)."""
    _check_positive(scale, "exposure scale")
    beams = tuple(dataclasses.replace(beam, fluence=beam.fluence * scale)
                  for beam in experiment.beams)
    return dataclasses.replace(experiment, beams=beams)


def with_target_mass(experiment, mass_kg):
    """The experiment with a detector of ``mass_kg`` kilograms (same material)."""
    _check_positive(mass_kg, "target mass [kg]")
    target = experiment.detector.target
    ratio = mass_kg / target.mass_kg
    target = dataclasses.replace(target, n_nuclei=target.n_nuclei * ratio, mass_kg=mass_kg)
    return dataclasses.replace(experiment,
                               detector=dataclasses.replace(experiment.detector, target=target))


def with_threshold(experiment, threshold):
    """The experiment with its lowest bin edge at ``threshold`` on the detector's scale
    (MeV for ``nr``/``ee``, photoelectrons for ``pe``, or a string such as ``"2 keVnr"``);
    a concrete value must lie in (0, second edge)."""
    detector = experiment.detector
    if isinstance(threshold, str):
        threshold = parse_quantity(threshold, "threshold", (_DIMENSION[detector.scale],)).value
    edges = jnp.asarray(detector.edges, dtype=jnp.float64)
    if _concrete(threshold) and _concrete(edges):
        upper = float(edges[1])
        if not (np.ndim(threshold) == 0 and 0 < float(threshold) < upper):
            raise ValueError(f"threshold {threshold!r} ({detector.scale}) must be a number in "
                             f"(0, {upper:.6g}), the second bin edge")
    edges = edges.at[0].set(threshold)
    return dataclasses.replace(experiment, detector=dataclasses.replace(detector, edges=edges))
