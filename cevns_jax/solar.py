"""Solar-neutrino CEvNS analysis layer (paper 004: Demirci, Basli, Mustamin, BSM-2023.19).

Builds on :mod:`cevns_jax.rates` (per-beam SM and unit-moment EM templates) and turns one
solar experiment into a :class:`SolarChannel`: the same beams, each with the flavour
composition it has at the detector, so that any model of the magnetic moment combines the
templates linearly, N = sum_b (S_b + mu_b^2 E_b).

Flavour composition at the detector
-----------------------------------
Every beam b carries an effective two-flavour probability ``pe1[b]`` = P_e1^{2nu} (the
probability that a solar nu_e leaves the Sun as nu_1 in the two-flavour limit). From it,

    P_ee = c13^4 [P_e1 c12^2 + (1 - P_e1) s12^2] + s13^4,                (004 Eq. 8)
    P_emu = (1 - P_ee) c23^2,   P_etau = (1 - P_ee) s23^2,                (004 Eqs. 9-10)

and the mass-state probabilities (c13^2 P_e1, c13^2 (1 - P_e1), s13^2) of paper 000 Eq. (39).

* ``pee_model="constant"`` (default, paper 004): P_e1 = c12^2 for every beam, the
  vacuum-averaged limit. Then P_ee = c13^4 (1 - sin^2(2 theta12)/2) + s13^4, which is exactly
  004 Eqs. (8)+(11) (c12^4 + s12^4 = 1 - sin^2(2 theta12)/2).
* ``pee_model="adiabatic"``: energy-dependent LMA-MSW. P_e1^{2nu}(E) = <cos^2 theta12^m>
  averaged over the production region of each component (adiabatic propagation, no
  day/night effect; :func:`cevns_jax.moments.pe1_2nu_adiabatic`; electron density and
  production fractions from the radial tables of the standard solar model). Because P_ee,
  P_emu, P_etau and the TMM moment of paper 000 Eq. (38) are all *linear* in P_e1, each
  component is split exactly into two beams: spectrum f(E) P_e1(E) with ``pe1 = 1`` and
  f(E) (1 - P_e1(E)) with ``pe1 = 0``. Tabulated spectra are reweighted at their knots
  (piecewise-linear product), lines exactly.

Effective moments (units of 1e-10 mu_B, the library convention)
---------------------------------------------------------------
* flavour-diagonal moments (004 Eqs. 6-7): mu_b^2 = sum_alpha P_{e alpha, b} mu_alpha^2
  (:func:`mu2_flavour`);
* Majorana transition moments (paper 000 Eq. 38): mu_b^2 = |L|^2 - c13^2 |L2|^2
  + (c13^2 - 1) |L3|^2 + c13^2 P_e1 (|L2|^2 - |L1|^2) (:func:`mu2_tmm`).

Oscillation parameters default to :data:`PAPER004_OSCILLATION`, the normal-ordering best fit
of de Salas et al., JHEP 02 (2021) 071 (paper 004 ref. [32]).

Spectra of 004 Figure 2 (:func:`spectra`) are in events per (kg keV day), on the nuclear
recoil scale (keVnr) or the electron-equivalent scale (keVee, Lindhard quenching with the
Jacobian of 004 Eq. 17). All functions are pure; drivers jit.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from . import datasets, moments
from .experiments.build import build_experiment
from .likelihood import expected_counts
from .likelihood.physics_model import MassStateBeam
from .physics.kinematics import recoil_max
from .precision import require_x64
from .quadrature import QuadratureConfig
from .rates import differential_rate, differential_rate_ee
from .sources import Beam
from .spectra import LineSpectrum, TabulatedSpectrum

__all__ = [
    "FLAVOURS",
    "PEE_MODELS",
    "DE_SALAS_2021_NO",
    "PAPER004_OSCILLATION",
    "PAPER004_FIGURE2_MOMENTS",
    "RADIAL_PROFILE_MODELS",
    "SolarChannel",
    "SolarSpectra",
    "solar_config",
    "reachable_components",
    "build_solar_experiment",
    "solar_channel",
    "flavour_composition",
    "mass_composition",
    "radial_profile",
    "pe1_production_averaged",
    "survival_probability",
    "mu2_flavour",
    "mu2_tmm",
    "component_matrix",
    "merge_to_constant",
    "solar_counts",
    "spectra",
    "spectra_channel",
    "channel_spectra",
    "spectra_rate",
    "PAPER004_PEE_MODEL",
    "MSW_PEE_MODEL",
    "beam_labels",
]

FLAVOURS = ("e", "mu", "tau")
PEE_MODELS = ("constant", "adiabatic")
#: Paper 004's reading of the solar flavour composition: energy independent, vacuum averaged
#: (004 Eqs. 8-11; P_ee = 0.54 for every component).
PAPER004_PEE_MODEL = "constant"
#: The composition of data analyses: energy-dependent adiabatic LMA-MSW, production averaged
#: (P_ee of 8B about 0.3 above 5 MeV).
MSW_PEE_MODEL = "adiabatic"

#: Normal-ordering best fit of P.F. de Salas et al., "2020 global reassessment of the neutrino
#: oscillation picture", JHEP 02 (2021) 071 (paper 004 ref. [32]): sin^2 theta12 = 0.318,
#: sin^2 theta13 = 0.02200, sin^2 theta23 = 0.574, delta = 1.08 pi, Dm21^2 = 7.50e-5 eV^2,
#: Dm31^2 = 2.55e-3 eV^2.
DE_SALAS_2021_NO = moments.OscillationParameters(
    s12sq=0.318, s13sq=0.02200, s23sq=0.574, delta_cp=1.08 * math.pi,
    dm21sq=7.50e-5, dm31sq=2.55e-3)

#: Oscillation parameters of paper 004 (Sect. 2.2: "best-fit ... normal ordering [32]").
PAPER004_OSCILLATION = DE_SALAS_2021_NO

#: The three moments of 004 Figure 2 (1e-9, 8e-10, 4e-10 mu_B) in library units of 1e-10 mu_B.
PAPER004_FIGURE2_MOMENTS = (10.0, 8.0, 4.0)

# --------------------------------------------------------------------------------------
# configuration helpers
# --------------------------------------------------------------------------------------


def solar_config(material: str, threshold: str, *, bins=None, mass: str = "1 kg",
                 time: str = "1 day", model: str = "BS05OP", components=None,
                 b8_spectrum: str = "winter2006", efficiency: dict | None = None,
                 kappa: float | None = None, cross_section: str = "paper004",
                 form_factor: str = "helm", name: str = "solar",
                 setup: str = "custom") -> dict:
    """Configuration dictionary (docs/configuration.md) of a solar CEvNS experiment.

    Defaults follow paper 004: BS05(OP) fluxes (Sect. 2.3), the 004 cross section Eqs. (2)-(3)
    with sin^2 theta_W = 0.23863 and the Helm form factor, Lindhard quenching with the given
    ``kappa`` (004 uses 0.162 for Ge; ``None`` = Lindhard's 0.133 Z^(2/3) A^(-1/2)).
    ``mass`` and ``time`` default to 1 kg and 1 day so counts come out per kg day.
    """
    detector = {"material": material, "mass": mass, "threshold": threshold}
    if bins is not None:
        detector["bins"] = list(bins)
    if efficiency is not None:
        detector["efficiency"] = efficiency
    quenching = {"model": "lindhard"}
    if kappa is not None:
        quenching["kappa"] = float(kappa)
    detector["quenching"] = quenching
    source = {"type": "solar", "time": time, "model": model, "b8_spectrum": b8_spectrum}
    if components is not None:
        source["components"] = list(components)
    return {"name": name, "setup": setup, "group": "solar", "source": source,
            "detector": detector,
            "physics": {"cross_section": cross_section, "form_factor": form_factor}}


def reachable_components(config: dict) -> tuple:
    """The solar components of ``config`` that can produce a recoil above its threshold.

    A component is kept when T_max(E_max) = 2E^2/(2E + m_A) (004 Eq. 14) of its highest
    neutrino energy exceeds the threshold (mapped to T_nr per isotope) for at least one
    isotope. Dropping the others changes no count and saves their (zero) integrals.
    """
    require_x64()
    full = build_experiment(config)
    threshold_nr = np.asarray(full.detector.edges_nr()[:, 0])
    masses = np.asarray(full.detector.target.nuclear_mass)
    keep = tuple(beam.name for beam in full.beams
                 if np.any(np.asarray(recoil_max(beam.e_max, masses, full.options.kinematics))
                           > threshold_nr))
    if not keep:
        raise ValueError(f"no solar component of {full.beam_names} reaches the threshold "
                         f"{full.detector.edges[0]:.6g} ({full.detector.scale})")
    return keep


def build_solar_experiment(config: dict, *, drop_unreachable: bool = True):
    """:func:`~cevns_jax.experiments.build_experiment` for a solar ``config``; with
    ``drop_unreachable`` only the components of :func:`reachable_components` are kept."""
    if not isinstance(config, dict) or config.get("source", {}).get("type") != "solar":
        got = config.get("source", {}).get("type") if isinstance(config, dict) else config
        raise ValueError(f"a solar experiment needs source.type 'solar', got {got!r}")
    if drop_unreachable:
        config = {**config, "source": {**config["source"],
                                       "components": list(reachable_components(config))}}
    return build_experiment(config)


# --------------------------------------------------------------------------------------
# flavour and mass composition (004 Eqs. 8-11, 000 Eq. 39)
# --------------------------------------------------------------------------------------


def _check_osc(osc):
    if not isinstance(osc, moments.OscillationParameters):
        raise TypeError(f"osc must be a moments.OscillationParameters, got {type(osc).__name__}")


def flavour_composition(pe1, osc=PAPER004_OSCILLATION):
    """(P_ee, P_emu, P_etau) at the detector for P_e1^{2nu} = ``pe1`` (shape (..., 3)).

    P_ee = c13^4 [pe1 c12^2 + (1 - pe1) s12^2] + s13^4 (paper 004 Eq. 8 with the two-flavour
    survival probability written through P_e1), P_emu = (1 - P_ee) c23^2 (Eq. 9),
    P_etau = (1 - P_ee) s23^2 (Eq. 10). With pe1 = c12^2 (vacuum average) P_ee equals
    004 Eqs. (8) + (11): P_eff = c12^4 + s12^4 = 1 - sin^2(2 theta12)/2. Rows sum to one.
    """
    _check_osc(osc)
    pe1 = jnp.asarray(pe1, dtype=jnp.float64)
    s12sq, s13sq, s23sq = (jnp.asarray(v) for v in (osc.s12sq, osc.s13sq, osc.s23sq))
    p2 = pe1 * (1.0 - s12sq) + (1.0 - pe1) * s12sq
    p_ee = (1.0 - s13sq) ** 2 * p2 + s13sq**2
    return jnp.stack([p_ee, (1.0 - p_ee) * (1.0 - s23sq), (1.0 - p_ee) * s23sq], axis=-1)


def mass_composition(pe1, osc=PAPER004_OSCILLATION):
    """(P_e1, P_e2, P_e3) = (c13^2 pe1, c13^2 (1 - pe1), s13^2) (paper 000 Eq. 39)."""
    _check_osc(osc)
    return moments.solar_mass_probabilities(jnp.asarray(pe1, dtype=jnp.float64), osc)


# --------------------------------------------------------------------------------------
# radial profiles of the standard solar models and adiabatic MSW
# --------------------------------------------------------------------------------------

#: Radial model tables (``data/solar/``): file and 0-based column of each production fraction
#: (column 2 is log10 n_e [N_A cm^-3]). BS05(OP): Bahcall, Serenelli, Basu 2005
#: (``bs2005opflux.dat``); B16: Vinyoles et al. 2017 (``nudistr_b16_*.dat``).
_PROFILE_FILES = {
    "BS05OP": ("bs05op_model.txt", 13, {"pp": 5, "b8": 6, "n13": 7, "o15": 8, "f17": 9,
                                        "be7": 10, "pep": 11, "hep": 12}),
    "B16-GS98": ("b16_gs98_model.txt", 12, {"pp": 4, "pep": 5, "hep": 6, "be7": 7, "b8": 8,
                                            "n13": 9, "o15": 10, "f17": 11}),
    "B16-AGSS09met": ("b16_agss09met_model.txt", 12, {"pp": 4, "pep": 5, "hep": 6, "be7": 7,
                                                      "b8": 8, "n13": 9, "o15": 10, "f17": 11}),
}
RADIAL_PROFILE_MODELS = tuple(_PROFILE_FILES)


def _profile_key(solar_model) -> str:
    for key in _PROFILE_FILES:
        if isinstance(solar_model, str) and solar_model.replace("(", "").replace(")", "").strip(
        ).casefold() == key.casefold():
            return key
    raise ValueError(f"no radial solar-model table for {solar_model!r}; the adiabatic P_ee "
                     f"needs one of {RADIAL_PROFILE_MODELS}")


@functools.lru_cache(maxsize=None)
def _profile_table(key: str) -> np.ndarray:
    name, n_columns, _ = _PROFILE_FILES[key]
    text = importlib.resources.files("cevns_jax").joinpath("data", "solar", name).read_text()
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if line.startswith("#") or len(fields) != n_columns:
            continue
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            continue
    table = np.asarray(rows, dtype=np.float64)
    table.setflags(write=False)
    return table


def radial_profile(solar_model: str, component: str):
    """(radius [R_sun], n_e [N_A cm^-3], normalised production weight) of one component.

    The weights are the tabulated production fractions (or densities on the uniform radial
    grid) normalised to sum to one. Both 7Be lines use the 7Be column.
    """
    key = _profile_key(solar_model)
    column = _PROFILE_FILES[key][2]
    name = "be7" if isinstance(component, str) and component.startswith("be7") else component
    if name not in column:
        raise ValueError(f"unknown solar component {component!r}; expected one of "
                         f"{datasets.SOLAR_COMPONENTS}")
    table = _profile_table(key)
    weight = table[:, column[name]]
    if not np.sum(weight) > 0:
        raise RuntimeError(f"empty production profile for {component!r} in {key}")
    return table[:, 0].copy(), 10.0 ** table[:, 2], weight / np.sum(weight)


def pe1_production_averaged(energy_mev, component: str, solar_model: str = "BS05OP",
                            osc=PAPER004_OSCILLATION):
    """P_e1^{2nu}(E) = sum_zones w_z cos^2 theta12^m(n_e(z), E): adiabatic 2nu MSW
    (:func:`cevns_jax.moments.pe1_2nu_adiabatic`; paper 000 Eq. 39 uses this P_e1) averaged over
    the production region of ``component`` in ``solar_model``. Shape of ``energy_mev``."""
    _check_osc(osc)
    _, n_e, weight = radial_profile(solar_model, component)
    energy = jnp.asarray(energy_mev, dtype=jnp.float64)
    values = moments.pe1_2nu_adiabatic(energy[..., None], jnp.asarray(n_e), osc)
    return jnp.sum(values * jnp.asarray(weight), axis=-1)


def survival_probability(energy_mev, component: str = "b8", pee_model: str = "constant",
                         solar_model: str = "BS05OP", osc=PAPER004_OSCILLATION):
    """P_ee(E) of a component: the constant 004 Eqs. (8)+(11) or the production-averaged
    adiabatic LMA-MSW value (see the module docstring)."""
    energy = jnp.asarray(energy_mev, dtype=jnp.float64)
    if pee_model == "constant":
        pe1 = jnp.full(energy.shape, 1.0 - osc.s12sq)
    elif pee_model == "adiabatic":
        pe1 = pe1_production_averaged(energy, component, solar_model, osc)
    else:
        raise ValueError(f"unknown pee_model {pee_model!r}; expected one of {PEE_MODELS}")
    return flavour_composition(pe1, osc)[..., 0]


# --------------------------------------------------------------------------------------
# the solar channel
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class SolarChannel:
    """A solar experiment whose beams carry their flavour composition.

    ``experiment``: the built experiment (beams possibly split, see the module docstring);
    ``components[b]``: the solar component of beam b; ``pe1[b]``: its P_e1^{2nu};
    ``pee_model``, ``osc``, ``solar_model``: how ``pe1`` was obtained; ``parent``: the
    unsplit experiment (one beam per component).
    """

    experiment: object
    components: tuple
    pe1: np.ndarray
    pee_model: str
    osc: moments.OscillationParameters
    solar_model: str
    parent: object = None

    @property
    def n_beams(self) -> int:
        return len(self.components)

    @property
    def composition(self):
        """(n_beams, 3) flavour probabilities (P_ee, P_emu, P_etau) per beam."""
        return flavour_composition(jnp.asarray(self.pe1), self.osc)

    @property
    def component_names(self) -> tuple:
        """Distinct components in beam order."""
        return tuple(dict.fromkeys(self.components))


def _split_beam(beam: Beam, pe1_of_energy):
    """Two beams whose spectra are f P(E) and f (1 - P(E)), with P = ``pe1_of_energy``."""
    if len(beam.parts) != 1:
        raise ValueError(f"solar beam {beam.name!r} has {len(beam.parts)} parts; expected 1")
    part = beam.parts[0]
    if isinstance(part, LineSpectrum):
        p = float(pe1_of_energy(np.asarray(part.energy)))
        return (Beam(beam.name, beam.flavour, (part,), beam.fluence * p),
                Beam(beam.name, beam.flavour, (part,), beam.fluence * (1.0 - p)))
    if isinstance(part, TabulatedSpectrum):
        energies = np.asarray(part.energies)
        values = np.asarray(part.values)
        p = np.clip(np.asarray(pe1_of_energy(energies)), 0.0, 1.0)
        return (Beam(beam.name, beam.flavour, (TabulatedSpectrum(energies, values * p),),
                     beam.fluence),
                Beam(beam.name, beam.flavour, (TabulatedSpectrum(energies, values * (1.0 - p)),),
                     beam.fluence))
    raise TypeError(f"cannot reweight a {type(part).__name__} of beam {beam.name!r}")


def solar_channel(experiment, pee_model: str = "constant", osc=PAPER004_OSCILLATION,
                  solar_model: str | None = None) -> SolarChannel:
    """Attach the flavour composition to a built solar experiment (or a solar config dict).

    ``pee_model="constant"`` keeps the beams and sets P_e1^{2nu} = c12^2 for all (004 Eqs.
    8-11); ``"adiabatic"`` splits each component by the production-averaged adiabatic
    P_e1^{2nu}(E) of ``solar_model`` (default: the experiment's flux model) into beams with
    P_e1 = 1 and P_e1 = 0 (exact, since every probability used is linear in P_e1).
    """
    require_x64()
    _check_osc(osc)
    if isinstance(experiment, dict):
        experiment = build_solar_experiment(experiment)
    if pee_model not in PEE_MODELS:
        raise ValueError(f"unknown pee_model {pee_model!r}; expected one of {PEE_MODELS}")
    flavours = {beam.flavour for beam in experiment.beams}
    if flavours != {"nue_solar"}:
        raise ValueError(f"solar_channel needs solar beams (flavour 'nue_solar'), got {flavours}")
    model = solar_model or experiment.config.get("source", {}).get("model", "BS05OP")
    names = tuple(beam.name for beam in experiment.beams)
    if pee_model == "constant":
        pe1 = np.full(len(names), 1.0 - float(osc.s12sq))
        return SolarChannel(experiment, names, pe1, pee_model, osc, model, experiment)
    beams, components, pe1 = [], [], []
    for beam in experiment.beams:
        fn = functools.partial(_pe1_numpy, component=beam.name, solar_model=model, osc=osc)
        for b, p in zip(_split_beam(beam, fn), (1.0, 0.0)):
            beams.append(b)
            components.append(beam.name)
            pe1.append(p)
    split = dataclasses.replace(experiment, beams=tuple(beams))
    return SolarChannel(split, tuple(components), np.asarray(pe1), pee_model, osc, model,
                        experiment)


def merge_to_constant(channel: SolarChannel):
    """(constant channel, M): the ``"constant"`` channel over ``channel.parent`` and the
    (n_components, n_beams) matrix M that sums beam arrays (axis 0) into its beams.

    Exact for counts and rates, which are linear in the spectrum: the split spectra
    f P + f (1 - P) add up to f knot by knot. One adiabatic template computation thus gives
    both P_ee models.
    """
    constant = solar_channel(channel.parent, "constant", channel.osc, channel.solar_model)
    if constant.components != channel.component_names:
        raise RuntimeError(f"component order differs: {constant.components} vs "
                           f"{channel.component_names}")
    return constant, component_matrix(channel)


def beam_labels(channel: SolarChannel) -> tuple:
    """The beam labels the moment models of :mod:`cevns_jax.likelihood.physics_model` read.

    ``"constant"`` channels: ``"nue_solar"`` for every beam (paper 004 Eqs. 8-11, with the
    model's oscillation parameters). ``"adiabatic"`` channels: a
    :class:`~cevns_jax.likelihood.physics_model.MassStateBeam` per split beam with the
    mass-state fractions (c13^2 P_e1, c13^2 (1 - P_e1), s13^2) of paper 000 Eq. (39), named
    ``<component>_nu1`` (P_e1 = 1) or ``<component>_nu2`` (P_e1 = 0), as the solar electron
    beams of :mod:`cevns_jax.electron_rates`.
    """
    if channel.pee_model == "constant":
        return ("nue_solar",) * channel.n_beams
    masses = np.asarray(mass_composition(np.asarray(channel.pe1), channel.osc))
    return tuple(MassStateBeam(f"{c}_{'nu1' if p == 1.0 else 'nu2'}", *map(float, m))
                 for c, p, m in zip(channel.components, channel.pe1, masses))


def _pe1_numpy(energy, component, solar_model, osc):
    return np.asarray(pe1_production_averaged(np.asarray(energy, dtype=np.float64), component,
                                              solar_model, osc))


def component_matrix(channel: SolarChannel):
    """(n_components, n_beams) 0/1 matrix summing beams into components (in
    :attr:`SolarChannel.component_names` order)."""
    names = channel.component_names
    return jnp.asarray(np.array([[c == name for c in channel.components] for name in names],
                                dtype=np.float64))


# --------------------------------------------------------------------------------------
# effective moments per beam
# --------------------------------------------------------------------------------------


def _moment_vector(mu, what):
    mu = jnp.asarray(mu, dtype=jnp.float64)
    if mu.shape[-1:] != (3,):
        raise ValueError(f"{what} must have 3 entries (last axis), got shape {mu.shape}")
    return mu


def mu2_flavour(channel: SolarChannel, mu_flavour):
    """mu_b^2 = sum_alpha P_{e alpha, b} mu_alpha^2 for flavour moments (mu_e, mu_mu, mu_tau)
    [1e-10 mu_B] (paper 004 Eqs. 6-11). Shape (..., n_beams)."""
    mu = _moment_vector(mu_flavour, "mu_flavour (mu_e, mu_mu, mu_tau)")
    return (mu**2) @ channel.composition.T


def mu2_tmm(channel: SolarChannel, moduli):
    """mu_b^2 of Majorana transition moments |Lambda_1..3| [1e-10 mu_B] from paper 000
    Eq. (38) with each beam's P_e1^{2nu} (phase independent). Shape (..., n_beams)."""
    lam = _moment_vector(moduli, "moduli (|Lambda_1|, |Lambda_2|, |Lambda_3|)")
    pe1 = jnp.asarray(channel.pe1)
    return moments.mu_eff_squared_solar(lam[..., None, :], pe1, channel.osc)


def solar_counts(templates, mu2):
    """Expected events per bin N = sum_b (S_b + mu_b^2 E_b) (paper 004 Eq. 7 summed over the
    beams; :func:`cevns_jax.likelihood.expected_counts`)."""
    return expected_counts(templates.sm, templates.em, mu2)


# --------------------------------------------------------------------------------------
# spectra of 004 Figure 2
# --------------------------------------------------------------------------------------


class SolarSpectra(NamedTuple):
    """Differential rates per component in events / (kg keV day).

    ``energy_kev`` on ``scale`` (``"nr"``: keVnr, 004 Eq. 12; ``"ee"``: keVee, 004 Eq. 17);
    ``sm[c, i]``; ``em[c, alpha, i]`` is the magnetic-moment rate of component c for
    mu_alpha = 1e-10 mu_B alone (so the total is ``sm + sum_alpha mu_alpha^2 em[:, alpha]``).
    """

    energy_kev: np.ndarray
    scale: str
    material: str
    components: tuple
    sm: np.ndarray
    em: np.ndarray
    unit: str


def spectra_channel(material: str, *, components=None, solar_model: str = "BS05OP",
                    kappa: float | None = None, pee_model: str = "constant",
                    osc=PAPER004_OSCILLATION, cross_section: str = "paper004",
                    form_factor: str = "helm", b8_spectrum: str = "winter2006") -> SolarChannel:
    """The 1 kg x 1 day solar channel (no efficiency, threshold 1 eVnr) behind :func:`spectra`."""
    config = solar_config(material, "0.001 keVnr", model=solar_model, components=components,
                          kappa=kappa, cross_section=cross_section, form_factor=form_factor,
                          b8_spectrum=b8_spectrum, name=f"{material} spectra")
    return solar_channel(build_experiment(config), pee_model, osc, solar_model)


def channel_spectra(channel: SolarChannel, energy_mev, scale: str = "nr",
                    quad: QuadratureConfig = QuadratureConfig()):
    """(sm, em) per component [events / (kg keV day)] of a 1 kg x 1 day channel at
    ``energy_mev`` on ``scale``: sm (n_components, n_E); em (n_components, 3, n_E), the rate for
    mu_alpha = 1e-10 mu_B alone. 004 Eq. 12 (``"nr"``) or Eq. 17 (``"ee"``). Pure; jit it."""
    if scale not in ("nr", "ee"):
        raise ValueError(f"scale must be 'nr' or 'ee', got {scale!r}")
    e_mev = jnp.asarray(energy_mev, dtype=jnp.float64)
    if scale == "nr":
        rates = differential_rate(channel.experiment, e_mev, None, quad, with_efficiency=False)
    else:
        rates = differential_rate_ee(channel.experiment, e_mev, None, quad)
    to_component = component_matrix(channel)
    per_kev = 1e-3  # rates are per MeV
    sm = to_component @ rates.sm * per_kev
    em = jnp.einsum("cb,ba,bi->cai", to_component, channel.composition, rates.em) * per_kev
    return sm, em


def spectra(material: str, energy_kev, *, scale: str = "nr", components=None,
            solar_model: str = "BS05OP", kappa: float | None = None,
            pee_model: str = "constant", osc=PAPER004_OSCILLATION,
            cross_section: str = "paper004", form_factor: str = "helm",
            b8_spectrum: str = "winter2006",
            quad: QuadratureConfig = QuadratureConfig()) -> SolarSpectra:
    """SM and per-flavour unit-moment spectra per solar component (004 Figure 2).

    dR/dT_nr = N_T int dPhi/dE dsigma/dT dE (004 Eq. 12) for 1 kg over 1 day, per keVnr; on the
    ``"ee"`` scale dR/dT_ee = dR/dT_nr / (Q + T dQ/dT) (004 Eq. 17) per keVee, with Lindhard
    ``kappa`` (None: 0.133 Z^(2/3) A^(-1/2) per isotope). No efficiency. Components default to
    all nine. Eager (a convenience wrapper): drivers jit :func:`channel_spectra` instead.
    """
    require_x64()
    if scale not in ("nr", "ee"):
        raise ValueError(f"scale must be 'nr' or 'ee', got {scale!r}")
    energy = np.asarray(energy_kev, dtype=np.float64)
    if energy.ndim != 1 or energy.size < 1 or not np.all(energy > 0):
        raise ValueError(f"energy_kev must be a 1-D array of positive energies, got {energy!r}")
    channel = spectra_channel(material, components=components, solar_model=solar_model,
                              kappa=kappa, pee_model=pee_model, osc=osc,
                              cross_section=cross_section, form_factor=form_factor,
                              b8_spectrum=b8_spectrum)
    sm, em = channel_spectra(channel, energy * 1e-3, scale, quad)
    return SolarSpectra(energy, scale, material, channel.component_names, np.asarray(sm),
                        np.asarray(em), f"events / (kg keV{scale} day)")


def spectra_rate(sp: SolarSpectra, mu_flavour=(0.0, 0.0, 0.0), components=None):
    """Total rate sm + sum_alpha mu_alpha^2 em_alpha [events / (kg keV day)] summed over
    ``components`` (default all) for moments ``mu_flavour`` [1e-10 mu_B] (004 Eq. 7).
    Equal moments mu_e = mu_mu = mu_tau = mu give sm + mu^2 em_total, since each composition
    sums to one."""
    mu = np.asarray(mu_flavour, dtype=np.float64)
    if mu.shape != (3,):
        raise ValueError(f"mu_flavour must have 3 entries (mu_e, mu_mu, mu_tau), got {mu!r}")
    names = sp.components if components is None else tuple(components)
    unknown = [c for c in names if c not in sp.components]
    if unknown:
        raise ValueError(f"components {unknown} not in the spectra ({sp.components})")
    idx = [sp.components.index(c) for c in names]
    return (sp.sm[idx].sum(0) + np.einsum("a,cai->i", mu**2, sp.em[idx]))
