"""Saving and loading posterior results (format described in docs/bayes.md).

A result directory holds

* ``posterior_samples.npz``: one float64 array of shape (num_chains, num_samples) per
  scalar parameter, named as in :attr:`PosteriorResult.samples` (``Lambda1`` ...,
  ``mu_e`` ..., ``xi1``, ``xi3``, ``delta_cp`` in [0, 2 pi) rad, marginalised nuisances by
  :func:`~.measurements.nuisance_key`, ``chi2``), plus per-transition sampler fields
  ``sampler__diverging`` (bool), ``sampler__num_steps``, ``sampler__accept_prob``,
  ``sampler__potential_energy``.
* ``posterior.json``: ``format`` ("cevns_jax.posterior/1"), ``created`` (UTC ISO time),
  ``problem`` (model, measurements as :func:`~.measurements.describe` writes them, prior,
  oscillation parameters, Asimov truth, one-parameter frequentist limits), ``settings``
  (sampler settings, PRNG key data, jax/numpyro versions, backend), ``machine`` (cpu count,
  platform), ``timing``, ``diagnostics`` (per parameter r_hat / ess / ess_q90 / ess_per_s,
  divergences, tree-depth saturation, ...), ``converged``, ``problems``, ``best_fit``,
  ``credible_limits`` ({name: {value, mcse}} at 90 %), ``frequentist`` ({label: {name:
  value}}), ``parameters`` and ``nuisances``. Non-finite numbers are written as null.
* optional figures (PNG), e.g. ``corner.png``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path

import numpy as np

from .problem import _jsonable
from .sampling import PosteriorResult
from .summaries import credible_upper_limits

FORMAT = "cevns_jax.posterior/1"
SAMPLES_FILE = "posterior_samples.npz"
META_FILE = "posterior.json"
_EXTRA_PREFIX = "sampler__"


def save_result(result: PosteriorResult, directory, *, frequentist=None, figures=None,
                level: float = 0.9) -> list:
    """Write ``result`` to ``directory`` (created if needed); returns the written paths.

    ``frequentist``: {label: {name: limit}} stored alongside; ``figures``: {file name:
    matplotlib Figure} saved as PNG (150 dpi).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.asarray(v, dtype=float) for name, v in result.samples.items()}
    for name, v in result.extra.items():
        arrays[_EXTRA_PREFIX + name] = np.asarray(v)
    bad = [n for n in arrays if not n.replace("_", "").replace("-", "").isalnum()]
    if bad:
        raise ValueError(f"parameter names {bad} cannot be stored as npz keys")
    samples_path = directory / SAMPLES_FILE
    np.savez_compressed(samples_path, **arrays)
    meta = {
        "format": FORMAT,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "problem": result.problem,
        "settings": result.settings,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor(), "python": platform.python_version()},
        "timing": result.timing,
        "diagnostics": result.diagnostics,
        "converged": result.converged,
        "problems": list(result.problems),
        "best_fit": result.best_fit,
        "credible_limits": credible_upper_limits(result, level),
        "credible_level": level,
        "frequentist": frequentist or {},
        "parameters": list(result.parameters),
        "nuisances": list(result.nuisances),
    }
    meta_path = directory / META_FILE
    with open(meta_path, "w") as handle:
        json.dump(_jsonable(meta), handle, indent=2)
    paths = [samples_path, meta_path]
    for name, fig in (figures or {}).items():
        path = directory / name
        fig.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    return paths


def _nan(obj):
    """JSON null -> NaN inside (nested) diagnostics."""
    if obj is None:
        return float("nan")
    if isinstance(obj, dict):
        return {k: _nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan(v) for v in obj]
    return obj


def load_result(directory) -> PosteriorResult:
    """Read a directory written by :func:`save_result` back into a :class:`PosteriorResult`.

    The frequentist limits are in ``result.settings["frequentist"]`` after loading.
    """
    directory = Path(directory)
    with open(directory / META_FILE) as handle:
        meta = json.load(handle)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{directory / META_FILE}: unknown format {meta.get('format')!r}, "
                         f"expected {FORMAT!r}")
    with np.load(directory / SAMPLES_FILE) as data:
        arrays = {k: np.asarray(data[k]) for k in data.files}
    samples = {k: v for k, v in arrays.items() if not k.startswith(_EXTRA_PREFIX)}
    extra = {k[len(_EXTRA_PREFIX):]: v for k, v in arrays.items() if k.startswith(_EXTRA_PREFIX)}
    settings = dict(meta["settings"])
    settings["frequentist"] = meta.get("frequentist", {})
    diagnostics = dict(meta["diagnostics"])
    diagnostics["parameters"] = _nan(diagnostics.get("parameters", {}))
    return PosteriorResult(samples, tuple(meta["parameters"]), tuple(meta["nuisances"]),
                           diagnostics, meta["timing"], bool(meta["converged"]),
                           tuple(meta["problems"]), settings, meta["problem"],
                           meta["best_fit"], extra)
