"""Test configuration: float64 on, CPU platform forced (CI has no GPU), and one persistent XLA
compilation cache shared by every process of the run (pytest-xdist workers, notebook kernels,
CLI subprocesses): a computation compiled once is loaded, not recompiled, by the others."""

import os
import pathlib
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      str(pathlib.Path(tempfile.gettempdir()) / "cevns_jax_test_xla_cache"))
# cache every compilation that takes longer than this (the default, 1 s, misses most of ours)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")   # tests draw figures without a display; the library never sets a backend
