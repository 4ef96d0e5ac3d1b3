"""cevns_jax: differentiable CEvNS rates and neutrino magnetic-moment fits in JAX."""

__version__ = "0.1.0"
