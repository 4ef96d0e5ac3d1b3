"""Parameter-space scans of the transition-magnetic-moment (TMM) space at scale.

Delta chi^2 over a grid (or a sample) of (|Lambda_1|, |Lambda_2|, |Lambda_3|, xi_1, xi_3,
delta_CP) of paper 000 (JHEP 07 (2019) 103, arXiv:1905.03750), optionally over shape
nuisances (flux scale, form-factor radius scale, quenching kappa scale, sin^2 theta_W), for
one experiment or a combination (chi^2 summed). Nuisances of the statistics are profiled
analytically: Eq. (35) (single nuisance, Asimov data N_meas = SM total, sigma_stat =
sigma_sys = 0.2 current / 0.1 future, "printed" denominator) and Eq. (34) for COHERENT-CsI
current (N_meas = 142); the per-experiment chi^2 is a pluggable function of N_theor.

Two paths, tested to agree:

* template path: counts are linear in each beam's mu_eff^2 (Eq. 33: N = S + mu^2 E) and
  mu_eff^2 is a hermitian quadratic form in the complex mass-basis moments,
  ``mu_b^2 = Lambda^dagger M_b Lambda`` (Eqs. 5-9, see :func:`quadratic_form_matrix`), so the
  quadrature runs once per experiment and each grid point costs a few dozen flops;
* full path: :func:`cevns_jax.rates.binned_templates` recomputed at every point (vmapped),
  with the shape nuisances varied per point.

Grids are never materialised: the grid is the Cartesian product of the axes in C order; the
trailing ``inner`` axes form a dense block evaluated by broadcasting, the leading axes are
enumerated by a row index generated per chunk. Chunks are sharded over ``jax.devices()``
(``NamedSharding`` on a one-axis ``Mesh``), reduced on the fly (min over the other axes for
every kept axis set: 1-D profiles, 2-D maps, phase-resolved maps) and checkpointed to an
output directory (format: :mod:`cevns_jax.inference.scan_io`), so a 1e8-point scan needs
memory for one chunk only and can be interrupted and resumed.

This module holds the scan model (statistics, quadratic forms, the chi^2 of a point); the
drivers (:func:`~.scan_run.run_scan`, :func:`~.scan_run.evaluate_points`) jit; everything else is
pure. :mod:`cevns_jax.inference.scan` gathers the public names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import jax.numpy as jnp
import numpy as np

from .. import moments
from ..effective_moments import TMM_BEAM_PRESETS, beam_flavours
from ..likelihood import (EQ35_SIGMA, chi2_coherent_csi, chi2_single_nuisance,
                          chi2_single_nuisance_unprofiled, paper000_statistic)
from ..precision import require_x64
from ..quadrature import QuadratureConfig

__all__ = [
    "TMM_AXES", "NUISANCE_AXES", "quadratic_form_matrix", "quadratic_coefficients",
    "mu2_quadratic", "mu2_from_coefficients", "Statistic", "eq35_statistic", "eq34_statistic",
    "default_statistic", "ScanTerm", "ScanModel", "build_scan_model", "make_grid",
]

#: The TMM axes, in grid order: moduli in units of 1e-10 mu_B, phases in rad.
TMM_AXES = ("lambda1", "lambda2", "lambda3", "xi1", "xi3", "delta_cp")
#: Shape-nuisance axes of the full path (common to all experiments of a combination).
#: ``kappa_scale`` multiplies every isotope's default Lindhard kappa.
NUISANCE_AXES = ("flux_scale", "radius_scale", "kappa_scale", "sin2_theta_w")
#: Admissible (open) interval of each nuisance value: a zero radius or kappa scale makes the
#: form factor or quenching singular (NaN gradients), sin^2 theta_W is a squared sine.
_NUISANCE_RANGES = {"flux_scale": (0.0, np.inf), "radius_scale": (0.0, np.inf),
                    "kappa_scale": (0.0, np.inf), "sin2_theta_w": (0.0, 1.0)}


def _check_nuisance(name, values):
    lo, hi = _NUISANCE_RANGES[name]
    v = np.asarray(values, dtype=np.float64)
    if not np.all((v > lo) & (v < hi)):
        raise ValueError(f"{name}: values must lie in ({lo:g}, {hi:g}), got "
                         f"{v[~((v > lo) & (v < hi))][:3].tolist()}")
_N_COEF = 9

# ---------------------------------------------------------------------------
# mu_eff^2 as a quadratic form (paper 000 Eqs. 5-9)
# ---------------------------------------------------------------------------


def _cross_matrix(a):
    """A[i,k] = sum_j eps[i,j,k] a_j, so that (lambda_tilde a)_i = (A Lambda)_i (Eq. 6)."""
    return jnp.einsum("ijk,...j->...ik", moments.LEVI_CIVITA, a)


def quadratic_form_matrix(flavour: str, osc: moments.OscillationParameters = moments.DEFAULT_OSCILLATION):
    """Hermitian 3x3 ``M`` with ``mu_eff^2 = Lambda^dagger M Lambda`` (paper 000 Eqs. 5, 8, 9).

    With ``lambda_tilde[i,j] = eps[i,j,k] Lambda_k`` (Eq. 6), ``lambda_tilde a = A Lambda``
    where ``A[i,k] = eps[i,j,k] a_j``, and ``lambda_tilde^dagger a = -A conj(Lambda)``. Eq. (9)
    ``mu^2 = |lambda_tilde a~_-|^2 + |lambda_tilde^dagger a~_+|^2`` is therefore
    ``Lambda^dagger (A_-^dagger A_- + A_+^T conj(A_+)) Lambda`` with the mass-basis amplitudes
    ``a~_- = U^dagger a_-``, ``a~_+ = U^T a_+`` of Eq. (8). ``flavour`` is a beam flavour label
    (numu, nue, numubar, nuebar); ``osc`` fields may be traced (``delta_cp`` is the scan axis).
    """
    if flavour not in TMM_BEAM_PRESETS:
        raise ValueError(f"no quadratic form for beam flavour {flavour!r}; "
                         f"known: {sorted(TMM_BEAM_PRESETS)}")
    a_minus, a_plus = moments.helicity_amplitudes(TMM_BEAM_PRESETS[flavour])
    U = moments.pmns(osc)
    am = jnp.einsum("...ai,a->...i", jnp.conj(U), a_minus)
    ap = jnp.einsum("...ai,a->...i", U, a_plus)
    A = _cross_matrix(am)
    B = _cross_matrix(ap)
    return jnp.conj(jnp.swapaxes(A, -1, -2)) @ A + jnp.swapaxes(B, -1, -2) @ jnp.conj(B)


def mu2_quadratic(M, moduli, xi1, xi3):
    """``Re(Lambda^dagger M Lambda)`` with ``Lambda = tmm_complex(moduli, xi1, xi3)`` (Eq. 7)."""
    lam = moments.tmm_complex(moduli, xi1, xi3)
    return jnp.real(jnp.einsum("...i,...ij,...j->...", jnp.conj(lam), M, lam))


def quadratic_coefficients(M):
    """Real coefficients c (..., 9) with ``mu^2 = c . basis`` (see :func:`mu2_from_coefficients`).

    With ``Lambda = (m1 e^{i xi3}, m2, m3 e^{i xi1})`` (Eq. 7, zeta_2 = 0) and phi = xi1 - xi3:
    ``mu^2 = sum_i M_ii m_i^2 + 2 Re(M_12 e^{-i xi3}) m1 m2 + 2 Re(M_13 e^{i phi}) m1 m3
    + 2 Re(M_23 e^{i xi1}) m2 m3``.
    """
    re, im = jnp.real(M), jnp.imag(M)
    return jnp.stack([re[..., 0, 0], re[..., 1, 1], re[..., 2, 2],
                      2 * re[..., 0, 1], 2 * im[..., 0, 1],
                      2 * re[..., 0, 2], -2 * im[..., 0, 2],
                      2 * re[..., 1, 2], -2 * im[..., 1, 2]], axis=-1)


def _basis(m1, m2, m3, c1, s1, c3, s3):
    """The 9 monomials multiplying :func:`quadratic_coefficients` (broadcasting)."""
    cphi = c1 * c3 + s1 * s3          # cos(xi1 - xi3)
    sphi = s1 * c3 - c1 * s3          # sin(xi1 - xi3)
    m12, m13, m23 = m1 * m2, m1 * m3, m2 * m3
    return (m1 * m1, m2 * m2, m3 * m3, m12 * c3, m12 * s3, m13 * cphi, m13 * sphi,
            m23 * c1, m23 * s1)


def mu2_from_coefficients(coef, m1, m2, m3, xi1, xi3):
    """mu^2 from coefficients (..., 9) and moduli/phases (broadcast against coef[..., 0])."""
    basis = _basis(m1, m2, m3, jnp.cos(xi1), jnp.sin(xi1), jnp.cos(xi3), jnp.sin(xi3))
    return sum(coef[..., k] * b for k, b in enumerate(basis))


def _osc_with_delta(osc, delta):
    return osc._replace(delta_cp=delta)


# ---------------------------------------------------------------------------
# statistics (paper 000 Eqs. 34, 35): pluggable chi^2(N_theor)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Statistic:
    """A chi^2 of the expected counts: ``fn(n_theor)`` with n_theor (..., n_bins) -> (...)."""

    fn: Callable
    description: str

    def __call__(self, n_theor):
        return self.fn(n_theor)


def eq35_statistic(n_meas, sigma, denominator="printed", nuisance="profiled") -> Statistic:
    """Paper 000 Eq. (35) on the total over bins with sigma_stat = sigma_sys = ``sigma``:
    the nuisance profiled analytically (:func:`cevns_jax.likelihood.chi2_single_nuisance`) or
    held at its null best fit a = 0 (``nuisance="fixed"``, the reading of Table II)."""
    n_meas = float(n_meas)
    sigma = float(sigma)
    if nuisance not in ("profiled", "fixed"):
        raise ValueError(f"nuisance must be 'profiled' or 'fixed', got {nuisance!r}")
    chi2_single_nuisance(n_meas, n_meas, sigma, sigma, denominator)  # validates the inputs
    if nuisance == "fixed":
        fn = lambda n: chi2_single_nuisance_unprofiled(jnp.sum(n, axis=-1), 0.0, n_meas, sigma,
                                                       sigma, denominator)
    else:
        fn = lambda n: chi2_single_nuisance(jnp.sum(n, axis=-1), n_meas, sigma, sigma,
                                            denominator)
    return Statistic(fn, f"Eq. 35 N_meas={n_meas:.6g} sigma={sigma} denominator={denominator} "
                         f"nuisance={nuisance}")


def eq34_statistic(n_meas=142.0, **kwargs) -> Statistic:
    """Paper 000 Eq. (34) (COHERENT CsI, a1 and a2 profiled analytically) on the total."""
    chi2_coherent_csi(float(n_meas), float(n_meas), **kwargs)  # validates the inputs
    return Statistic(lambda n: chi2_coherent_csi(jnp.sum(n, axis=-1), float(n_meas), **kwargs),
                     f"Eq. 34 N_meas={float(n_meas):.6g} {kwargs or ''}".strip())


def default_statistic(experiment, sm_total, nuisance="profiled") -> Statistic:
    """The paper-000 default: Eq. (34) with N_meas = 142 for COHERENT-CsI current, otherwise
    Eq. (35) on Asimov data N_meas = SM total with sigma = 0.2 (current) / 0.1 (future), its
    nuisance ``"profiled"`` or ``"fixed"`` (the reading of Table II)."""
    if paper000_statistic(experiment.name, experiment.setup) == "eq34":
        return eq34_statistic(142.0)
    if experiment.setup not in EQ35_SIGMA:
        raise ValueError(f"no default Eq. 35 sigma for setup {experiment.setup!r} of "
                         f"{experiment.name}; pass a statistic")
    return eq35_statistic(float(sm_total), EQ35_SIGMA[experiment.setup], nuisance=nuisance)


# ---------------------------------------------------------------------------
# the model: templates per experiment, flavour groups
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanTerm:
    """One experiment of a combination: templates summed per flavour group and its chi^2."""

    label: str
    experiment: object
    statistic: Statistic
    sm: np.ndarray          # (n_bins,) SM counts summed over beams
    em: np.ndarray          # (n_groups, n_bins) unit-moment EM counts per flavour group
    beam_group: tuple       # group index of each beam


@dataclass(frozen=True)
class ScanModel:
    """Experiments, flavour groups (flavours with identical quadratic form share mu^2),
    oscillation parameters, quadrature, nuisance defaults and optional Gaussian priors
    ``{axis: (mean, sigma)}`` on the shape-nuisance axes (added to chi^2)."""

    terms: tuple
    groups: tuple           # tuple of flavour labels, one representative per group
    osc: moments.OscillationParameters
    quad: QuadratureConfig
    params: dict = field(default_factory=dict)
    priors: dict = field(default_factory=dict)

    def coefficients(self, delta):
        """(..., n_groups, 9) quadratic coefficients at delta_CP = ``delta`` (traceable)."""
        delta = jnp.asarray(delta, dtype=jnp.float64)
        osc = _osc_with_delta(self.osc, delta)
        return jnp.stack([quadratic_coefficients(quadratic_form_matrix(f, osc))
                          for f in self.groups], axis=-2)

    def describe(self):
        return [{"label": t.label, "statistic": t.statistic.description,
                 "n_sm": float(np.sum(t.sm))} for t in self.terms]


def _parse_experiment(spec):
    from ..experiments import build_experiment, get_config

    if isinstance(spec, str):
        name, _, setup = spec.partition(":")
        return build_experiment(get_config(name, setup or "current"))
    if isinstance(spec, tuple):
        return build_experiment(get_config(*spec))
    return spec


def _flavour_groups(flavours, osc):
    """Merge flavours whose quadratic-form matrices coincide (e.g. numu and numubar: paper 000
    Eqs. 17 and 19 agree for all phases) at several probe values of delta_CP."""
    probes = jnp.asarray([0.0, 0.7, 2.1, 4.4])
    mats = {f: np.asarray(quadratic_form_matrix(f, _osc_with_delta(osc, probes)))
            for f in flavours}
    groups, index = [], {}
    for f in flavours:
        for g, rep in enumerate(groups):
            # identity up to rounding: matrix entries are O(1)
            if np.max(np.abs(mats[f] - mats[rep])) < 1e-13:
                index[f] = g
                break
        else:
            index[f] = len(groups)
            groups.append(f)
    return tuple(groups), index


def build_scan_model(experiments, *, statistics=None, quad=QuadratureConfig(),
                     osc=moments.DEFAULT_OSCILLATION, params=None, priors=None,
                     templates=None, nuisance="profiled") -> ScanModel:
    """Templates (paper 000 Eq. 33) of each experiment, computed once, and its chi^2.

    ``experiments``: ``"NAME:SETUP"`` strings, ``(name, setup)`` tuples or built experiments.
    ``statistics``: None (:func:`default_statistic`), a callable ``(experiment, sm_total) ->
    Statistic``, or a dict ``{label: Statistic}`` (label = ``experiment.label``; missing labels
    get the default). ``params``: nuisance values at which the templates are computed (and the
    full-path defaults), keys of :data:`NUISANCE_AXES`. ``priors``: ``{axis: (mean, sigma)}``.
    ``templates``: optional precomputed ``{label: (sm, em)}`` (arrays (n_beams, n_bins), e.g.
    from a previous model's terms) to skip the quadrature; the caller vouches they match.
    ``nuisance``: reading of the default Eq. (35) nuisance, "profiled" or "fixed".
    """
    require_x64()
    from ..rates import binned_templates

    exps = [_parse_experiment(s) for s in experiments]
    if not exps:
        raise ValueError("build_scan_model needs at least one experiment, got none")
    params = dict(params or {})
    bad = [k for k in params if k not in NUISANCE_AXES]
    if bad:
        raise ValueError(f"unknown nuisance parameter(s) {bad}; known: {NUISANCE_AXES}")
    for k, v in params.items():
        _check_nuisance(k, v)
    priors = dict(priors or {})
    for k, (mean, sigma) in priors.items():
        if k not in NUISANCE_AXES or not sigma > 0:
            raise ValueError(f"prior {k}=({mean}, {sigma}): axis must be one of {NUISANCE_AXES} "
                             "and sigma > 0")
    flavours = sorted({f for e in exps for f in beam_flavours(e)})
    groups, index = _flavour_groups(flavours, osc)
    terms = []
    for e in exps:
        if templates is not None and e.label in templates:
            tpl_sm, tpl_em = (np.asarray(a, dtype=np.float64) for a in templates[e.label])
        else:
            tpl = binned_templates(e, _rate_params(e, params), quad)
            tpl_sm, tpl_em = np.asarray(tpl.sm), np.asarray(tpl.em)
        sm = tpl_sm.sum(0)
        beam_group = tuple(index[f] for f in beam_flavours(e))
        em = np.zeros((len(groups), sm.shape[0]))
        for b, g in enumerate(beam_group):
            em[g] += tpl_em[b]
        if isinstance(statistics, dict):
            stat = statistics.get(e.label) or default_statistic(e, sm.sum(), nuisance)
        elif callable(statistics):
            stat = statistics(e, sm.sum())
        else:
            stat = default_statistic(e, sm.sum(), nuisance)
        terms.append(ScanTerm(e.label, e, stat, sm, em, beam_group))
    return ScanModel(tuple(terms), groups, osc, quad, params, priors)


def _rate_params(experiment, values):
    """binned_templates params from nuisance-axis values (kappa_scale scales default kappa)."""
    p = {}
    for k in ("flux_scale", "radius_scale", "sin2_theta_w"):
        if k in values:
            p[k] = values[k]
    if "kappa_scale" in values:
        p["kappa"] = jnp.asarray(experiment.default_params["kappa"]) * values["kappa_scale"]
    return p


def _chi2_from_mu2(model, mu2, sms=None, ems=None):
    """Sum over experiments of chi^2(N), N = S + sum_g mu2_g E_g (Eq. 33); mu2: list per group."""
    total = 0.0
    for i, term in enumerate(model.terms):
        sm = term.sm if sms is None else sms[i]
        em = term.em if ems is None else ems[i]
        bins = [sm[b] + sum(mu2[g] * em[g, b] for g in range(len(model.groups)))
                for b in range(np.shape(term.sm)[0])]
        total = total + term.statistic(jnp.stack(bins, axis=-1))
    return total


def _prior_penalty(model, values):
    pen = 0.0
    for k, (mean, sigma) in model.priors.items():
        if k in values:
            pen = pen + ((values[k] - mean) / sigma) ** 2
    return pen


def _template_chi2_point(model, v):
    """chi^2 at one point (scalars in ``v``) on the template path."""
    coef = model.coefficients(v["delta_cp"])
    mu2 = [mu2_from_coefficients(coef[g], v["lambda1"], v["lambda2"], v["lambda3"], v["xi1"],
                                 v["xi3"]) for g in range(len(model.groups))]
    return _chi2_from_mu2(model, mu2)


def _full_chi2_point(model, v):
    """chi^2 at one point with the quadrature redone at its nuisance values (full path)."""
    from ..rates import binned_templates

    coef = model.coefficients(v["delta_cp"])
    mu2 = [mu2_from_coefficients(coef[g], v["lambda1"], v["lambda2"], v["lambda3"], v["xi1"],
                                 v["xi3"]) for g in range(len(model.groups))]
    nuis = {**model.params, **{k: v[k] for k in NUISANCE_AXES if k in v}}
    sms, ems = [], []
    for term in model.terms:
        tpl = binned_templates(term.experiment, _rate_params(term.experiment, nuis), model.quad)
        sms.append(tpl.sm.sum(0))
        ems.append(jnp.stack([sum(tpl.em[b] for b, gb in enumerate(term.beam_group) if gb == g)
                              if g in term.beam_group else jnp.zeros_like(tpl.sm[0])
                              for g in range(len(model.groups))]))
    return _chi2_from_mu2(model, mu2, sms, ems) + _prior_penalty(model, v)


# ---------------------------------------------------------------------------
# grids, layout, kernels
# ---------------------------------------------------------------------------


def make_grid(path="template", **axes) -> dict:
    """Ordered grid axes ``{name: 1-D float array}`` in canonical order (:data:`TMM_AXES`, then
    :data:`NUISANCE_AXES` for the full path). Missing TMM axes are fixed at 0; a scalar gives
    a one-point axis."""
    allowed = TMM_AXES + (NUISANCE_AXES if path == "full" else ())
    if path not in ("template", "full"):
        raise ValueError(f"path must be 'template' or 'full', got {path!r}")
    unknown = [k for k in axes if k not in allowed]
    if unknown:
        raise ValueError(f"unknown axis {unknown} for the {path} path; allowed: {allowed}")
    grid = {}
    for name in allowed:
        if name in axes:
            v = np.atleast_1d(np.asarray(axes[name], dtype=np.float64))
            if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
                raise ValueError(f"axis {name} must be a non-empty finite 1-D array, got {v!r}")
            if name.startswith("lambda") and np.any(v < 0):
                raise ValueError(f"axis {name}: moduli must be >= 0, got min {v.min()}")
            if name in NUISANCE_AXES:
                _check_nuisance(name, v)
            if np.any(np.diff(v) <= 0):
                i = int(np.argmax(np.diff(v) <= 0))
                raise ValueError(f"axis {name} must be strictly increasing, but value "
                                 f"{float(v[i + 1])!r} follows {float(v[i])!r}; give it as "
                                 "lo:hi:n with lo < hi")
            grid[name] = v
        elif name in TMM_AXES:
            grid[name] = np.zeros(1)
    return grid
