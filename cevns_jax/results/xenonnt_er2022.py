"""XENONnT SR0 electronic recoils: 90 % C.L. limits on solar-neutrino magnetic moments.

Profile likelihood of :mod:`cevns_jax.analyses.xenonnt_er2022` (B0 normalisation profiled),
Wilks with Delta chi^2 = 2.71 relative to the minimum over mu >= 0, one moment at a time (the
others zero). Transition moments: solar neutrinos reach the detector as an incoherent mixture
of mass states, so the rate depends on |Lambda_i| only (paper 000 Eq. 38): the phases drop out
and no profiling or worst case over them is needed.

:func:`data_results` returns the rows of the results contract; ``quick=True`` uses fewer
quadrature nodes (identical limits to 1e-6 here: the integrands are smooth on every piece).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..analyses import xenonnt_er2022 as er
from ..inference.profile_likelihood import nuisance_errors, upper_limit
from ..likelihood.measurement import profile
from ..likelihood.physics_model import EffectiveMoment, FlavourMoments, TransitionMoments
from ..precision import require_x64
from ..quadrature import QuadratureConfig
from .published import attach

__all__ = ["build_measurement", "moment_limit", "data_results"]

REFERENCE = er.PUBLISHED["reference"]
METHOD = "profile likelihood (B0 norm free), Wilks, 90% CL, binned Poisson 0.5 keV"


def moment_limit(measurement, model, name: str, level: float = 2.71) -> float:
    """Upper limit on ``name`` of ``model`` [1e-10 mu_B] (Delta chi^2 = ``level``, searched on
    [0, 1]: far above the XENONnT sensitivity of ~0.07)."""
    limit = upper_limit(measurement, model, name, level=level, upper=1.0)
    if not limit.valid:
        raise RuntimeError(f"no {name} limit: {limit.status}")
    return limit.value


def _row(quantity, computed, published=None, unit="1e-10 mu_B", method=METHOD):
    return dict(analysis="xenonnt_er2022", quantity=quantity, computed=float(computed),
                uncertainty=None, published=published, unit=unit, method=method,
                reference=REFERENCE)


def _quadrature(quick: bool) -> QuadratureConfig:
    return QuadratureConfig(n_energy=16, n_piece=6) if quick else QuadratureConfig(n_piece=12)


def build_measurement(quick: bool = False):
    """The default measurement (stepping binding, B0 normalisation free)."""
    require_x64()
    return er.measurement(er.er_templates("stepping", quad=_quadrature(quick)))


def data_results(quick: bool = False) -> list[dict]:
    require_x64()
    quad = _quadrature(quick)
    templates = {b: er.er_templates(b, quad=quad) for b in ("stepping", "free")}
    m = er.measurement(templates["stepping"])
    rows = [_row("limit_mu_eff", moment_limit(m, EffectiveMoment(), "mu"))]
    for i in (1, 2, 3):
        rows.append(_row(f"limit_lambda{i}",
                         moment_limit(m, TransitionMoments(), f"lambda{i}")))
    for flavour in ("e", "mu", "tau"):
        rows.append(_row(f"limit_mu_nu{flavour}",
                         moment_limit(m, FlavourMoments(), f"mu_{flavour}")))
    for binding, t in templates.items():
        rows.append(_row(f"limit_mu_eff_{binding}",
                         moment_limit(er.measurement(t), EffectiveMoment(), "mu"),
                         method=METHOD + f", {binding} binding"))
    mu2s = [jnp.zeros(len(templates["stepping"].beams))]
    _, nu_hat = jax.jit(profile)(m, mu2s)
    b0_err = nuisance_errors(m, mu2s, nu_hat)["xenonnt_er_b0_norm"]
    rows.append(_row("events_observed", templates["stepping"].observed.sum(),
                     er.PUBLISHED["events"], unit="events", method="count in 1-30 keV"))
    rows.append(_row("background_b0_expected", templates["stepping"].background.sum(), None,
                     unit="events",
                     method=f"B0 x 1.16 t yr over 1-30 keV (best-fit norm at mu = 0: "
                            f"{float(nu_hat['xenonnt_er_b0_norm']):.4f} +- {b0_err:.4f})"))
    return attach(rows)
