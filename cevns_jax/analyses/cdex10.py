"""CDEX-10 solar-neutrino analysis of paper 004 (Sects. 3-4): the pull chi^2 over a binned Ge
spectrum in electron-equivalent energy, built as a
:class:`~cevns_jax.likelihood.measurement.Measurement` (:func:`measurement`).

The CDEX-10 spectrum of X.P. Geng et al. (CDEX), PRD 107, 112002 (2023), the 20 points that
paper 004 fits, is **not** public in any source reachable here (``shared/data/PROVENANCE.md``,
"NOT found"). The user supplies it as a CSV file (format below); without it the chain runs on
Asimov data of a CDEX-10-like setup.

CSV format (:func:`load_spectrum_csv`, :func:`write_spectrum_csv`)
------------------------------------------------------------------
``#`` comment lines, one of which must state the units, then a header row and one row per bin::

    # units: energy=keVee, rate=counts/(kg keVee day)
    # exposure: 205.4 kg day            (optional; informative)
    E_keVee_lo,E_keVee_hi,rate,uncertainty
    0.16,0.26,2.31,0.35
    ...

* energy columns: ``E_keVee_lo, E_keVee_hi`` (bin edges) or ``E_keVee_centre, E_keVee_width``;
  with ``energy=eVee`` in the units line the columns are ``E_eVee_...`` and are converted.
* ``rate``: measured (efficiency-corrected) rate R_obs^i; ``uncertainty``: Delta^i (statistical
  and systematic combined, as in 004 Eq. 18), both in counts/(kg keVee day).
* bins must be contiguous and increasing (a gap or overlap raises).

Statistics (paper 004 Eq. 18)
-----------------------------
chi^2 = min_{xi, B} sum_i ((R_obs^i - R_exp^i(mu) - B - sum_j xi_j c_j^i) / Delta^i)^2 + sum_j xi_j^2

* R_exp^i(mu) = sum_b (S_b^i + mu_b^2 E_b^i) / w_i: SM + magnetic-moment rate per bin of width
  w_i for 1 kg day (Ge, Lindhard kappa = 0.162, BS05(OP) fluxes, 004 cross section; flat
  efficiency 1, since the CDEX-10 rates are efficiency-corrected; no energy-resolution
  smearing, as in paper 004).
* pulls xi_j: one per solar component j reaching the threshold, c_j^i = sigma_j R_j^i(mu), with
  sigma_j the B16-GS98 fractional flux uncertainty (Vinyoles et al. 2017: 8B 12 %, hep 30 %).
  BS05(OP) has no tabulated uncertainties in ``ssm_total_fluxes.csv``, so paper 004's choice
  cannot be reproduced exactly; ``uncertainty_model`` selects the table.
* B: a flat background rate [counts/(kg keVee day)]; by default **profiled**, or fixed to a
  given value.

In the measurement the pulls are unit-width Gaussian nuisances ``pull_<component>`` scaling the
rates of their component by (1 + sigma_j xi_j), which is Eq. (18) exactly; chi^2 is quadratic
in (B, xi), so the profile equals the closed form of :func:`cevns_jax.likelihood.chi2_pull`.
Limits, fits and regions are computed in :mod:`cevns_jax.papers.paper004`.

Flavour composition: by default the energy-dependent adiabatic LMA-MSW one
(:data:`cevns_jax.solar.MSW_PEE_MODEL`, beams as
:class:`~cevns_jax.likelihood.physics_model.MassStateBeam`); paper 004's energy-independent
reading (P_ee = 0.54) is ``pee_model=solar.PAPER004_PEE_MODEL``.

Above the 160 eVee threshold (T_nr ~ 0.92 keV for kappa = 0.162) only 8B and hep neutrinos can
recoil a Ge nucleus; the other components are dropped (their counts are exactly zero).

Asimov setup (CDEX-10-like)
---------------------------
205.4 kg day (the CDEX-10 exposure of PRD 107, 112002, stated on the CDEX publication page and
in the CDEX-10 dark-matter papers using the same data set), threshold 160 eVee (same papers),
20 bins of 0.1 keVee from 0.16 to 2.16 keVee (an assumption: paper 004 fits "20 data points";
the bin layout of the CDEX figure is not available), a flat background of
2 counts/(kg keVee day) (assumption, the order of the CDEX-10 low-energy bulk spectrum) and
Delta^i = sqrt(N_i) / (w_i X) with N_i the Asimov counts in bin i (statistics only).

Magnetic moments are in units of 1e-10 mu_B throughout.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re

import jax.numpy as jnp
import numpy as np

from .. import datasets
from ..likelihood.measurement import Channel, Components, Measurement, Nuisance
from ..likelihood.physics_model import FlavourMoments
from ..precision import require_x64
from ..quadrature import QuadratureConfig
from ..rates import binned_templates
from ..solar import (MSW_PEE_MODEL, PAPER004_OSCILLATION, beam_labels, build_solar_experiment,
                     solar_channel, solar_config)
from ..solar import merge_to_constant as merge_to_constant_channel

__all__ = [
    "CDEX10_EXPOSURE_KG_DAY",
    "CDEX10_THRESHOLD_KEVEE",
    "CDEX10_KAPPA",
    "CDEX10_BIN_EDGES_KEVEE",
    "ASIMOV_BACKGROUND",
    "PAPER004_LIMITS",
    "RATE_UNIT",
    "BinnedSpectrum",
    "CdexAnalysis",
    "load_spectrum_csv",
    "write_spectrum_csv",
    "setup_analysis",
    "merge_to_constant",
    "expected_rate",
    "pull_shapes",
    "PulledRates",
    "measurement",
    "asimov_spectrum",
]

#: CDEX-10 exposure of PRD 107, 112002 (2023) [kg day].
CDEX10_EXPOSURE_KG_DAY = 205.4
#: CDEX-10 analysis threshold [keVee].
CDEX10_THRESHOLD_KEVEE = 0.160
#: Lindhard kappa used by paper 004 for Ge (Sect. 2.3).
CDEX10_KAPPA = 0.162
#: Assumed layout of the 20 points: 0.1-keVee bins from 0.16 to 2.16 keVee.
CDEX10_BIN_EDGES_KEVEE = tuple(round(0.16 + 0.1 * k, 10) for k in range(21))
#: Flat background of the Asimov data [counts / (kg keVee day)] (assumption, see module doc).
ASIMOV_BACKGROUND = 2.0
#: Paper 004's 90 % C.L. limits from CDEX-10 [1e-10 mu_B] (Sect. 4).
PAPER004_LIMITS = {"e": 7.88, "mu": 1.43, "tau": 9.05}
#: The rate unit of spectra and templates here.
RATE_UNIT = "counts/(kg keVee day)"

_UNITS_RE = re.compile(r"^#\s*units\s*:\s*(.*)$", re.IGNORECASE)
_EXPOSURE_RE = re.compile(r"^#\s*exposure\s*:\s*([-+0-9.eE]+)\s*kg\s*day\s*$", re.IGNORECASE)
_RATE_UNITS = {"counts/(kg keVee day)", "counts/(kg kevee day)", "counts/kg/keVee/day", "cpkkd"}


# --------------------------------------------------------------------------------------
# binned spectra and their CSV format
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BinnedSpectrum:
    """A binned electron-equivalent spectrum: edges [keVee] (n_bins + 1), rate and its
    uncertainty [counts/(kg keVee day)] per bin, optional exposure [kg day] and source label."""

    edges_kevee: np.ndarray
    rate: np.ndarray
    uncertainty: np.ndarray
    exposure_kg_day: float | None = None
    source: str = ""

    def __post_init__(self):
        edges = np.asarray(self.edges_kevee, dtype=np.float64)
        rate = np.asarray(self.rate, dtype=np.float64)
        unc = np.asarray(self.uncertainty, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2:
            raise ValueError(f"edges_kevee must be 1-D with >= 2 entries, got {edges!r}")
        if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0) or edges[0] <= 0:
            raise ValueError(f"bin edges must be positive and strictly increasing, got {edges!r}")
        n = edges.size - 1
        for name, arr in (("rate", rate), ("uncertainty", unc)):
            if arr.shape != (n,):
                raise ValueError(f"{name} must have {n} entries (one per bin), got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite, got {arr!r}")
        if np.any(unc <= 0):
            raise ValueError(f"uncertainty must be > 0 in every bin, got {unc!r}")
        if self.exposure_kg_day is not None and not self.exposure_kg_day > 0:
            raise ValueError(f"exposure_kg_day must be > 0, got {self.exposure_kg_day!r}")
        object.__setattr__(self, "edges_kevee", edges)
        object.__setattr__(self, "rate", rate)
        object.__setattr__(self, "uncertainty", unc)

    @property
    def n_bins(self) -> int:
        return self.edges_kevee.size - 1

    @property
    def widths_kevee(self) -> np.ndarray:
        return np.diff(self.edges_kevee)

    @property
    def centres_kevee(self) -> np.ndarray:
        return 0.5 * (self.edges_kevee[1:] + self.edges_kevee[:-1])


def _parse_units(line: str, where: str):
    fields = {}
    for item in line.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{where}: cannot read units entry {item.strip()!r}; expected "
                             "'energy=keVee, rate=counts/(kg keVee day)'")
        fields[key.strip().lower()] = value.strip()
    energy = fields.get("energy")
    rate = fields.get("rate")
    if energy is None or rate is None:
        raise ValueError(f"{where}: the units line must give both 'energy' and 'rate', got "
                         f"{line.strip()!r}")
    if energy not in ("keVee", "eVee"):
        raise ValueError(f"{where}: unsupported energy unit {energy!r}; expected keVee or eVee")
    if rate not in _RATE_UNITS:
        raise ValueError(f"{where}: unsupported rate unit {rate!r}; expected "
                         f"'counts/(kg keVee day)'")
    return energy


def load_spectrum_csv(path) -> BinnedSpectrum:
    """Read a binned spectrum in the CSV format of the module docstring.

    Raises ``ValueError`` naming the problem: no ``# units:`` line, an unsupported unit, a
    missing column, a non-numeric value, non-contiguous bins or a non-positive uncertainty.
    """
    where = os.fspath(path)
    with open(path, newline="", encoding="utf-8-sig") as handle:   # tolerates a UTF-8 BOM
        text = handle.read()
    units = None
    exposure = None
    body = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = _UNITS_RE.match(stripped)
            if m:
                units = _parse_units(m.group(1), where)
            if re.match(r"^#\s*exposure\s*:", stripped, re.IGNORECASE):
                m = _EXPOSURE_RE.match(stripped)
                try:
                    exposure = float(m.group(1)) if m else None
                except ValueError:
                    exposure = None
                if exposure is None:
                    raise ValueError(f"{where}: cannot read the exposure line {stripped!r}; "
                                     "expected '# exposure: <number> kg day'")
            continue
        body.append(line)
    if units is None:
        raise ValueError(f"{where}: missing units line; the file must contain "
                         "'# units: energy=keVee, rate=counts/(kg keVee day)'")
    if not body:
        raise ValueError(f"{where}: no header row and no data")
    reader = csv.DictReader(io.StringIO("\n".join(body)))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    reader.fieldnames = columns
    e = "E_" + units
    if f"{e}_lo" in columns or f"{e}_hi" in columns:
        energy_cols = (f"{e}_lo", f"{e}_hi")
    else:
        energy_cols = (f"{e}_centre", f"{e}_width")
    required = (*energy_cols, "rate", "uncertainty")
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing}; found {columns}; expected "
                         f"{e}_lo,{e}_hi (or {e}_centre,{e}_width),rate,uncertainty")
    rows = list(reader)
    if not rows:
        raise ValueError(f"{where}: no data rows")
    values = {c: [] for c in required}
    for k, row in enumerate(rows, start=1):
        for c in required:
            try:
                values[c].append(float(row[c]))
            except (TypeError, ValueError):
                raise ValueError(f"{where}: data row {k}, column {c!r}: cannot read "
                                 f"{row.get(c)!r} as a number") from None
    scale = 1e-3 if units == "eVee" else 1.0
    a = np.asarray(values[energy_cols[0]]) * scale
    b = np.asarray(values[energy_cols[1]]) * scale
    lo, hi = (a, b) if energy_cols[0].endswith("_lo") else (a - 0.5 * b, a + 0.5 * b)
    if np.any(hi <= lo):
        raise ValueError(f"{where}: every bin needs hi > lo (width > 0); got lo={lo}, hi={hi}")
    if lo.size > 1 and not np.allclose(lo[1:], hi[:-1], rtol=1e-9, atol=1e-12):
        bad = int(np.argmax(~np.isclose(lo[1:], hi[:-1], rtol=1e-9, atol=1e-12)))
        raise ValueError(f"{where}: bins must be contiguous and increasing; bin {bad + 2} starts "
                         f"at {lo[bad + 1]!r} keVee but bin {bad + 1} ends at {hi[bad]!r} keVee")
    edges = np.concatenate([lo, hi[-1:]])
    return BinnedSpectrum(edges, np.asarray(values["rate"]), np.asarray(values["uncertainty"]),
                          exposure, where)


def write_spectrum_csv(spectrum: BinnedSpectrum, path, comment: str = "") -> None:
    """Write ``spectrum`` in the CSV format of the module docstring (edges form)."""
    with open(path, "w", newline="") as handle:
        if comment:
            for line in comment.splitlines():
                handle.write(f"# {line}\n")
        handle.write("# units: energy=keVee, rate=counts/(kg keVee day)\n")
        if spectrum.exposure_kg_day is not None:
            handle.write(f"# exposure: {spectrum.exposure_kg_day!r} kg day\n")
        writer = csv.writer(handle)
        writer.writerow(["E_keVee_lo", "E_keVee_hi", "rate", "uncertainty"])
        e = spectrum.edges_kevee
        for i in range(spectrum.n_bins):
            writer.writerow([repr(float(e[i])), repr(float(e[i + 1])),
                             repr(float(spectrum.rate[i])), repr(float(spectrum.uncertainty[i]))])


# --------------------------------------------------------------------------------------
# the analysis
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class CdexAnalysis:
    """Templates of the CDEX analysis, in counts/(kg keVee day) per bin.

    ``sm[b, i]`` and ``em[b, i]`` (unit moment 1e-10 mu_B) per beam of ``channel``;
    ``pull_sigma[j, b]`` = sigma_j if beam b belongs to pulled component j (else 0);
    ``pull_components`` the names of the pulls; ``edges_kevee`` the bins. The flux model of
    the templates is ``channel.solar_model``, the flavour composition ``channel.pee_model``.
    """

    channel: object
    edges_kevee: np.ndarray
    sm: jnp.ndarray
    em: jnp.ndarray
    pull_sigma: jnp.ndarray
    pull_components: tuple
    uncertainty_model: str

    @property
    def widths_kevee(self) -> np.ndarray:
        return np.diff(self.edges_kevee)

    @property
    def n_bins(self) -> int:
        return self.edges_kevee.size - 1

    @property
    def beams(self) -> tuple:
        """Beam labels for the moment models (:func:`cevns_jax.solar.beam_labels`)."""
        return beam_labels(self.channel)

    @property
    def solar_model(self) -> str:
        return self.channel.solar_model

    def flavour_model(self) -> FlavourMoments:
        """The flavour-moment model with the oscillation parameters of the channel."""
        return FlavourMoments(self.channel.osc)


def setup_analysis(edges_kevee=CDEX10_BIN_EDGES_KEVEE, *, solar_model: str = "BS05OP",
                   uncertainty_model: str = "B16-GS98", pee_model: str = MSW_PEE_MODEL,
                   osc=PAPER004_OSCILLATION, kappa: float = CDEX10_KAPPA,
                   components=None, b8_spectrum: str = "winter2006",
                   cross_section: str = "paper004", form_factor: str = "helm",
                   quad: QuadratureConfig = QuadratureConfig()) -> CdexAnalysis:
    """Build the Ge solar channel on the bins ``edges_kevee`` (a :class:`BinnedSpectrum` is
    accepted too) and compute its templates once (jitted here: the templates are built once).

    ``solar_model``: the flux model of the templates (BS05(OP), as paper 004).
    ``pee_model``: the flavour composition, by default the energy-dependent adiabatic MSW one
    (:data:`cevns_jax.solar.MSW_PEE_MODEL`); paper 004's constant reading is
    :data:`cevns_jax.solar.PAPER004_PEE_MODEL`. ``components``: default all components
    reaching the first edge. ``uncertainty_model``: the model whose fractional flux
    uncertainties become the pulls (``None``: no pulls).
    """
    require_x64()
    if isinstance(edges_kevee, BinnedSpectrum):
        edges_kevee = edges_kevee.edges_kevee
    edges = np.asarray(edges_kevee, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] <= 0:
        raise ValueError(f"edges_kevee must be positive and strictly increasing, got {edges!r}")
    config = solar_config("Ge", f"{float(edges[0])!r} keVee",
                          bins=[f"{float(e)!r} keVee" for e in edges],
                          model=solar_model, components=components, kappa=kappa,
                          cross_section=cross_section, form_factor=form_factor,
                          b8_spectrum=b8_spectrum, name="CDEX-10-like")
    experiment = build_solar_experiment(config, drop_unreachable=True)
    channel = solar_channel(experiment, pee_model, osc, solar_model)
    templates = binned_templates(channel.experiment, quad=quad)
    widths = jnp.asarray(np.diff(edges))
    return _analysis(channel, edges, templates.sm / widths, templates.em / widths,
                     uncertainty_model)


def _analysis(channel, edges, sm, em, uncertainty_model) -> CdexAnalysis:
    sigma = {} if uncertainty_model is None else datasets.solar_flux_uncertainties(
        uncertainty_model)
    names = tuple(c for c in channel.component_names if c in sigma)
    pull = np.array([[sigma[name] if c == name else 0.0 for c in channel.components]
                     for name in names], dtype=np.float64).reshape(len(names), channel.n_beams)
    return CdexAnalysis(channel, np.asarray(edges, dtype=np.float64), sm, em, jnp.asarray(pull),
                        names, str(uncertainty_model))


def merge_to_constant(analysis: CdexAnalysis) -> CdexAnalysis:
    """The constant-P_ee (004 Eqs. 8-11) analysis from an adiabatic one, without recomputing
    templates (:func:`cevns_jax.solar.merge_to_constant`: exact)."""
    constant, merge = merge_to_constant_channel(analysis.channel)
    model = None if analysis.uncertainty_model == "None" else analysis.uncertainty_model
    return _analysis(constant, analysis.edges_kevee, merge @ analysis.sm, merge @ analysis.em,
                     model)


def _mu2(analysis: CdexAnalysis, mu):
    mu = jnp.asarray(mu, dtype=jnp.float64)
    if mu.shape != (3,):
        raise ValueError(f"mu must be (mu_e, mu_mu, mu_tau), got shape {mu.shape}")
    theta = dict(zip(FlavourMoments.parameters, mu))
    return analysis.flavour_model().mu2(theta, analysis.beams)


def expected_rate(analysis: CdexAnalysis, mu=(0.0, 0.0, 0.0)):
    """R_exp^i = sum_b (S_b^i + mu_b^2 E_b^i) per bin [counts/(kg keVee day)] for flavour
    moments ``mu`` = (mu_e, mu_mu, mu_tau) [1e-10 mu_B] (paper 004 Eqs. 7, 12, 17), mu_b^2
    from :class:`~cevns_jax.likelihood.physics_model.FlavourMoments`."""
    mu2 = _mu2(analysis, mu)
    return jnp.sum(analysis.sm + mu2[:, None] * analysis.em, axis=0)


def pull_shapes(analysis: CdexAnalysis, mu):
    """c_j^i = sigma_j R_j^i(mu) (004 Eq. 18): the shift of bin i for a one-sigma pull of
    component j; shape (n_pulls, n_bins)."""
    mu2 = _mu2(analysis, mu)
    return analysis.pull_sigma @ (analysis.sm + mu2[:, None] * analysis.em)


@dataclasses.dataclass(frozen=True)
class PulledRates:
    """Expected rates of 004 Eq. (18) as measurement components: beam b of pulled component
    j scaled by (1 + sigma_j xi_j), plus the flat background ``nu[background]``.
    ``data["pull"]`` is the (n_pulls, n_beams) matrix sigma_j [b in j]."""

    pulls: tuple
    background: str

    def __call__(self, data, nu):
        n_beams = data["sm"].shape[0]
        scale = jnp.ones(n_beams)
        if self.pulls:
            scale = scale + jnp.stack([nu[n] for n in self.pulls]) @ data["pull"]
        flat = nu[self.background] * jnp.ones(data["sm"].shape[1])
        return Components(scale[:, None] * data["sm"], scale[:, None] * data["em"], flat)


def measurement(analysis: CdexAnalysis, data, *, background=None,
                name: str = "CDEX-10") -> Measurement:
    """The pull chi^2 of paper 004 Eq. (18) as a :class:`Measurement`.

    One Gaussian channel: observed R_obs^i, variance (Delta^i)^2, expected
    sum_b (1 + sigma_j(b) xi_j(b)) (S_b^i + mu_b^2 E_b^i) + B. Nuisances ``pull_<component>``
    (the xi_j: unit-width Gaussian constraints, so their penalty is sum_j xi_j^2) and
    ``background`` (B [counts/(kg keVee day)]: free and profiled, or fixed to ``background``).
    Profiling gives exactly the closed form :func:`cevns_jax.likelihood.chi2_pull`.
    """
    if isinstance(data, BinnedSpectrum):
        if data.n_bins != analysis.n_bins or not np.allclose(
                data.edges_kevee, analysis.edges_kevee, rtol=1e-9, atol=1e-12):
            raise ValueError("the spectrum's bins differ from the analysis bins: "
                             f"{data.edges_kevee} vs {analysis.edges_kevee}")
        rate, unc = data.rate, data.uncertainty
    else:
        rate, unc = (np.asarray(a, dtype=np.float64) for a in data)
        if rate.shape != (analysis.n_bins,) or unc.shape != (analysis.n_bins,):
            raise ValueError(f"need {analysis.n_bins} rates and uncertainties, got "
                             f"{rate.shape} and {unc.shape}")
    pulls = tuple(f"pull_{c}" for c in analysis.pull_components)
    nuisances = [Nuisance(p, 0.0, 1.0) for p in pulls]
    if background is None:
        nuisances.append(Nuisance("background", 0.0))
    else:
        nuisances.append(Nuisance("background", float(background), treatment="fixed"))
    channel = Channel(
        observed=jnp.asarray(rate, dtype=jnp.float64),
        data={"sm": analysis.sm, "em": analysis.em, "pull": analysis.pull_sigma,
              "variance": jnp.asarray(unc, dtype=jnp.float64) ** 2},
        name=name, beams=analysis.beams, statistic="gaussian",
        expected_fn=PulledRates(pulls, "background"))
    return Measurement((channel,), tuple(nuisances), name=name)


def asimov_spectrum(analysis: CdexAnalysis, mu=(0.0, 0.0, 0.0), *,
                    background: float = ASIMOV_BACKGROUND,
                    exposure_kg_day: float = CDEX10_EXPOSURE_KG_DAY) -> BinnedSpectrum:
    """Asimov data: R_obs = R_exp(mu) + B exactly, Delta^i = sqrt(N_i) / (w_i X) with
    N_i = (R_exp^i + B) w_i X the expected counts (Poisson errors of a CDEX-10-like exposure)."""
    if not exposure_kg_day > 0:
        raise ValueError(f"exposure_kg_day must be > 0, got {exposure_kg_day!r}")
    if not background >= 0:
        raise ValueError(f"background must be >= 0, got {background!r}")
    rate = np.asarray(expected_rate(analysis, mu)) + background
    widths = analysis.widths_kevee
    counts = rate * widths * exposure_kg_day
    if np.any(counts <= 0):
        raise ValueError("Asimov counts vanish in some bin: give a positive background")
    unc = np.sqrt(counts) / (widths * exposure_kg_day)
    label = (f"Asimov: mu = {tuple(float(m) for m in np.asarray(mu))} x 1e-10 mu_B, "
             f"B = {background} {RATE_UNIT}, {exposure_kg_day} kg day, "
             f"{analysis.solar_model} fluxes, {analysis.channel.pee_model} P_ee")
    return BinnedSpectrum(analysis.edges_kevee, rate, unc, exposure_kg_day, label)
