"""Plots of spiking activity, event data, energy and training runs (Matplotlib, headless).

Every ``plot_*`` function returns its Matplotlib ``Figure`` (shown inline in Jupyter) and writes
it to ``path`` when one is given; `animate_events` returns an `EventAnimation`
(an animated GIF, also shown inline). Matplotlib is imported when a plot is drawn, not when this
module is imported.
"""

from spikejax.viz._curves import plot_training_curves as plot_training_curves
from spikejax.viz._energy import plot_energy as plot_energy
from spikejax.viz._events import EventAnimation as EventAnimation
from spikejax.viz._events import animate_events as animate_events
from spikejax.viz._events import event_rgb as event_rgb
from spikejax.viz._events import plot_frames as plot_frames
from spikejax.viz._membrane import plot_membrane as plot_membrane
from spikejax.viz._raster import plot_raster as plot_raster
from spikejax.viz._rates import plot_firing_rates as plot_firing_rates
from spikejax.viz._stream import plot_stream_decision as plot_stream_decision

__all__ = [
    "EventAnimation",
    "animate_events",
    "event_rgb",
    "plot_energy",
    "plot_firing_rates",
    "plot_frames",
    "plot_membrane",
    "plot_raster",
    "plot_stream_decision",
    "plot_training_curves",
]
