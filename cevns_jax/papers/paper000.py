"""Reproduction of paper 000 (Miranda, Papoulias, Tortola, Valle, JHEP 07 (2019) 103):
Table II, the full-SNS-beam limits of Sect. 5 and the Borexino row (Eq. 38).

Analysis (paper 000 Sect. 5): counts N(S) = sum_b SM_b + sum_{b in group} mu_b^2(S) EM_b
(Eqs. 26, 33), one |Lambda_i| at a time with the others and all phases zero, 90% C.L. at
Delta chi^2 = 2.71. COHERENT CsI (current) uses Eq. (34) with N_meas = 142; every other
setup uses Eq. (35) on Asimov data N_meas = N_SM with sigma_stat = sigma_sys = 0.2 (current)
or 0.1 (future).

Readings of what the paper leaves open (:class:`Paper000Options`; the README shows how much
each moves the limits):

- ``nuisance``: Eq. (35) minimises over the nuisance a. Profiling it makes every limit
  systematics-dominated and 2-12x weaker than Table II; holding a at its null best fit
  (a = 0 for Asimov data, i.e. Delta chi^2 = (N - N_meas)^2 / ((1 + sigma_stat) N_meas))
  reproduces all 24 SNS entries within 4%. Default ``"fixed"`` (the paper's numbers);
  ``"profiled"`` is the statistically complete reading. Eq. (34) is always profiled (its
  printed minimisation reproduces the CsI row within 4%).
- ``delta_cp``: Table II assumes "all phases set to zero"; delta_CP = 0 is the default.
- thresholds of reactor experiments: see :mod:`cevns_jax.experiments.catalog`.
- ``sns_current_pot``: Table I lists 308.1 days (1.76e23 POT) for every current SNS setup;
  Sect. 4.2 says the next detectors run 1 yr (2.09e23 POT). Default: Table I.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .. import moments
from ..analyses.paper000_counting import counting_measurement
from ..experiments import build_experiment, get_config
from ..inference.profile_grid import upper_limits
from ..inference.profile_likelihood import evaluate
from ..likelihood import paper000_statistic
from ..likelihood.physics_model import TransitionMoments
from ..quadrature import QuadratureConfig
from ..rates import binned_templates

PARAMETERS = ("Lambda1", "Lambda2", "Lambda3")
SNS_DETECTORS = ("COHERENT-CsI", "COHERENT-HPGe", "COHERENT-LAr", "COHERENT-NaI")
REACTORS = ("CONUS", "CONNIE", "MINER", "TEXONO", "RED100")
SETUPS = ("current", "future")

#: Beam groups of Table II and Sect. 5.
BEAM_GROUPS = {
    "SNS prompt": ("prompt",),
    "SNS delayed": ("delayed_nue", "delayed_numubar"),
    "SNS full": ("prompt", "delayed_nue", "delayed_numubar"),
    "reactor": ("nuebar",),
}

#: Paper 000 Table II, units of 1e-10 mu_B: (group, detector) -> (current, future) x Lambda_1..3.
TABLE2 = {
    ("SNS prompt", "COHERENT-CsI"): ((69.2, 70.2, 89.6), (5.0, 5.1, 6.4)),
    ("SNS prompt", "COHERENT-HPGe"): ((25.9, 26.2, 33.5), (5.1, 5.2, 6.6)),
    ("SNS prompt", "COHERENT-LAr"): ((14.7, 14.9, 19.1), (2.9, 2.9, 3.7)),
    ("SNS prompt", "COHERENT-NaI"): ((16.6, 16.8, 21.5), (2.8, 2.8, 3.6)),
    ("SNS delayed", "COHERENT-CsI"): ((54.5, 48.7, 49.8), (4.2, 3.7, 3.7)),
    ("SNS delayed", "COHERENT-HPGe"): ((21.3, 18.9, 19.1), (4.2, 3.8, 3.8)),
    ("SNS delayed", "COHERENT-LAr"): ((11.3, 10.1, 10.4), (2.3, 2.1, 2.1)),
    ("SNS delayed", "COHERENT-NaI"): ((10.0, 9.1, 9.4), (2.3, 2.0, 2.0)),
    ("reactor", "CONUS"): ((1.9, 1.3, 1.1), (0.37, 0.26, 0.22)),
    ("reactor", "CONNIE"): ((0.90, 0.63, 0.53), (0.13, 0.09, 0.08)),
    ("reactor", "MINER"): ((1.7, 1.2, 1.0), (0.58, 0.41, 0.34)),
    ("reactor", "TEXONO"): ((3.2, 2.3, 1.9), (0.46, 0.32, 0.27)),
    ("reactor", "RED100"): ((1.0, 0.72, 0.61), (0.14, 0.10, 0.08)),
}

#: Sect. 5 full-SNS-beam limits. The text calls the last three "future detector materials",
#: but they lie between the current prompt and delayed entries of Table II and far above the
#: future ones: they are the HPGe, LAr and NaI detectors in their current (first-run) setup.
FULL_BEAM = {
    "COHERENT-CsI": (42.8, 40.0, 43.6),
    "COHERENT-HPGe": (16.5, 15.3, 16.6),
    "COHERENT-LAr": (8.9, 8.4, 9.1),
    "COHERENT-NaI": (8.6, 8.0, 8.6),
}

#: Borexino Phase-II limit on the solar effective moment (PRD 96, 091103), 1e-10 mu_B, and
#: the Table II row derived from it through Eq. (38).
BOREXINO_MU_LIMIT = 0.28
BOREXINO_ROW = (0.44, 0.36, 0.28)
#: Electron density at the 7Be production region, N_A / cm^3 (BS05(OP) model, r ~ 0.06 R_sun).
BE7_PRODUCTION_DENSITY = 92.0
BE7_ENERGY_MEV = 0.8618


@dataclass(frozen=True)
class Paper000Options:
    """Readings of paper 000 (module docstring); defaults reproduce Table II."""

    nuisance: str = "fixed"
    denominator: str = "printed"
    delta_cp: float = 0.0
    reactor_threshold_scale: str | None = None
    reactor_low_energy: str = "vogel_engel"
    sns_current_pot: str | None = None
    quad: QuadratureConfig = field(default_factory=QuadratureConfig)
    osc: moments.OscillationParameters = moments.DEFAULT_OSCILLATION

    def __post_init__(self):
        if self.nuisance not in ("fixed", "profiled"):
            raise ValueError(f"nuisance must be 'fixed' or 'profiled', got {self.nuisance!r}")
        if not math.isfinite(self.delta_cp):
            raise ValueError(f"delta_cp must be a finite phase in radians, got {self.delta_cp!r}")
        if self.reactor_threshold_scale not in (None, "nr", "ee"):
            raise ValueError("reactor_threshold_scale must be None (catalogue), 'nr' or 'ee', "
                             f"got {self.reactor_threshold_scale!r}")

    @property
    def oscillation(self) -> moments.OscillationParameters:
        return self.osc._replace(delta_cp=self.delta_cp)


def analysis_config(name: str, setup: str, options: Paper000Options) -> dict:
    """The catalogue configuration with the options' readings applied."""
    config = get_config(name, setup)
    if config["group"] == "reactor":
        config["source"]["spectrum"]["low_energy"] = options.reactor_low_energy
        if options.reactor_threshold_scale is not None:
            value = config["detector"]["threshold"].split()[0]
            config["detector"]["threshold"] = f"{value} eV{options.reactor_threshold_scale}"
    elif setup == "current" and name != "COHERENT-CsI" and options.sns_current_pot:
        config["source"]["pot"] = options.sns_current_pot
    return config


@dataclass(frozen=True)
class ExperimentCounts:
    """Per-beam SM counts and unit-moment EM counts of one setup (summed over bins)."""

    name: str
    setup: str
    beams: tuple
    flavours: tuple
    sm: np.ndarray
    em: np.ndarray

    def scaled(self, factor: float) -> "ExperimentCounts":
        """The same setup with its luminosity multiplied by ``factor`` (Fig. 3)."""
        return replace(self, sm=self.sm * factor, em=self.em * factor)


def experiment_counts(name: str, setup: str, options: Paper000Options) -> ExperimentCounts:
    experiment = build_experiment(analysis_config(name, setup, options))
    templates = binned_templates(experiment, quad=options.quad)
    return ExperimentCounts(name, setup, experiment.beam_names,
                            tuple(b.flavour for b in experiment.beams),
                            np.asarray(templates.sm.sum(1)), np.asarray(templates.em.sum(1)))


def measurement(counts: ExperimentCounts, group: str, options: Paper000Options,
                asimov: bool = False):
    """The paper's statistic for one setup as a measurement: Eq. (34) for COHERENT CsI current
    (unless ``asimov``), else Eq. (35) on Asimov data, with the moment in the beams of ``group``."""
    statistic = "eq35" if asimov else paper000_statistic(counts.name, counts.setup)
    return counting_measurement(counts.name, counts.setup, counts.flavours, counts.beams,
                                counts.sm, counts.em, statistic, em_beams=BEAM_GROUPS[group],
                                nuisance=options.nuisance, denominator=options.denominator)


def model(options: Paper000Options) -> TransitionMoments:
    """The transition-moment model with the options' mixing and delta_CP."""
    return TransitionMoments(options.oscillation)


def expected_total(counts: ExperimentCounts, group: str, moduli, xi1=0.0, xi3=0.0,
                   osc=moments.DEFAULT_OSCILLATION):
    """N = sum_b SM_b + sum_{b in group} mu_b^2 EM_b (paper 000 Eqs. 26, 33)."""
    m = measurement(counts, group, Paper000Options(), asimov=True)
    channel = m.channels[0]
    theta = {"lambda1": moduli[0], "lambda2": moduli[1], "lambda3": moduli[2], "xi1": xi1,
             "xi3": xi3}
    mu2 = TransitionMoments(osc).mu2(theta, channel.beams)
    return channel.expected(mu2, m.nominal_nuisances())[0]


#: Search range for one-parameter limits [1e-10 mu_B] and the relative accuracy of a limit.
LIMIT_SEARCH_MAX = 1.0e4
LIMIT_RTOL = 1e-10
#: Points per compiled call of the Delta chi^2 maps (one count: 1024 points are cheap).
MAP_CHUNK = 1024


def single_parameter_limits(counts: ExperimentCounts, requests, options: Paper000Options,
                            asimov: bool = False) -> np.ndarray:
    """90% C.L. limits (Delta chi^2 = 2.71) on |Lambda_i| for ``requests`` = [(group, i), ...],
    the other moduli and all phases zero (Table II). NaN where no crossing exists below
    ``LIMIT_SEARCH_MAX`` (:func:`single_parameter_limit_results` says why)."""
    return np.array([r.value for r in single_parameter_limit_results(counts, requests, options,
                                                                     asimov)])


def single_parameter_limit_results(counts: ExperimentCounts, requests, options: Paper000Options,
                                   asimov: bool = False) -> list:
    """:class:`~cevns_jax.inference.profile_grid.UpperLimit` for each request; the moduli of
    one beam group are searched together (one batched search per group)."""
    found = {}
    for group in dict.fromkeys(g for g, _ in requests):
        names = [f"lambda{i + 1}" for g, i in requests if g == group]
        found[group] = upper_limits(measurement(counts, group, options, asimov), model(options),
                                    names, upper=LIMIT_SEARCH_MAX, rtol=LIMIT_RTOL)
    return [found[group][f"lambda{index + 1}"] for group, index in requests]


def delta_chi2_points(counts: ExperimentCounts, group: str, options: Paper000Options, moduli,
                      xi1=0.0, xi3=0.0) -> np.ndarray:
    """chi^2 at the moduli points (..., 3) and phases (broadcast), minus chi^2 at no moment."""
    moduli = np.asarray(moduli, dtype=float)
    shape = moduli.shape[:-1]
    flat = moduli.reshape(-1, 3)
    phases = [np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for v in (xi1, xi3)]
    thetas = {"lambda1": flat[:, 0], "lambda2": flat[:, 1], "lambda3": flat[:, 2],
              "xi1": phases[0], "xi3": phases[1]}
    m = measurement(counts, group, options)
    values = evaluate(m, model(options), thetas, chunk=MAP_CHUNK)
    null = evaluate(m, model(options), {"lambda1": np.zeros(1)}, chunk=MAP_CHUNK)
    return (values - null[0]).reshape(shape)


def compute_counts(options: Paper000Options, keys=None, progress=None) -> dict:
    """ExperimentCounts for every (name, setup) needed by Table II (or ``keys``)."""
    keys = keys or [(n, s) for n in SNS_DETECTORS + REACTORS for s in SETUPS]
    out = {}
    for name, setup in keys:
        out[(name, setup)] = experiment_counts(name, setup, options)
        if progress is not None:
            progress(f"{name} [{setup}]")
    return out


def _row(group, detector, setup, index, paper, computed):
    return {"group": group, "detector": detector, "setup": setup,
            "parameter": PARAMETERS[index], "paper": paper, "computed": float(computed),
            "ratio": float(computed) / paper, "valid": bool(np.isfinite(computed))}


def table2(options: Paper000Options = Paper000Options(), counts=None, progress=None) -> list[dict]:
    """Every Table II entry (13 rows x current/future x 3 parameters), the full-beam limits and
    the Borexino row, as dictionaries with the published value and the ratio."""
    counts = counts or compute_counts(options, progress=progress)
    wanted = {}
    for (group, detector), values in TABLE2.items():
        for setup, paper in zip(SETUPS, values):
            wanted.setdefault((detector, setup), []).extend(
                (group, i, paper[i]) for i in range(3))
    for detector, paper in FULL_BEAM.items():
        wanted[(detector, "current")].extend(("SNS full", i, paper[i]) for i in range(3))
    rows = []
    for (detector, setup), items in wanted.items():
        limits = single_parameter_limits(counts[(detector, setup)],
                                         [(g, i) for g, i, _ in items], options)
        rows.extend(_row(g, detector, setup, i, paper, lim)
                    for (g, i, paper), lim in zip(items, limits))
    groups = ("SNS prompt", "SNS delayed", "reactor", "SNS full")
    detectors = SNS_DETECTORS + REACTORS
    rows.sort(key=lambda r: (groups.index(r["group"]), detectors.index(r["detector"]),
                             SETUPS.index(r["setup"]), r["parameter"]))
    rows.extend(borexino_rows(options))
    return rows


def borexino_pe1(osc=moments.DEFAULT_OSCILLATION) -> float:
    """P_e1^{2nu} for 7Be neutrinos: adiabatic MSW at the production density."""
    return float(moments.pe1_2nu_adiabatic(BE7_ENERGY_MEV, BE7_PRODUCTION_DENSITY, osc))


def borexino_rows(options: Paper000Options = Paper000Options()) -> list[dict]:
    """Table II solar row: mu_sol < 2.8e-11 mu_B translated through Eq. (38)."""
    limits = moments.borexino_single_parameter_limits(
        BOREXINO_MU_LIMIT, borexino_pe1(options.osc), options.osc)
    return [{"group": "solar", "detector": "Borexino", "setup": "current",
             "parameter": PARAMETERS[i], "paper": BOREXINO_ROW[i], "computed": float(limits[i]),
             "ratio": float(limits[i]) / BOREXINO_ROW[i], "valid": True} for i in range(3)]


def format_table2(rows: list[dict]) -> str:
    """Markdown table: computed vs paper with the ratio."""
    lines = ["| group | detector | setup | parameter | paper | computed | ratio |",
             "|---|---|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['group']} | {r['detector']} | {r['setup']} | {r['parameter']} | "
                     f"{r['paper']:.3g} | {r['computed']:.3g} | {r['ratio']:.3f} |")
    return "\n".join(lines)
