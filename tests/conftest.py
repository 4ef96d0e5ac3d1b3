"""Test configuration: float64 on, CPU platform forced (CI has no GPU)."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")   # tests draw figures without a display; the library never sets a backend
