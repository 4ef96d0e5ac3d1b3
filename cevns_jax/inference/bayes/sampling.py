"""NUTS sampling of a posterior problem, diagnostics and the result type.

Numpyro's NUTS kernel (dense mass matrix, target acceptance 0.95 by default) with several
chains vectorised on one device: the kernel is initialised with a batch of PRNG keys, which
makes numpyro ``vmap`` it over chains (what ``MCMC(chain_method="vectorized")`` does); the
transitions run in jitted chunks compiled ahead of time, so compile, warmup and sampling are
timed separately and one compilation serves every problem of the same structure (all
numbers are model arguments). Explicit PRNG keys: same key, same samples. Initialisation:
the lowest profiled -2 ln L of 64 points (:func:`~.fits.start_point`, compiled once per
structure) or a given :func:`~.fits.best_fit`, moved inside the prior box and jittered per
chain, given to ``init_to_value``.

Diagnostics with every run: split R-hat and effective sample size
(:mod:`numpyro.diagnostics`) per parameter (phases through cos and sin), the ESS of the 90 %
quantile indicator (tail ESS of the limit), divergences, tree-depth saturation, ESS/s and
ESS per 1000 gradients; :class:`ConvergenceWarning` and ``converged = False`` when R-hat >
1.01, any divergence, ESS below ``min_ess`` (default 100 per chain) or tree depth saturated
in more than 1 % of the transitions.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer import NUTS, init_to_value
from numpyro.infer.util import unconstrain_fn

from ...precision import require_x64
from .fits import start_point
from .model import _make_model, _model_structure, _unit_from_moduli, model_data
from .problem import FLAVOUR_MODULI, TMM_MODULI, PosteriorProblem
from .summaries import _ess_indicator, credible_region_2d, credible_upper_limits


class ConvergenceWarning(UserWarning):
    """NUTS diagnostics failed: R-hat > 1.01, divergences, or too small an ESS."""


@dataclass
class PosteriorResult:
    """NUTS output with diagnostics.

    ``samples``: {name: (num_chains, num_samples)} for every scalar parameter (moduli by
    name, phases in [0, 2 pi), marginalised nuisances by
    :func:`~.measurements.nuisance_key`) and ``chi2`` (-2 ln L); ``diagnostics``:
    per parameter {r_hat, ess, ess_q90, ess_per_s}, plus ``divergences``,
    ``tree_depth_saturated``, ``mean_accept_prob``, ``mean_num_steps``, ``step_size``;
    ``timing``: warmup_s, sampling_s, total_s (compilation included); ``converged`` and
    ``problems``: the diagnostic verdict; ``extra``: sampler fields per transition.
    """

    samples: dict
    parameters: tuple
    nuisances: tuple
    diagnostics: dict
    timing: dict
    converged: bool
    problems: tuple
    settings: dict
    problem: dict
    best_fit: dict
    extra: dict = field(default_factory=dict)

    @property
    def num_chains(self) -> int:
        return int(next(iter(self.samples.values())).shape[0])

    @property
    def num_samples(self) -> int:
        return int(next(iter(self.samples.values())).shape[1])

    def flat(self, name: str) -> np.ndarray:
        """All draws of ``name``, chains concatenated."""
        if name not in self.samples:
            raise KeyError(f"no parameter {name!r}; have {sorted(self.samples)}")
        return np.asarray(self.samples[name]).reshape(-1)

    @property
    def prior_upper(self) -> float:
        return float(self.problem["prior"]["upper"])

    def credible_upper_limits(self, level: float = 0.9) -> dict:
        return credible_upper_limits(self, level)

    def credible_region_2d(self, x: str, y: str, levels=(0.5, 0.9), **kwargs):
        """HPD regions of the draws of parameters ``x`` and ``y``
        (:func:`~.summaries.credible_region_2d`; keyword arguments passed on)."""
        return credible_region_2d(self.flat(x), self.flat(y), levels, **kwargs)

    @property
    def prior_dominated(self) -> dict:
        """{modulus: True} where the prior box, not the data, sets the credible limit: more
        than 0.2 % of the draws in the top 10 % of the box (a likelihood-bounded modulus has
        essentially none there; 4000 draws give ~8 at that level), or a 90 % limit above
        80 % of the box. Typical causes: a direction the data do not constrain, or a
        likelihood that flattens out at large moduli (the signal normalisation of Eq. 34)."""
        upper = self.prior_upper
        lims = credible_upper_limits(self, 0.9)
        moduli = [p for p in self.parameters if p in TMM_MODULI + FLAVOUR_MODULI]
        edge = {p: float(np.mean(self.flat(p) > 0.9 * upper)) for p in moduli}
        return {p: bool(edge[p] > 0.002 or lims[p]["value"] > 0.8 * upper) for p in moduli}


def diagnose(samples: Mapping, circular: Sequence[str] = (), *, wall_s: float | None = None,
             level: float = 0.9) -> dict:
    """Split R-hat, ESS (numpyro.diagnostics) and ESS of the ``level``-quantile indicator per
    parameter; ``samples`` {name: (chains, draws)}. Circular parameters use cos and sin
    (max R-hat, min ESS). ``ess_per_s`` when ``wall_s`` is given."""
    out = {}
    for name, x in samples.items():
        x = np.asarray(x, dtype=float)
        if x.ndim != 2:
            raise ValueError(f"samples[{name!r}] must have shape (chains, draws), got {x.shape}")
        parts = [np.cos(x), np.sin(x)] if name in circular else [x]
        rhat, ess = -np.inf, np.inf
        for p in parts:
            if np.ptp(p) == 0:  # constant (e.g. a fixed value): nothing to diagnose
                continue
            rhat = max(rhat, float(split_gelman_rubin(p)))
            ess = min(ess, float(effective_sample_size(p)))
        if not np.isfinite(rhat):
            rhat = float("nan")
        if not np.isfinite(ess):
            ess = float("nan")
        q = np.quantile(x, level)
        entry = {"r_hat": rhat, "ess": ess,
                 "ess_q90": float("nan") if name in circular else _ess_indicator(x, q)}
        if wall_s:
            entry["ess_per_s"] = ess / wall_s
        out[name] = entry
    return out


def _initial_values(problem: PosteriorProblem, fit, rng: np.random.Generator,
                    jitter: float) -> dict:
    """Constrained init values for one chain: the start point moved into the box and jittered."""
    prior = problem.prior
    upper = float(prior.upper)
    moduli = np.asarray(fit.params["moduli"], dtype=float)
    floor = max(0.01 * upper, 2.0 * prior.lower_cutoff) if prior.moduli == "log_flat" \
        else 0.01 * upper
    moduli = moduli + jitter * 0.05 * upper * np.abs(rng.standard_normal(moduli.shape))
    moduli = np.clip(moduli, floor, 0.98 * upper)
    values = {"moduli_unit": jnp.asarray(_unit_from_moduli(moduli, prior))}
    phases = {}
    for p in problem.phase_names:
        phases[p] = float(fit.params[p]) + jitter * 0.3 * rng.standard_normal()
        values[f"{p}_vec"] = jnp.asarray([math.cos(phases[p]), math.sin(phases[p])])
    k = len(problem.sampled_nuisances)
    if k:
        values["nuisance_z"] = jnp.asarray(jitter * 0.3 * rng.standard_normal(k))
    return values


def _as_key(key):
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    if isinstance(key, jax.Array):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            if key.shape != ():
                raise ValueError(f"key must be a single PRNG key, got shape {key.shape}")
            return key
        if key.shape == (2,) and key.dtype == jnp.uint32:  # legacy PRNGKey
            return jax.random.wrap_key_data(key)
    raise TypeError(f"key must be a jax PRNG key or an int seed, got {key!r}")


#: Compiled samplers keyed by model structure and sampler settings (see sample_posterior).
_COMPILED: dict = {}


def clear_compiled_cache() -> None:
    """Forget the compiled samplers kept by :func:`sample_posterior`."""
    _COMPILED.clear()


class _Sampler:
    """Ahead-of-time compiled pieces of one NUTS configuration (all take the data pytree)."""

    def __init__(self, structure, settings, chain_values, data, keys):
        num_chains, num_warmup, num_samples, chunk_len, dense_mass, target, depth = settings
        model = _make_model(structure)
        kernel = NUTS(model, init_strategy=init_to_value(values=jax.tree.map(
            lambda x: x[0], chain_values)), dense_mass=dense_mass, target_accept_prob=target,
            max_tree_depth=depth)
        t0 = time.perf_counter()
        self.unconstrain = jax.jit(jax.vmap(
            lambda v, d: unconstrain_fn(model, (d,), {}, v), in_axes=(0, None))).lower(
            chain_values, data).compile()
        params = self.unconstrain(chain_values, data)
        # kernel.init is traced once (numpyro vmaps its sample function over the batch of
        # keys, which is how MCMC(chain_method="vectorized") runs chains); AOT compilation
        # guarantees it is never traced again.
        self.init = jax.jit(lambda k, p, d: kernel.init(k, num_warmup, p, model_args=(d,),
                                                        model_kwargs={})).lower(
            keys, params, data).compile()
        state = self.init(keys, params, data)

        def run_chunk(s, d):
            def body(carry, _):
                new = kernel.sample(carry, (d,), {})
                return new, (new.z, new.diverging, new.num_steps, new.accept_prob,
                             new.potential_energy)
            return jax.lax.scan(body, s, None, length=chunk_len)

        self.chunk = jax.jit(run_chunk).lower(state, data).compile()

        def post(z, d):
            return kernel.postprocess_fn((d,), {})(z)

        z_shape = jax.tree.map(lambda x: jax.ShapeDtypeStruct(
            (num_chains, num_samples) + x.shape[1:], x.dtype), params)
        self.post = jax.jit(jax.vmap(jax.vmap(post, in_axes=(0, None)), in_axes=(0, None))
                            ).lower(z_shape, data).compile()
        self.compile_s = time.perf_counter() - t0


def sample_posterior(problem: PosteriorProblem, key, *, num_samples: int = 1000,
                     num_warmup: int = 1000, num_chains: int = 4, target_accept: float = 0.95,
                     dense_mass: bool = True, max_tree_depth: int = 10, jitter: float = 1.0,
                     min_ess: float | None = None, max_rhat: float = 1.01,
                     include_likelihood: bool = True, fit=None,
                     warn: bool = True) -> PosteriorResult:
    """NUTS posterior of ``problem`` with ``num_chains`` vectorised chains on one device.

    ``key``: a JAX PRNG key (or an int seed); it is split into the init-jitter key and the
    sampler key, so the same key gives the same samples. ``fit``: where to start, a
    :func:`~.fits.best_fit` or :func:`~.fits.start_point` result (default: the latter, which
    needs no compilation for a problem of a known structure). Chain 0 starts there (moved inside the
    prior box), the others are jittered around it (``jitter`` scales the perturbation; 0:
    all at the start); the values are mapped to numpyro's unconstrained space and used as
    the kernel's ``init_to_value`` / initial parameters.

    The NUTS kernel is numpyro's; the chains are vectorised with ``vmap`` on one device (as
    ``MCMC(chain_method="vectorized")``), and the transitions run in jitted chunks of
    gcd(num_warmup, num_samples) steps compiled ahead of time. All numbers of the problem
    (templates, data, prior bounds and kind, oscillation parameters) are arguments of the
    compiled code, so problems with the same structure (model, statistics, experiments'
    shapes, parameterisation) and sampler settings reuse one compilation
    (:func:`clear_compiled_cache` forgets them); ``timing`` reports compile, warmup and
    sampling times separately.

    Diagnostics are computed on every run; a :class:`ConvergenceWarning` is issued (unless
    ``warn=False``) and ``converged`` is False when R-hat > ``max_rhat``, any divergence
    occurs, an ESS < ``min_ess`` (default 100 per chain) or the tree depth saturates in
    more than 1 % of the transitions.
    """
    require_x64()
    for name, value in (("num_samples", num_samples), ("num_warmup", num_warmup),
                        ("num_chains", num_chains), ("max_tree_depth", max_tree_depth)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0.0 < target_accept < 1.0:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept!r}")
    if not jitter >= 0:
        raise ValueError(f"jitter must be >= 0, got {jitter!r}")
    key = _as_key(key)
    init_key, run_key = jax.random.split(key)
    min_ess = 100.0 * num_chains if min_ess is None else float(min_ess)

    t0 = time.perf_counter()
    if fit is None:
        fit = start_point(problem)
    t_fit = time.perf_counter() - t0
    structure = _model_structure(problem, include_likelihood)
    data = model_data(problem)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(init_key)).ravel())
    chain_values = [_initial_values(problem, fit, rng, jitter if c > 0 else 0.0)
                    for c in range(num_chains)]
    chain_values = jax.tree.map(lambda *xs: jnp.stack(xs), *chain_values)
    keys = jax.random.split(run_key, num_chains)
    chunk_len = math.gcd(int(num_warmup), int(num_samples))
    settings = (int(num_chains), int(num_warmup), int(num_samples), chunk_len, bool(dense_mass),
                float(target_accept), int(max_tree_depth))
    cache_key = (structure, settings)
    cached = cache_key in _COMPILED
    if not cached:
        _COMPILED[cache_key] = _Sampler(structure, settings, chain_values, data, keys)
    sampler = _COMPILED[cache_key]
    t1 = time.perf_counter()
    state = sampler.init(keys, sampler.unconstrain(chain_values, data), data)
    for _ in range(num_warmup // chunk_len):
        state, _ = sampler.chunk(state, data)
    jax.block_until_ready(state)
    t2 = time.perf_counter()
    collected = []
    for _ in range(num_samples // chunk_len):
        state, out = sampler.chunk(state, data)
        collected.append(out)
    jax.block_until_ready(collected)
    t3 = time.perf_counter()
    # (draws, chains, ...) -> (chains, draws, ...)
    z, diverging, num_steps, accept_prob, potential = jax.tree.map(
        lambda *parts: jnp.swapaxes(jnp.concatenate(parts, axis=0), 0, 1), *collected)
    raw = {k: np.asarray(v) for k, v in sampler.post(z, data).items()}
    t4 = time.perf_counter()
    fields = {"diverging": np.asarray(diverging), "num_steps": np.asarray(num_steps),
              "accept_prob": np.asarray(accept_prob), "potential_energy": np.asarray(potential)}
    step_size = np.asarray(state.adapt_state.step_size).reshape(num_chains)

    samples = {}
    for i, n in enumerate(problem.moduli_names):
        samples[n] = raw["moduli"][..., i]
    for p in problem.phase_names:
        samples[p] = raw[p]
    for key_name in problem.nuisance_names:
        samples[key_name] = raw[key_name]
    samples["chi2"] = raw["chi2"]

    sampling_s = t3 - t2
    diag = diagnose({k: v for k, v in samples.items() if k != "chi2"},
                    circular=problem.phase_names, wall_s=sampling_s)
    divergences = int(np.sum(fields["diverging"]))
    depth_limit = 2**max_tree_depth - 1
    saturated = float(np.mean(fields["num_steps"] >= depth_limit))
    n_grad = int(np.sum(fields["num_steps"]))
    min_ess_value = float(np.nanmin([d["ess"] for d in diag.values()]))
    diagnostics = {
        "parameters": diag,
        "divergences": divergences,
        "divergences_per_chain": np.sum(fields["diverging"], axis=1).astype(int).tolist(),
        "tree_depth_saturated": saturated,
        "mean_accept_prob": float(np.mean(fields["accept_prob"])),
        "mean_num_steps": float(np.mean(fields["num_steps"])),
        "step_size_per_chain": step_size.tolist(),
        "num_gradient_evaluations": n_grad,
        "max_r_hat": float(np.nanmax([d["r_hat"] for d in diag.values()])),
        "min_ess": min_ess_value,
        "min_ess_per_s": min_ess_value / sampling_s,
        "min_ess_per_1000_gradients": 1000.0 * min_ess_value / max(n_grad, 1),
        "edge_mass": edge_mass(samples, problem),
        "thresholds": {"max_r_hat": max_rhat, "min_ess": min_ess, "max_divergences": 0,
                       "max_tree_depth_saturated": 0.01},
    }
    problems = []
    bad_rhat = {k: round(d["r_hat"], 4) for k, d in diag.items() if d["r_hat"] > max_rhat}
    if bad_rhat:
        problems.append(f"R-hat > {max_rhat}: {bad_rhat}")
    if divergences:
        problems.append(f"{divergences} divergent transitions (per chain "
                        f"{diagnostics['divergences_per_chain']})")
    low_ess = {k: round(d["ess"], 1) for k, d in diag.items() if d["ess"] < min_ess}
    if low_ess:
        problems.append(f"ESS < {min_ess:g}: {low_ess}")
    if saturated > 0.01:
        problems.append(f"maximum tree depth {max_tree_depth} reached in "
                        f"{100 * saturated:.1f} % of transitions")
    converged = not problems
    if problems and warn:
        warnings.warn(f"NUTS diagnostics failed for {problem.label}: " + "; ".join(problems),
                      ConvergenceWarning, stacklevel=2)
    best = {n: float(v) for n, v in zip(problem.moduli_names, np.asarray(fit.params["moduli"]))}
    best.update({p: float(fit.params[p]) for p in problem.phase_names})
    best["chi2_min"] = float(fit.value)
    best["valid"] = bool(fit.valid)
    best["status"] = str(fit.status)
    settings = {"num_samples": num_samples, "num_warmup": num_warmup, "num_chains": num_chains,
                "chain_method": "vectorized", "target_accept": target_accept,
                "dense_mass": dense_mass, "max_tree_depth": max_tree_depth, "jitter": jitter,
                "key_data": np.asarray(jax.random.key_data(key)).ravel().tolist(),
                "include_likelihood": include_likelihood, "chunk_length": chunk_len,
                "jax": jax.__version__, "numpyro": numpyro.__version__,
                "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()]}
    timing = {"best_fit_s": t_fit, "compile_s": 0.0 if cached else sampler.compile_s,
              "compile_cached": cached, "warmup_s": t2 - t1, "sampling_s": sampling_s,
              "postprocess_s": t4 - t3, "total_s": time.perf_counter() - t0}
    return PosteriorResult(samples, problem.parameter_names, problem.nuisance_names, diagnostics,
                           timing, converged, tuple(problems), settings, problem.to_json(),
                           best, fields)


def edge_mass(samples: Mapping, problem: PosteriorProblem, fraction: float = 0.1) -> dict:
    """Posterior fraction of each modulus in the top ``fraction`` of the prior box.

    A likelihood-bounded parameter has ~0 there; a value comparable to ``fraction`` (the
    prior's own share for a flat prior) means the box, not the data, sets the limit.
    """
    upper = float(problem.prior.upper)
    return {n: float(np.mean(np.asarray(samples[n]) > (1.0 - fraction) * upper))
            for n in problem.moduli_names if n in samples}
