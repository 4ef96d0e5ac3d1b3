"""Electron-recoil rates of neutrino-electron elastic scattering on atoms.

    dN/dT = N_atoms Z_eff(T) sum_b Phi_b int_{E_min(T)} f_b(E) [P_e,b dsigma_e/dT
            + (1 - P_e,b) dsigma_mu/dT + mu_b^2 dsigma_EM/dT] dE,

with the per-electron cross sections and Z_eff(T) of :mod:`cevns_jax.physics.electron`. The
E integral is the tail-moment contraction of :mod:`cevns_jax.spectra` (exact for lines and
tables), the T integral Gauss-Legendre in log T (:func:`cevns_jax.quadrature.log_nodes`) on
fixed pieces split at the shell binding energies ("stepping"), at T_max of every table knot
and at each part's end point T_max(E_max): the integrand is smooth on every piece, and the
piece ends depend on no parameter, so gradients stay finite.

Each :class:`ElectronBeam` carries its electron-flavour fraction P_e at the detector (SM rate
= P_e sigma_nue + (1 - P_e) sigma_numu; nu_mu and nu_tau scatter alike) and the label that the
moment models of :mod:`cevns_jax.likelihood.physics_model` read. Solar beams are split by the
adiabatic MSW P_e1^{2nu}(E) (:func:`cevns_jax.solar.pe1_production_averaged`) into a nu_1-like
part (P_e1 = 1) and a nu_2-like part (P_e1 = 0), each a :class:`MassStateBeam` with the
mass-state fractions of paper 000 Eq. 39, so every model applies (paper 000 Eq. 38).

SM and unit-moment (mu = 1e-10 mu_B) EM templates come per beam, as for CEvNS in
:mod:`cevns_jax.rates`. Parameters (dict, differentiable): ``sin2_theta_w``, ``flux_scale``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from . import constants as C
from .likelihood.physics_model import MassStateBeam
from .physics import electron as phys
from .precision import require_x64
from .quadrature import QuadratureConfig, linear_nodes, log_nodes
from .rates import Templates
from .moments import DEFAULT_OSCILLATION
from .solar import _split_beam, flavour_composition, mass_composition
from .solar import pe1_production_averaged
from .sources.reactor import reactor_beams
from .sources.solar import solar_beams
from .spectra import LineSpectrum
from .units import parse_positive

__all__ = ["CHANNELS", "SOLAR_COMPONENTS", "ElectronBeam", "ElectronSetup", "check_channel",
           "electron_setup", "electron_target",
           "atoms_per_tonne", "solar_electron_beams", "reactor_electron_beams",
           "differential_rate", "binned_templates", "smeared_templates"]

CHANNELS = ("nuclear", "electron")
#: solar components of the electron channel (hep is below 1e-3 of 8B and left out)
SOLAR_COMPONENTS = ("pp", "be7_384", "be7_862", "pep", "n13", "o15", "f17", "b8")
DEFAULT_PARAMS = {"sin2_theta_w": C.SIN2_THETA_W_PAPER004, "flux_scale": 1.0}

#: standard atomic weights [g/mol] (IUPAC 2021 abridged values)
MOLAR_MASS = {"Xe": 131.293, "I": 126.904, "Cs": 132.905, "Ge": 72.630, "Ar": 39.948,
              "Si": 28.085, "Na": 22.990}


class ChannelError(ValueError):
    """An unknown detection channel."""


class ThresholdError(ValueError):
    """A threshold the chosen binding model cannot describe."""


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ChannelError(f"unknown channel {channel!r}; expected one of {CHANNELS}")
    return channel


@dataclasses.dataclass(frozen=True)
class ElectronBeam:
    """``parts`` (spectra, per unit fluence) x ``fluence`` [cm^-2]; ``p_e``: electron-flavour
    fraction at the detector; ``antineutrino``; ``label``: what the moment models read."""

    name: str
    label: object
    parts: tuple
    fluence: float
    p_e: float
    antineutrino: bool = False


def electron_target(element: str, binding: str = "stepping", *, threshold_kev=None,
                    correction=None) -> phys.BindingModel:
    """The binding model of ``element``; with "stepping", a ``threshold_kev`` below the lowest
    binding energy (no electron would count) raises :class:`ThresholdError`."""
    model = phys.BindingModel(element, binding, correction)
    if threshold_kev is not None:
        if not threshold_kev > 0:
            raise ThresholdError(f"threshold must be > 0 keV, got {threshold_kev!r}")
        if binding == "stepping" and threshold_kev * 1e-3 <= model.lowest_binding_mev:
            raise ThresholdError(
                f"threshold {threshold_kev} keV is below the lowest binding energy of "
                f"{element} ({model.lowest_binding_mev * 1e6:.4g} eV): the stepping model has "
                "no electron to count there; use 'free' or 'tabulated'")
    return model


def atoms_per_tonne(element: str) -> float:
    if element not in MOLAR_MASS:
        raise KeyError(f"no atomic weight for element {element!r}; known: {sorted(MOLAR_MASS)}")
    return 1e6 / MOLAR_MASS[element] * C.AVOGADRO


def solar_electron_beams(time_s: float, *, model: str = "B16-GS98",
                         components=SOLAR_COMPONENTS, pee_model: str = "adiabatic",
                         osc=DEFAULT_OSCILLATION, b8_spectrum: str = "winter2006") -> tuple:
    """Solar beams with fluence = flux x ``time_s``. ``pee_model="adiabatic"``: each component
    split by its production-averaged adiabatic P_e1^{2nu}(E) into P_e1 = 1 and 0 beams;
    ``"constant"``: one beam per component with P_e1 = c12^2 (paper 004 Eqs. 8-11)."""
    if pee_model not in ("adiabatic", "constant"):
        raise ValueError(f"unknown pee_model {pee_model!r}; expected 'adiabatic' or 'constant'")
    parts = []
    for beam in solar_beams(time_s, model, components, b8_spectrum):
        if pee_model == "constant":
            parts.append((beam.name, beam, 1.0 - float(osc.s12sq)))
            continue
        fn = functools.partial(_pe1, component=beam.name, model=model, osc=osc)
        for tag, b, pe1 in zip(("nu1", "nu2"), _split_beam(beam, fn), (1.0, 0.0)):
            parts.append((f"{beam.name}_{tag}", b, pe1))
    pe1 = np.array([p[2] for p in parts])
    masses = np.asarray(mass_composition(pe1, osc))
    p_e = np.asarray(flavour_composition(pe1, osc))[:, 0]
    return tuple(ElectronBeam(name, MassStateBeam(name, *map(float, masses[k])), b.parts,
                              b.fluence, float(p_e[k]))
                 for k, (name, b, _) in enumerate(parts))


def _pe1(energy, component, model, osc):
    """P_e1^{2nu} at ``energy``, evaluated on a zero-padded array of fixed length so that all
    components share one compiled computation."""
    energy = np.asarray(energy, dtype=np.float64)
    flat = energy.ravel()
    padded = np.concatenate([flat, np.full(max(_PAD - flat.size, 0), flat[-1])])
    values = np.asarray(pe1_production_averaged(padded, component, model, osc))
    return values[:flat.size].reshape(energy.shape)


_PAD = 1024


def reactor_electron_beams(thermal_power_w, baseline_cm, time_s, fission_fractions,
                           **kwargs) -> tuple:
    """The reactor anti-nu_e beam of :func:`cevns_jax.sources.reactor.reactor_beams`
    (short baseline: P_e = 1, label "nuebar")."""
    (beam,) = reactor_beams(thermal_power_w, baseline_cm, time_s, fission_fractions, **kwargs)
    return (ElectronBeam(beam.name, "nuebar", beam.parts, beam.fluence, 1.0, True),)


class ElectronSetup(NamedTuple):
    """What :func:`binned_templates` needs: binding model, beams, recoil edges, atoms."""

    target: phys.BindingModel
    beams: tuple
    edges_mev: np.ndarray
    n_atoms: float


def electron_setup(config: dict) -> ElectronSetup:
    """An electron-recoil experiment from a configuration dictionary::

        {"channel": "electron", "element": "Xe", "binding": "stepping",
         "bins": ["1 keV", "5 keV", "30 keV"], "mass": "1 t",
         "source": {"type": "solar", "time": "1 yr", "model": "B16-GS98",
                    "pee_model": "adiabatic"}}

    (``"correction": [[T_keV...], [factor...]]`` with ``"binding": "tabulated"``; reactor
    sources: ``{"type": "reactor", "time", "thermal_power", "baseline",
    "fission_fractions"}``). Unknown channels raise :class:`ChannelError`, a first bin edge
    below the lowest binding energy with "stepping" :class:`ThresholdError`."""
    channel = check_channel(config.get("channel", "nuclear"))
    if channel != "electron":
        raise ChannelError("electron_setup builds the 'electron' channel; nuclear recoils are "
                           "built by cevns_jax.experiments.build_experiment")
    edges = np.array([parse_positive(b, "bins", ("energy",)).value for b in config["bins"]])
    target = electron_target(config["element"], config.get("binding", "stepping"),
                             threshold_kev=edges[0] * 1e3, correction=config.get("correction"))
    mass_t = parse_positive(config["mass"], "mass", ("mass",)).value * 1e-3
    source = dict(config["source"])
    time_s = parse_positive(source.pop("time"), "source.time", ("time",)).value
    kind = source.pop("type")
    if kind == "solar":
        beams = solar_electron_beams(time_s, **source)
    elif kind == "reactor":
        beams = reactor_electron_beams(
            parse_positive(source["thermal_power"], "thermal_power", ("power",)).value,
            parse_positive(source["baseline"], "baseline", ("length",)).value, time_s,
            source["fission_fractions"])
    else:
        raise ValueError(f"unknown electron-channel source type {kind!r}; expected 'solar' "
                         "or 'reactor'")
    return ElectronSetup(target, beams, edges, mass_t * atoms_per_tonne(config["element"]))


# ---------------------------------------------------------------------------------------------
# integrands and nodes
# ---------------------------------------------------------------------------------------------
def _params(params):
    unknown = set(params or {}) - set(DEFAULT_PARAMS)
    if unknown:
        raise KeyError(f"unknown parameter(s) {sorted(unknown)}; known: {sorted(DEFAULT_PARAMS)}")
    merged = dict(DEFAULT_PARAMS)
    merged.update(params or {})
    return merged


def _beam_integrand(beam: ElectronBeam, part, recoil, params, quad):
    """(SM, EM) of int f dsigma/dT dE per electron for one spectrum part at recoil T."""
    moments = part.tail_moments(phys.e_nu_min(recoil), quad.n_energy)
    e_label, mu_label = ("nuebar", "numubar") if beam.antineutrino else ("nue", "numu")
    s2w = params["sin2_theta_w"]
    sm = [beam.p_e * a + (1.0 - beam.p_e) * b
          for a, b in zip(phys.sm_coefficients(recoil, e_label, s2w),
                          phys.sm_coefficients(recoil, mu_label, s2w))]
    em = phys.em_coefficients(recoil)
    return (sum(c * m for c, m in zip(sm, moments)), sum(c * m for c, m in zip(em, moments)))


def _part_breakpoints(part) -> np.ndarray:
    """Recoils where a part's integrand has kinks (table knots) or ends (its T_max)."""
    knots = np.append(np.asarray(part.knots, dtype=float), float(part.e_max))
    return np.asarray(phys.recoil_max(knots))


def _nodes(edges, breakpoints, n: int):
    """Log-T nodes (n_bins, n_nodes) and weights on each bin split at ``breakpoints``."""
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] <= 0:
        raise ValueError(f"recoil edges must be positive and strictly increasing, got {edges}")
    bp = np.asarray(sorted(breakpoints), dtype=float)
    bp = bp[(bp > edges[0]) & (bp < edges[-1])]
    lo, hi = edges[:-1, None], edges[1:, None]
    points = np.concatenate([lo, np.clip(bp[None, :], lo, hi), hi], axis=1)
    t, w = log_nodes(jnp.asarray(points[:, :-1]), jnp.asarray(points[:, 1:]), n)
    return t.reshape(t.shape[0], -1), w.reshape(w.shape[0], -1)


def _per_node(binding, beams, edges, n_atoms, params, quad):
    """(SM, EM) per beam on the nodes of ``edges`` (n_beams, n_bins, n_nodes), nodes, weights."""
    params = _params(params)
    sm_beams, em_beams = [], []
    for beam in beams:
        sm_total = em_total = 0.0
        for part in beam.parts:
            breaks = np.concatenate([binding.breakpoints_mev, _part_breakpoints(part)])
            n = quad.n_piece if not isinstance(part, LineSpectrum) else quad.n_recoil
            recoil, weight = _nodes(edges, breaks, n)
            sm, em = _beam_integrand(beam, part, recoil, params, quad)
            scale = weight * binding.electrons(recoil) * beam.fluence
            sm_total = sm_total + (scale * sm).sum(-1)
            em_total = em_total + (scale * em).sum(-1)
        sm_beams.append(sm_total)
        em_beams.append(em_total)
    norm = n_atoms * params["flux_scale"]
    return Templates(norm * jnp.stack(sm_beams), norm * jnp.stack(em_beams))


def binned_templates(binding, beams, edges_mev, n_atoms: float, params=None,
                     quad: QuadratureConfig = QuadratureConfig()) -> Templates:
    """SM and unit-moment EM events per beam in true-recoil bins ``edges_mev`` for ``n_atoms``
    atoms (shape (n_beams, n_bins)). Pure; jit at the call site."""
    require_x64()
    return _per_node(binding, beams, edges_mev, n_atoms, params, quad)


def differential_rate(binding, beams, recoil_mev, n_atoms: float, params=None,
                      quad: QuadratureConfig = QuadratureConfig()) -> Templates:
    """dN/dT [events/MeV] per beam at ``recoil_mev`` (shape (n_beams, n_T))."""
    require_x64()
    params = _params(params)
    recoil = jnp.asarray(recoil_mev, dtype=jnp.float64)
    sm_beams, em_beams = [], []
    for beam in beams:
        pieces = [_beam_integrand(beam, part, recoil, params, quad) for part in beam.parts]
        sm_beams.append(beam.fluence * sum(p[0] for p in pieces))
        em_beams.append(beam.fluence * sum(p[1] for p in pieces))
    norm = n_atoms * params["flux_scale"] * binding.electrons(recoil)
    return Templates(norm * jnp.stack(sm_beams), norm * jnp.stack(em_beams))


def smeared_templates(binding, beams, true_range_mev, edges_mev, n_atoms: float, sigma_fn,
                      efficiency_fn, params=None, quad: QuadratureConfig = QuadratureConfig(),
                      n_bin: int = 8, breakpoints_mev=()) -> Templates:
    """Events per beam in reconstructed-energy bins ``edges_mev``:

        N_bin = int dT dN/dT(T) int_bin eps(E) G(E; T, sigma(T)) dE,

    T over ``true_range_mev`` (lo, hi) on the split log-T nodes, E on ``n_bin`` Gauss-Legendre
    nodes per bin; ``sigma_fn(T)`` the Gaussian width [MeV], ``efficiency_fn(E)`` the
    efficiency at reconstructed energy E (both jnp functions). ``breakpoints_mev``: further
    fixed recoils where the T grid is split; the T nodes must resolve the Gaussian, so pieces
    wider than a few sigma need them (e.g. a grid of spacing ~ sigma)."""
    require_x64()
    per_true = _per_node_flat(binding, beams, true_range_mev, n_atoms, params, quad,
                              breakpoints_mev)
    recoil, sm, em = per_true
    edges = jnp.asarray(edges_mev, dtype=jnp.float64)
    e_rec, w_rec = linear_nodes(edges[:-1], edges[1:], n_bin)          # (n_bins, n_bin)
    sigma = sigma_fn(recoil)                                           # (n_T,)
    z = (e_rec[..., None] - recoil) / sigma
    density = jnp.exp(-0.5 * z**2) / (jnp.sqrt(2.0 * jnp.pi) * sigma)
    response = jnp.sum((w_rec * efficiency_fn(e_rec))[..., None] * density, axis=1)
    return Templates(sm @ response.T, em @ response.T)


def _per_node_flat(binding, beams, true_range_mev, n_atoms, params, quad, extra=()):
    """Nodes T (n_T,) on (lo, hi) and the weighted SM, EM per beam on them (n_beams, n_T),
    nodes shared by all parts (union of their breakpoints and ``extra``)."""
    params = _params(params)
    breaks = list(binding.breakpoints_mev) + [float(b) for b in np.ravel(extra)]
    for beam in beams:
        for part in beam.parts:
            breaks.extend(_part_breakpoints(part))
    recoil, weight = _nodes(np.asarray(true_range_mev, dtype=float), breaks, quad.n_piece)
    recoil, weight = recoil[0], weight[0]
    norm = n_atoms * params["flux_scale"] * weight * binding.electrons(recoil)
    sm_beams, em_beams = [], []
    for beam in beams:
        pieces = [_beam_integrand(beam, part, recoil, params, quad) for part in beam.parts]
        sm_beams.append(norm * beam.fluence * sum(p[0] for p in pieces))
        em_beams.append(norm * beam.fluence * sum(p[1] for p in pieces))
    return recoil, jnp.stack(sm_beams), jnp.stack(em_beams)

