"""Strict JAX for every test: no implicit dtype or rank promotion (STYLE.md rule 10)."""

import jax

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
