"""The energy plot lives with the other plots: `spikejax.viz.plot_energy`, also reachable
as ``spikejax.energy.plot_energy``."""

from spikejax.viz import plot_energy as plot_energy

__all__ = ["plot_energy"]
