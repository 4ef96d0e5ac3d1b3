"""XENONnT solar-8B CEvNS data release: expected counts and the counting likelihood of the
three science runs as a measurement.

Data: ``XENONnT/cevns_data_release`` @ 60d230dd (Zenodo 10.5281/zenodo.20576156, CC-BY-4.0),
loaded by :mod:`cevns_jax.datasets` (``xenonnt_*``): observed events per science run (SR0 9,
SR1 28, SR2 25), exposures (1.1744, 2.3426, 3.2497 t yr), the total nuclear-recoil detection
efficiency versus true recoil energy (0.5-5.0 keVnr; the sum over all analysis bins of the
mono-energetic NR templates, so it already contains every selection and the analysis-region
acceptance) on a 7 x 7 grid of light-yield (tly) and charge-yield (tqy) nuisances, and the
background templates (accidental coincidences, ER, radiogenic neutrons).

Expected 8B signal
------------------
A Xe solar experiment (1 t, 1 yr, component ``b8`` (optionally ``hep``), B16-GS98 fluxes by
default, the paper-004 cross section Eqs. (2)-(3) with the Helm form factor) with
``efficiency: tabulated`` = the release efficiency (piecewise linear in T_nr, zero outside
0.5-5 keVnr); SM and unit-moment EM counts per t yr from :func:`cevns_jax.rates.binned_templates`
times the run exposure. Flavour composition from :mod:`cevns_jax.solar`.

Reference numbers (:data:`PUBLISHED`): PRL 133, 191002 (2024) (arXiv:2408.02877), SR0+SR1, 3.51 t
yr: 37 events observed, background 26.4 (+1.4 -1.3), measured 8B flux 4.7 (+3.6 -2.3) x 1e6
cm^-2 s^-1 (abstract); expected 8B signal 11.9 (+4.5 -4.2) events (paper text, quoted from
memory of the publication: not re-checked against the text here). The abstract alone fixes the
collaboration's signal per unit flux: (37 - 26.4) / 4.7 = 2.26 events per 1e6 cm^-2 s^-1.

Counting likelihood (:func:`measurement`)
-----------------------------------------
Per run r: n_r observed, nu_r = b_r (1 + s_b)^t_b + (1 + s_f)^t_f sum_beams [S_rb R^S_rb(t_ly,
t_qy) + mu_b^2 E_rb R^E_rb(t_ly, t_qy)], with b_r the nominal background sum (AC + ER +
neutrons), s_b = 5 % (the 26.4 +1.4 -1.3 of the PRL), s_f the 8B flux uncertainty (B16-GS98:
12 %), and yield responses R = exp(a t + c t^2) fitted to the release grid at t = -1, 0, +1
(trapezoid integrals on the 0.1-keV efficiency grid). The four nuisances t (:data:`NUISANCES`)
are common to all runs and standard-normal. -2 ln L = sum_r Baker-Cousins deviance + sum t^2;
the :class:`~cevns_jax.likelihood.measurement.Measurement` is one Poisson channel whose bins
are the runs. Limits and regions are computed in :mod:`cevns_jax.results.xenonnt_8b`.

Flavour composition: by default the energy-dependent adiabatic LMA-MSW one
(:data:`cevns_jax.solar.MSW_PEE_MODEL`: 8B P_ee about 0.3), beams as
:class:`~cevns_jax.likelihood.physics_model.MassStateBeam`; paper 004's energy-independent
reading (P_ee = 0.54) is ``pee_model=solar.PAPER004_PEE_MODEL``. Flux model: ``model``
(default B16-GS98, whose 8B flux 5.46e6 cm^-2 s^-1 has the tabulated 12 % uncertainty).

The release also has the 4-D binned templates; the binned likelihood is not built here (the
counting likelihood discards the shape information, so it is conservative).
Magnetic moments in units of 1e-10 mu_B.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .. import datasets
from ..likelihood.measurement import Channel, Components, Measurement, Nuisance
from ..likelihood.physics_model import FlavourMoments
from ..precision import require_x64
from ..quadrature import QuadratureConfig
from ..rates import binned_templates, differential_rate
from ..solar import (MSW_PEE_MODEL, PAPER004_OSCILLATION, beam_labels, build_solar_experiment,
                     solar_channel, solar_config)
from ..solar import merge_to_constant as merge_to_constant_channel

__all__ = [
    "RUNS",
    "PUBLISHED",
    "BACKGROUND_UNCERTAINTY",
    "POISSON_90CL_ZERO_BACKGROUND",
    "xenonnt_config",
    "GridRates",
    "grid_rates",
    "RunTemplates",
    "run_channel",
    "run_templates",
    "merge_to_constant",
    "yield_responses",
    "expected_events",
    "CountingAnalysis",
    "setup_counting",
    "CountingRates",
    "measurement",
    "poisson_upper_limit",
    "NUISANCES",
]

RUNS = datasets.XENONNT_RUNS

#: XENONnT PRL 133, 191002 (2024), SR0+SR1 (see the module docstring for the sources).
PUBLISHED = {
    "exposure_t_y": 3.51,
    "observed": 37,
    "background": 26.4, "background_err": (1.4, -1.3),
    "expected_8b": 11.9, "expected_8b_err": (4.5, -4.2),
    "flux_measured": 4.7e6, "flux_measured_err": (3.6e6, -2.3e6),
    "significance_sigma": 2.73,
    "reference": "XENONnT, PRL 133, 191002 (2024), arXiv:2408.02877",
}
#: Fractional uncertainty of the total background (PRL 133, 191002: 26.4 +1.4 -1.3 events).
BACKGROUND_UNCERTAINTY = 0.05
#: Zero-background, zero-observed 90 % C.L. Poisson upper limit on a signal: -ln(0.1) events.
POISSON_90CL_ZERO_BACKGROUND = float(-np.log(0.1))


def xenonnt_config(run: str, *, model: str = "B16-GS98", components=("b8",),
                   b8_spectrum: str = "winter2006", cross_section: str = "paper004",
                   form_factor: str = "helm", tly: float = 0.0, tqy: float = 0.0) -> dict:
    """Xe solar configuration (1 t, 1 yr) with the release's NR efficiency of ``run`` at
    the yield nuisances (``tly``, ``tqy``) as a ``tabulated`` efficiency (keVnr)."""
    energies, eff = datasets.xenonnt_nr_efficiency(run, tly, tqy)
    efficiency = {"type": "tabulated", "energies": [f"{e!r} keVnr" for e in map(float, energies)],
                  "values": [float(v) for v in eff]}
    return solar_config("Xe", f"{float(energies[0])!r} keVnr", mass="1 t", time="1 yr",
                        model=model, components=components, b8_spectrum=b8_spectrum,
                        efficiency=efficiency, cross_section=cross_section,
                        form_factor=form_factor, name=f"XENONnT-{run}", setup=run)


_GRID_STEP_KEV = 0.1


@dataclasses.dataclass(frozen=True, eq=False)
class GridRates:
    """dR/dT_nr per beam of ``channel`` on the release's efficiency grid, for 1 t yr:
    ``energies_kev`` (0.5..5.0 keVnr), ``sm``, ``em`` (n_beams, n_E) [events / (t yr keVnr)]."""

    channel: object
    energies_kev: np.ndarray
    sm: np.ndarray
    em: np.ndarray


def grid_rates(channel, quad: QuadratureConfig = QuadratureConfig()) -> GridRates:
    """Differential 8B rates on the efficiency grid (no efficiency; jitted: a driver step).
    The same for every run, since only the efficiency differs between runs."""
    energies, _ = datasets.xenonnt_nr_efficiency(RUNS[0])
    rates = jax.jit(lambda t: differential_rate(channel.experiment, t, None, quad,
                                                with_efficiency=False))(
        jnp.asarray(energies * 1e-3))
    # the experiment is 1 t x 1 yr; rates per MeV -> per keV
    return GridRates(channel, energies, np.asarray(rates.sm) * 1e-3, np.asarray(rates.em) * 1e-3)


def _grid_counts(grid: GridRates, run: str, exposure: float, tly=0.0, tqy=0.0):
    """Trapezoid counts (sm, em) per beam with the efficiency at (tly, tqy): the release method
    (sum over the mono-energetic templates)."""
    energies, eff = datasets.xenonnt_nr_efficiency(run, tly, tqy)
    if not np.allclose(energies, grid.energies_kev):
        raise RuntimeError(f"efficiency grid of {run} differs from the rate grid")
    return (exposure * np.trapezoid(grid.sm * eff, energies, axis=-1),
            exposure * np.trapezoid(grid.em * eff, energies, axis=-1))


@dataclasses.dataclass(frozen=True, eq=False)
class RunTemplates:
    """Expected counts of one science run per beam of ``channel`` (summed over recoil energy).

    ``sm``, ``em`` (n_beams,): SM and unit-moment (1e-10 mu_B) EM events at nominal yields;
    ``grid``: the :class:`GridRates` (for the yield responses and the release-method
    cross-check); ``method``: how ``sm``/``em`` were computed; ``background``: nominal
    AC/ER/neutron events; ``observed``: events in the release.
    """

    run: str
    exposure_t_y: float
    channel: object
    sm: jnp.ndarray
    em: jnp.ndarray
    grid: GridRates
    method: str
    background: dict
    observed: int

    @property
    def background_total(self) -> float:
        return float(sum(self.background.values()))

    def grid_counts(self, tly=0.0, tqy=0.0):
        """(sm, em) per beam by the release method at yields (tly, tqy)."""
        return _grid_counts(self.grid, self.run, self.exposure_t_y, tly, tqy)


def yield_responses(templates: RunTemplates):
    """(yield_sm, yield_em), each (2, 2, n_beams): ln N(t)/N(0) = a t + c t^2 for the light
    (index 0) and charge (index 1) yield nuisances, a = (L(+1) - L(-1)) / 2,
    c = (L(+1) + L(-1)) / 2, L(t) = ln N(t)/N(0) by the release method. The response is nearly
    log-linear (SR1 light yield: L = -0.56, -0.25, 0, 0.23, 0.41 at t = -2..2), and the
    exponential form keeps the signal positive for any t."""
    nominal = templates.grid_counts()
    out = ([], [])
    for plus, minus in (((1.0, 0.0), (-1.0, 0.0)), ((0.0, 1.0), (0.0, -1.0))):
        for k, (up, down, mid) in enumerate(zip(templates.grid_counts(*plus),
                                                templates.grid_counts(*minus), nominal)):
            with np.errstate(divide="ignore", invalid="ignore"):
                lp = np.where(mid > 0, np.log(up / mid), 0.0)
                lm = np.where(mid > 0, np.log(down / mid), 0.0)
            out[k].append(np.stack([0.5 * (lp - lm), 0.5 * (lp + lm)]))
    return jnp.asarray(np.stack(out[0])), jnp.asarray(np.stack(out[1]))


def run_channel(run: str, *, model: str = "B16-GS98", pee_model: str = MSW_PEE_MODEL,
                osc=PAPER004_OSCILLATION, components=("b8",), cross_section: str = "paper004",
                b8_spectrum: str = "winter2006"):
    """The solar channel of one run (Xe, 1 t x 1 yr, tabulated release efficiency)."""
    config = xenonnt_config(run, model=model, components=components, b8_spectrum=b8_spectrum,
                            cross_section=cross_section)
    return solar_channel(build_solar_experiment(config), pee_model, osc, model)


def run_templates(run: str, *, model: str = "B16-GS98", pee_model: str = MSW_PEE_MODEL,
                  osc=PAPER004_OSCILLATION, components=("b8",),
                  cross_section: str = "paper004", b8_spectrum: str = "winter2006",
                  quad: QuadratureConfig = QuadratureConfig(), method: str = "tabulated",
                  grid: GridRates | None = None) -> RunTemplates:
    """Expected 8B counts of one run per beam.

    ``method="tabulated"`` (default): :func:`cevns_jax.rates.binned_templates` of the Xe solar
    experiment with the release efficiency as a ``tabulated`` efficiency (exact integral of the
    piecewise-linear efficiency; jitted here, an analysis driver step). ``"grid"``: trapezoid
    on the release's 0.1-keV grid (the release method; one compilation for all runs when
    ``grid`` is shared). ``grid`` (:func:`grid_rates` of a channel with the same beams) is
    computed when not given.
    """
    require_x64()
    run = str(run).lower()
    if run not in RUNS:
        raise ValueError(f"unknown XENONnT science run {run!r}; expected one of {RUNS}")
    if method not in ("tabulated", "grid"):
        raise ValueError(f"unknown method {method!r}; expected 'tabulated' or 'grid'")
    exposure = datasets.xenonnt_exposures()[run]
    channel = run_channel(run, model=model, pee_model=pee_model, osc=osc,
                          components=components, cross_section=cross_section,
                          b8_spectrum=b8_spectrum)
    if grid is None:
        grid = grid_rates(channel, quad)
    elif grid.channel.components != channel.components or not np.allclose(
            grid.channel.pe1, channel.pe1):
        raise ValueError("the given grid rates belong to a channel with other beams")
    if method == "tabulated":
        templates = binned_templates(channel.experiment, quad=quad)
        sm = templates.sm.sum(axis=1) * exposure
        em = templates.em.sum(axis=1) * exposure
    else:
        sm, em = (jnp.asarray(a) for a in _grid_counts(grid, run, exposure))
    return RunTemplates(run, exposure, channel, sm, em, grid, method,
                        datasets.xenonnt_background_expectation(run),
                        datasets.xenonnt_observed_events(run))


def merge_to_constant(templates: RunTemplates) -> RunTemplates:
    """The constant-P_ee (004 Eqs. 8-11) templates of a run from adiabatic ones, by summing the
    split beams (:func:`cevns_jax.solar.merge_to_constant`; exact, no recomputation)."""
    constant, merge = merge_to_constant_channel(templates.channel)
    m = np.asarray(merge)
    grid = GridRates(constant, templates.grid.energies_kev, m @ templates.grid.sm,
                     m @ templates.grid.em)
    return dataclasses.replace(templates, channel=constant, sm=merge @ templates.sm,
                               em=merge @ templates.em, grid=grid)


def _mu2(channel, mu_flavour):
    """mu_b^2 per beam of a solar ``channel`` for (mu_e, mu_mu, mu_tau) [1e-10 mu_B] from
    :class:`~cevns_jax.likelihood.physics_model.FlavourMoments` (paper 004 Eqs. 6-11)."""
    mu = jnp.asarray(mu_flavour, dtype=jnp.float64)
    if mu.shape != (3,):
        raise ValueError(f"mu_flavour must be (mu_e, mu_mu, mu_tau), got shape {mu.shape}")
    return FlavourMoments(channel.osc).mu2(dict(zip(FlavourMoments.parameters, mu)),
                                           beam_labels(channel))


def expected_events(templates: RunTemplates, mu_flavour=(0.0, 0.0, 0.0)) -> float:
    """Expected 8B CEvNS events of a run at nominal yields: sum_b S_b + mu_b^2 E_b."""
    mu2 = _mu2(templates.channel, mu_flavour)
    return float(jnp.sum(templates.sm + mu2 * templates.em))


@dataclasses.dataclass(frozen=True, eq=False)
class CountingAnalysis:
    """Stacked run templates: ``sm``, ``em`` (n_runs, n_beams), yield responses (n_runs, 2, 2,
    n_beams), observed counts and nominal backgrounds (n_runs,), prior widths. The flux model
    is ``channel.solar_model``, the flavour composition ``channel.pee_model``."""

    runs: tuple
    channel: object
    sm: jnp.ndarray
    em: jnp.ndarray
    yield_sm: jnp.ndarray
    yield_em: jnp.ndarray
    observed: jnp.ndarray
    background: jnp.ndarray
    sigma_flux: float
    sigma_background: float

    @property
    def solar_model(self) -> str:
        return self.channel.solar_model

    def flavour_model(self) -> FlavourMoments:
        """The flavour-moment model with the oscillation parameters of the channel."""
        return FlavourMoments(self.channel.osc)


def setup_counting(runs=RUNS, *, model: str = "B16-GS98", pee_model: str = MSW_PEE_MODEL,
                   osc=PAPER004_OSCILLATION, sigma_flux: float | None = None,
                   sigma_background: float = BACKGROUND_UNCERTAINTY, templates=None,
                   **kwargs) -> CountingAnalysis:
    """The counting analysis over ``runs``: flux model ``model``, flavour composition
    ``pee_model`` (default adiabatic MSW; paper 004's is ``solar.PAPER004_PEE_MODEL``).
    ``sigma_flux`` defaults to the 8B uncertainty of B16-GS98 (12 %; BS05 has none
    tabulated). Precomputed ``templates`` (a list of :class:`RunTemplates`) may be passed
    instead of being recomputed (their channel then fixes the flux model and composition)."""
    if templates is None:
        templates, grid = [], None
        for r in runs:
            templates.append(run_templates(r, model=model, pee_model=pee_model, osc=osc,
                                           grid=grid, **kwargs))
            grid = templates[-1].grid
    if not templates:
        raise ValueError("setup_counting needs at least one science run")
    if sigma_flux is None:
        sigma_flux = datasets.solar_flux_uncertainties("B16-GS98")["b8"]
    for name, value in (("sigma_flux", sigma_flux), ("sigma_background", sigma_background)):
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")
    stack = lambda attr: jnp.stack([getattr(t, attr) for t in templates])  # noqa: E731
    yields = [yield_responses(t) for t in templates]
    return CountingAnalysis(
        tuple(t.run for t in templates), templates[0].channel, stack("sm"), stack("em"),
        jnp.stack([y[0] for y in yields]), jnp.stack([y[1] for y in yields]),
        jnp.asarray([float(t.observed) for t in templates]),
        jnp.asarray([t.background_total for t in templates]),
        float(sigma_flux), float(sigma_background))


#: Nuisance names of the measurement (standard normal): 8B flux, background normalisation,
#: light yield, charge yield; shared by all runs.
NUISANCES = tuple(f"xenonnt_8b/{n}" for n in ("flux_b8", "background", "light_yield",
                                               "charge_yield"))


def _response(coef, t_yield):
    """exp(sum_k a_k t_k + c_k t_k^2) for coefficients (..., 2, 2, n_beams)."""
    a, c = coef[..., 0, :], coef[..., 1, :]
    return jnp.exp(jnp.einsum("...kb,k->...b", a, t_yield)
                   + jnp.einsum("...kb,k->...b", c, t_yield**2))


@dataclasses.dataclass(frozen=True)
class CountingRates:
    """Expected counts per run as measurement components (module docstring):
    S_rb (1 + s_f)^t_f R^S_rb(t_ly, t_qy), the same for E, and b_r (1 + s_b)^t_b."""

    names: tuple = NUISANCES

    def __call__(self, data, nu):
        flux, bkg, light, charge = (nu[n] for n in self.names)
        t_yield = jnp.stack([light, charge])
        scale = jnp.exp(jnp.log1p(data["sigma_flux"]) * flux)
        sm = data["sm"] * _response(data["yield_sm"], t_yield) * scale
        em = data["em"] * _response(data["yield_em"], t_yield) * scale
        background = data["background"] * jnp.exp(jnp.log1p(data["sigma_background"]) * bkg)
        return Components(sm.T, em.T, background)


def measurement(analysis: CountingAnalysis, *, observed=None,
                name: str = "XENONnT-8B") -> Measurement:
    """The counting likelihood as a :class:`Measurement`: one Poisson channel whose bins are
    the science runs, the four standard-normal nuisances :data:`NUISANCES` shared by all runs,
    beams labelled for the moment models (:func:`cevns_jax.solar.beam_labels`).
    ``observed`` overrides the release counts (e.g. Asimov counts)."""
    n = analysis.observed if observed is None else jnp.asarray(observed, dtype=jnp.float64)
    if n.shape != (len(analysis.runs),):
        raise ValueError(f"need one observed count per run {analysis.runs}, got shape {n.shape}")
    data = {"sm": analysis.sm, "em": analysis.em, "yield_sm": analysis.yield_sm,
            "yield_em": analysis.yield_em, "background": analysis.background,
            "sigma_flux": jnp.asarray(analysis.sigma_flux),
            "sigma_background": jnp.asarray(analysis.sigma_background)}
    channel = Channel(observed=n, data=data, name=name, beams=beam_labels(analysis.channel),
                      statistic="poisson", expected_fn=CountingRates())
    return Measurement((channel,), tuple(Nuisance(k, 0.0, 1.0) for k in NUISANCES), name=name)


def poisson_upper_limit(observed: int = 0, background: float = 0.0, cl: float = 0.9) -> float:
    """Classical (Neyman) upper limit s_up on a Poisson signal: P(N <= n | s_up + b) = 1 - cl.

    For n = 0, b = 0, cl = 0.9: s_up = ln 10 = 2.303 events, the floor below which no
    experiment can exclude a signal at 90 % C.L.
    """
    from scipy import optimize, special

    if int(observed) != observed or observed < 0:
        raise ValueError(f"observed must be a non-negative integer, got {observed!r}")
    if not background >= 0:
        raise ValueError(f"background must be >= 0, got {background!r}")
    if not 0 < cl < 1:
        raise ValueError(f"cl must be in (0, 1), got {cl!r}")
    cdf = lambda s: special.gammaincc(observed + 1, s + background)  # P(N <= n | s + b)
    if cdf(0.0) <= 1 - cl:
        return 0.0
    hi = 10.0 + 10.0 * (observed + 1)
    return float(optimize.brentq(lambda s: cdf(s) - (1 - cl), 0.0, hi, xtol=1e-12))
