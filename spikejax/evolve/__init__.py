"""Evolutionary training: evolve any spikejax model's parameters (all, a chosen subset such as
the thresholds, and optionally a binary connectivity mask) with OpenES, SNES or CMA-ES from
evosax (the ``evolve`` extra, imported when a strategy is first built). The population is
evaluated with ``vmap`` inside one jit and sharded over the devices when there are several."""

from spikejax.evolve._evolution import Evolution as Evolution
from spikejax.evolve._evolution import EvolutionState as EvolutionState
from spikejax.evolve._genome import Genome as Genome
from spikejax.evolve._genome import select as select
from spikejax.evolve._strategies import STRATEGIES as STRATEGIES

__all__ = ["STRATEGIES", "Evolution", "EvolutionState", "Genome", "select"]
