"""Float64 guard for entry points.

The library never flips ``jax_enable_x64`` itself: magnetic-moment limits sit at
1e-11 mu_B (mu^2 ~ 1e-22) and float32 silently loses them. Entry points call
:func:`require_x64`, which raises a clear error instead.
"""

import jax


class PrecisionError(RuntimeError):
    """Raised when JAX is not configured for float64."""


def require_x64() -> None:
    """Raise :class:`PrecisionError` unless ``jax_enable_x64`` is on."""
    if not jax.config.read("jax_enable_x64"):
        raise PrecisionError(
            "cevns_jax needs float64: JAX is running with jax_enable_x64=False. "
            "Call jax.config.update('jax_enable_x64', True) (or set JAX_ENABLE_X64=1) "
            "before building experiments or computing rates."
        )
