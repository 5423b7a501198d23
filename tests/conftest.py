"""Strict JAX for every test: no implicit dtype or rank promotion (rule 10 of the
house style, docs/explanation/house-style.md)."""

import jax

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
