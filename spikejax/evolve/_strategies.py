"""The evolution strategies, from evosax (the ``evolve`` extra, imported when first used).

* ``"open_es"``: OpenAI-ES (Salimans et al. 2017): isotropic Gaussian noise of fixed ``sigma``,
  antithetic pairs, centred-rank fitness, Adam on the mean (learning rate ``lr``).
* ``"snes"``: separable natural evolution strategy (Schaul et al. 2011): one adaptive standard
  deviation per gene, starting at ``sigma``.
* ``"cma_es"``: CMA-ES (Hansen 2016): full covariance adaptation, step size starting at
  ``sigma`` (``D × D`` covariance: for genomes up to a few thousand numbers).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

__all__ = ["STRATEGIES", "build"]

STRATEGIES = ("open_es", "snes", "cma_es")


def _evosax() -> Any:
    try:
        import evosax.algorithms as algorithms
    except ImportError as error:  # pragma: no cover - the extra is part of the test setup
        raise ImportError(
            "spikejax.evolve needs evosax: pip install 'spikejax[evolve]'."
        ) from error
    return algorithms


def build(name: str, population: int, size: int, *, sigma: float, lr: float) -> tuple[Any, Any]:
    """``(algorithm, params)`` of the evosax strategy ``name`` for genomes of ``size`` numbers."""
    import optax

    algorithms = _evosax()
    template = jnp.zeros((size,), jnp.float32)
    if name == "open_es":
        algo = algorithms.Open_ES(
            population,
            template,
            optimizer=optax.adam(lr),
            std_schedule=optax.constant_schedule(sigma),
        )
        return algo, algo.default_params
    if name == "snes":
        algo = algorithms.SNES(population, template, optimizer=optax.sgd(lr))
    else:
        algo = algorithms.CMA_ES(population, template)
    params = algo.default_params.replace(std_init=jnp.asarray(sigma, jnp.float32))
    return algo, params
