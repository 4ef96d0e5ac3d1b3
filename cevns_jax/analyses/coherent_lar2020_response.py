"""CENNS-10 liquid argon response: CEvNS and unit-moment EM counts per beam in the release's
reconstructed-energy x F90 x trigger-time bins (COHERENT PRL 126, 012002 (2021), Analysis A).

Energy. The SNS pi-DAR beams (prompt nu_mu, delayed nu_e, delayed anti-nu_mu; paper 000
Eq. 28) give dN/dT_nr per beam from :func:`cevns_jax.rates.differential_rate` (paper 000
Eqs. 20-25, Helm form factor, natural argon). The release's quenching factor is linear,

    T_ee = QF(T_nr) T_nr,  QF = a + b T_nr[keVnr],  a = 0.246, b = 0.00078 /keVnr

(data-release parameter file ``LArParametersAnlA.yaml``), the resolution is Gaussian with
sigma/E = 0.58 / sqrt(E[keVee]), and the efficiency table is a function of the reconstructed
energy, piecewise linear between its 0.5-keVee bin centres, zero below the first and equal
to the last value above the table (companion document of the release, arXiv:2006.12659).
The probability that a recoil of true energy E_ee is reconstructed in bin [lo, hi] with
efficiency eff(E) = alpha + beta E on each linear piece [l, h] is the closed form

    int_l^h (alpha + beta E) N(E; mu, sigma) dE
        = (alpha + beta mu) [Phi(z_h) - Phi(z_l)] - beta sigma [phi(z_h) - phi(z_l)],

z = (E - mu) / sigma, summed over the pieces of the bin. The T_nr integral runs on
Gauss-Legendre nodes in log T_nr, split at the prompt line's end point.

F90. Nuclear recoils from CEvNS and from the EM term have the same pulse shape: the F90
distribution of each energy bin is taken from the release's CEvNS pdf (normalised per
energy bin; energy bins where that pdf is empty take the highest non-empty bin's shape).
Electron recoils from neutrino-electron EM scattering have F90 ~ 0.3 and are removed by the
F90 > 0.5 window, so the EM signal is the nuclear term alone.

Time. Each beam's arrival-time probabilities in the trigger-time bins come from
:mod:`cevns_jax.sources.sns_timing` (Gaussian POT trace convolved with the pion and muon
lifetimes), with the POT-trace mean as a parameter.
"""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp
from jax.scipy.stats import norm

from ..constants import E_NU_PROMPT, M_MUON
from ..datasets.coherent_lar2020 import ENERGY_EDGES_KEVEE, TIME_EDGES_US
from ..experiments import build_experiment
from ..physics.kinematics import recoil_max
from ..quadrature import log_nodes
from ..rates import differential_rate
from ..sources.sns_timing import arrival_bin_probabilities

__all__ = ["lar_experiment", "EnergyResponse", "energy_templates", "f90_shapes",
           "time_probabilities", "BEAMS"]

#: The experiment's beams (names of :mod:`cevns_jax.sources.sns`) and their flavour labels.
BEAMS = (("prompt", "numu"), ("delayed_nue", "nue"), ("delayed_numubar", "numubar"))


def lar_experiment(parameters: dict, form_factor: str = "helm"):
    """CENNS-10 as an :class:`~cevns_jax.experiments.build.Experiment`: natural argon of the
    release's fiducial mass, 13.8e22 POT, 0.09 nu/flavour/POT, 27.5 m (parameter file)."""
    value = lambda key: parameters[key][0]
    config = {
        "name": "COHERENT CENNS-10", "setup": "LAr 2020 Analysis A", "group": "sns",
        "source": {"type": "sns", "pot": f"{value('beam_exposure') * 1e22!r} POT",
                   "nu_per_flavor_per_pot": value("neutrinos_per_proton_per_flavor"),
                   "baseline": f"{value('distance_to_target')!r} m"},
        "detector": {"material": "Ar", "mass": f"{value('fiducial_mass')!r} kg",
                     "threshold": "1 keVnr"},
        "physics": {"cross_section": "paper000", "form_factor": form_factor,
                    "kinematics": "exact", "sin2_theta_w": 0.23120},
    }
    return build_experiment(config)


class EnergyResponse:
    """Probability of reconstruction in each energy bin, times the efficiency, for a true
    electron-equivalent energy (closed form of the module docstring).

    ``efficiency``: rows (E_keVee, E_keVnr, eff) of the release table; ``resolution_a``: the
    0.58 of sigma/E = a / sqrt(E[keVee]); ``edges``: reconstructed-energy bin edges [keVee].
    """

    def __init__(self, efficiency, resolution_a: float, edges=ENERGY_EDGES_KEVEE):
        knots, values = np.asarray(efficiency)[:, 0], np.asarray(efficiency)[:, 2]
        edges = np.asarray(edges, dtype=float)
        points = np.unique(np.concatenate([knots, edges]))
        points = points[(points >= knots[0]) & (points <= edges[-1])]
        lo, hi = points[:-1], points[1:]
        eff_lo = np.interp(lo, knots, values)
        eff_hi = np.interp(hi, knots, values)
        beta = (eff_hi - eff_lo) / (hi - lo)
        self.lo, self.hi = jnp.asarray(lo), jnp.asarray(hi)
        self.alpha, self.beta = jnp.asarray(eff_lo - beta * lo), jnp.asarray(beta)
        mid = 0.5 * (lo + hi)
        index = np.searchsorted(edges, mid) - 1
        self.assign = jnp.asarray((index[None, :] == np.arange(edges.size - 1)[:, None])
                                  .astype(float))
        self.resolution_a = float(resolution_a)

    def sigma(self, energy_ee):
        """sigma(E) = a sqrt(E[keVee]) [keVee]."""
        return self.resolution_a * jnp.sqrt(energy_ee)

    def __call__(self, energy_ee):
        """Shape (n_bins,) + energy_ee.shape: P(bin, accepted | true E_ee [keVee])."""
        mu = jnp.asarray(energy_ee)[..., None]
        sigma = self.sigma(mu)
        z_lo, z_hi = (self.lo - mu) / sigma, (self.hi - mu) / sigma
        piece = ((self.alpha + self.beta * mu) * (norm.cdf(z_hi) - norm.cdf(z_lo))
                 - self.beta * sigma * (norm.pdf(z_hi) - norm.pdf(z_lo)))
        return jnp.moveaxis(piece @ self.assign.T, -1, 0)


def _recoil_nodes(experiment, n_nodes: int):
    """Log-spaced Gauss-Legendre nodes and weights in T_nr [MeV], split at the prompt line's
    end point and at the delayed end point of argon-40."""
    mass = float(np.max(np.asarray(experiment.detector.target.nuclear_mass)))
    t_prompt = float(recoil_max(E_NU_PROMPT, mass))
    t_delayed = float(recoil_max(0.5 * M_MUON, mass))
    panels = np.array([5e-4, 2e-3, 5e-3, 1e-2, 2e-2, t_prompt, 0.08, t_delayed])
    nodes, weights = log_nodes(jnp.asarray(panels[:-1]), jnp.asarray(panels[1:]), n_nodes)
    return nodes.ravel(), weights.ravel()


def energy_templates(experiment, response: EnergyResponse, qf_a, qf_b, n_nodes: int = 24):
    """CEvNS SM and unit-moment EM counts per beam and reconstructed-energy bin,
    each of shape (n_beams, n_energy_bins): sum over T_nr nodes of w dN/dT_nr P(bin | T_ee)."""
    recoil, weight = _recoil_nodes(experiment, n_nodes)
    rate = differential_rate(experiment, recoil, with_efficiency=False)
    t_kev = recoil * 1e3
    energy_ee = (qf_a + qf_b * t_kev) * t_kev
    kernel = weight * response(energy_ee)                      # (n_bins, n_nodes)
    return rate.sm @ kernel.T, rate.em @ kernel.T


def f90_shapes(cevns_pdf):
    """Per-energy-bin F90 distribution (rows sum to 1) of a release CEvNS table (E, F90, t)."""
    per_bin = np.asarray(cevns_pdf).sum(axis=2)
    totals = per_bin.sum(axis=1)
    filled = np.flatnonzero(totals > 0)
    if filled.size == 0:
        raise ValueError("the CEvNS table is empty: no F90 shape to take")
    source = np.where(totals > 0, np.arange(totals.size), filled[-1])
    return per_bin[source] / totals[source][:, None]


def time_probabilities(pot_mean_us, pot_width_us, edges=TIME_EDGES_US):
    """Arrival probability per trigger-time bin for each beam of :data:`BEAMS`, (3, n_t)."""
    return jnp.stack([arrival_bin_probabilities(edges, beam, pot_mean_us, pot_width_us)
                      for beam, _ in BEAMS])
