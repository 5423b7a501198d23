"""Doctests (library docstrings, README.md) run under the same strict JAX settings as the tests."""

import jax

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
