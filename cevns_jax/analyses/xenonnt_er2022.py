"""XENONnT SR0 electronic recoils (PRL 129, 161805 (2022), arXiv:2207.11330): a binned Poisson
likelihood of the 433 events in 1-30 keV for a solar-neutrino magnetic moment.

Expected counts per reconstructed-energy bin (0.5 keV by default, 58 bins over 1-30 keV):

    N_bin = b B0_bin + sum_b mu_b^2 E_b,bin,

- B0_bin: the collaboration's best-fit background model B0 (events/(t yr keV), efficiency
  applied, reconstructed energy) summed over its 0.1-keV cells times 1.16 t yr. B0 contains
  the SM solar-neutrino electron scattering (pp, 7Be, ...; one of the components of the
  XENONnT background model), so no SM neutrino template is added (``signal_sm`` = 0): the
  magnetic-moment rate (helicity flip, no interference with the SM) is the only addition.
- E_b,bin: unit-moment (1e-10 mu_B) solar nu-e rate in Xe per beam of
  :func:`cevns_jax.electron_rates.solar_electron_beams` (B16-GS98 fluxes, adiabatic MSW,
  MassStateBeam labels), atomic binding by the stepping approximation by default, smeared
  with a Gaussian resolution and multiplied by the total efficiency at reconstructed energy
  (:func:`cevns_jax.electron_rates.smeared_templates`; true T on 0.2-40 keV).
- Resolution: sigma(E) = a sqrt(E) + b E with a = 0.3171 sqrt(keV), b = 0.0015, the XENON1T
  electronic-recoil fit (XENON1T, PRD 102, 072004 (2020), arXiv:2006.09721, sigma/E = a/sqrt(E)
  + b). The XENONnT SR0 paper does not give its own parameterisation in the released files;
  XENON1T's is used as the closest published one (same technique, similar light and charge
  collection); 32 % at 1 keV, 6 % at 30 keV. The limit moves by < 1 % for a in [0.25, 0.40].
- Nuisances: ``xenonnt_er_b0_norm`` b, unconstrained (b >= 0): B0 was fitted to these same
  events, so any external prior on its normalisation would count the data twice. Optional
  shape freedom ``xenonnt_er_b0_tilt`` t (``tilt=True``): B0 x (1 + t (E - 15.5 keV)/14.5 keV),
  unconstrained in [-1, 1], which lets the background absorb a linear slope over 1-30 keV.

Published comparison: the collaboration quotes mu_nu < 6.3e-12 mu_B (90 % C.L.) for the
solar effective moment (PRL 129, 161805; the value as quoted in the literature; not re-read
from the PRL text here). Reinterpretations of the same data: A.N. Khan, arXiv:2208.02144
(flavour-dependent moments) and ShivaSankar K.A. et al., arXiv:2208.06415 (effective and
transition moments, FEA vs stepping/RRPA binding). Limits come from a driver
(:mod:`cevns_jax.results.xenonnt_er2022`); this module builds the Measurement only.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .. import datasets
from ..electron_rates import atoms_per_tonne, electron_target, smeared_templates
from ..electron_rates import solar_electron_beams
from ..likelihood.measurement import Channel, Components, Measurement, Nuisance
from ..precision import require_x64
from ..quadrature import QuadratureConfig

__all__ = ["RESOLUTION", "PUBLISHED", "sigma_kev", "ERTemplates", "er_templates",
           "measurement"]

#: sigma(E) = a sqrt(E) + b E [keV] (XENON1T PRD 102, 072004 (2020)); see the module docstring
RESOLUTION = {"a": 0.3171, "b": 0.0015}
PUBLISHED = {"mu_eff_limit": 0.063, "events": 433,
             "reference": "XENONnT, PRL 129, 161805 (2022), arXiv:2207.11330"}
SECONDS_PER_YEAR = 365.25 * 86400.0
TRUE_RANGE_KEV = (0.2, 40.0)


def sigma_kev(energy_kev):
    return RESOLUTION["a"] * jnp.sqrt(energy_kev) + RESOLUTION["b"] * energy_kev


@dataclasses.dataclass(frozen=True, eq=False)
class ERTemplates:
    """Per-bin inputs of the likelihood for the 1.16 t yr exposure: ``edges_kev``,
    ``observed``, ``background`` (B0), ``em`` (n_beams, n_bins), ``sm`` (n_beams, n_bins, for
    reference; B0 already holds it), ``beams`` (labels), ``binding``."""

    edges_kev: np.ndarray
    observed: np.ndarray
    background: np.ndarray
    em: np.ndarray
    sm: np.ndarray
    beams: tuple
    binding: str


def _binned_background(edges_kev):
    centre, rate = datasets.xenonnt_er_background()
    idx = np.searchsorted(edges_kev, centre) - 1
    inside = (idx >= 0) & (idx < edges_kev.size - 1)
    counts = np.bincount(idx[inside], weights=rate[inside], minlength=edges_kev.size - 1)
    return counts * 0.1 * datasets.XENONNT_ER_EXPOSURE_T_Y


def er_templates(binding: str = "stepping", *, bin_width_kev: float = 0.5,
                 pee_model: str = "adiabatic", solar_model: str = "B16-GS98",
                 correction=None, quad: QuadratureConfig = QuadratureConfig(n_piece=12),
                 n_bin: int = 8) -> ERTemplates:
    """Templates of the XENONnT ER likelihood (computed under ``jax.jit``: a set-up step)."""
    require_x64()
    lo, hi = datasets.XENONNT_ER_RANGE_KEV
    n_bins = round((hi - lo) / bin_width_kev)
    if not (n_bins >= 1 and abs(n_bins * bin_width_kev - (hi - lo)) < 1e-9):
        raise ValueError(f"bin width {bin_width_kev} keV must divide the {lo}-{hi} keV range")
    edges = np.linspace(lo, hi, n_bins + 1)
    if abs(round(bin_width_kev / 0.1) * 0.1 - bin_width_kev) > 1e-9:
        raise ValueError(f"bin width {bin_width_kev} keV must be a multiple of B0's 0.1 keV")
    target = electron_target("Xe", binding, threshold_kev=TRUE_RANGE_KEV[0],
                             correction=correction)
    exposure = datasets.XENONNT_ER_EXPOSURE_T_Y
    beams = solar_electron_beams(SECONDS_PER_YEAR, model=solar_model, pee_model=pee_model)
    e_eff, eff = (jnp.asarray(a) for a in datasets.xenonnt_er_efficiency())

    def build():
        return smeared_templates(
            target, beams, np.asarray(TRUE_RANGE_KEV) * 1e-3, edges * 1e-3,
            exposure * atoms_per_tonne("Xe"), lambda t: 1e-3 * sigma_kev(t * 1e3),
            lambda e: jnp.interp(e * 1e3, e_eff, eff, left=0.0), quad=quad, n_bin=n_bin)

    t = jax.jit(build)()
    observed = np.histogram(datasets.xenonnt_er_events(), bins=edges)[0].astype(float)
    return ERTemplates(edges, observed, _binned_background(edges), np.asarray(t.em),
                       np.asarray(t.sm), tuple(b.label for b in beams), binding)


def _expected(data, nu):
    background = nu["xenonnt_er_b0_norm"] * data["background"]
    if "xenonnt_er_b0_tilt" in nu:
        background = background * (1.0 + nu["xenonnt_er_b0_tilt"] * data["lever"])
    return Components(jnp.zeros_like(data["em"]), data["em"], background)


def measurement(templates: ERTemplates, *, tilt: bool = False) -> Measurement:
    """The Poisson Measurement over the bins of ``templates`` (see the module docstring)."""
    centre = 0.5 * (templates.edges_kev[1:] + templates.edges_kev[:-1])
    data = {"background": jnp.asarray(templates.background), "em": jnp.asarray(templates.em),
            "lever": jnp.asarray((centre - 15.5) / 14.5)}
    nuisances = [Nuisance("xenonnt_er_b0_norm", nominal=1.0, sigma=None, lower=0.0)]
    if tilt:
        nuisances.append(Nuisance("xenonnt_er_b0_tilt", 0.0, None, -1.0, 1.0))
    channel = Channel(jnp.asarray(templates.observed), data, "xenonnt_er_sr0",
                      templates.beams, _expected, "poisson")
    return Measurement((channel,), tuple(nuisances), "xenonnt_er2022")
