"""Plots of spiking activity and training runs, written as image files (Matplotlib, headless)."""

from spikejax.viz._curves import plot_training_curves as plot_training_curves
from spikejax.viz._membrane import plot_membrane as plot_membrane
from spikejax.viz._raster import plot_raster as plot_raster
from spikejax.viz._rates import plot_firing_rates as plot_firing_rates

__all__ = ["plot_firing_rates", "plot_membrane", "plot_raster", "plot_training_curves"]
