"""Local plasticity: STDP (pair, triplet, reward-modulated) and homeostasis as optax
transformations that read the spike trains a forward pass records.

The three steps::

    syn = sj.plasticity.synapses(model, xs)               # which kernels, which neurons (graph)
    tx = optax.chain(sj.plasticity.stdp(syn), optax.sgd(1.0), sj.plasticity.clip_weights(syn,
                     w_min=0.0, w_max=1.0))
    out, activity = sj.plasticity.record(model, xs, syn)  # inside the jitted step
    updates, opt_state = tx.update(grads, opt_state, params, activity=activity)

A rule emits ``-Δw`` like a gradient (see `spikejax.plasticity._rules`), so gradient
transformations before or after it (clipping, Adam, schedules) compose as usual, and parameters
that are not plastic keep following their gradients in the same step.
"""

from spikejax.plasticity._homeostasis import adaptive_threshold as adaptive_threshold
from spikejax.plasticity._homeostasis import clip_weights as clip_weights
from spikejax.plasticity._homeostasis import normalize_weights as normalize_weights
from spikejax.plasticity._rules import PlasticityState as PlasticityState
from spikejax.plasticity._rules import Traces as Traces
from spikejax.plasticity._rules import reward_stdp as reward_stdp
from spikejax.plasticity._rules import stdp as stdp
from spikejax.plasticity._rules import triplet_stdp as triplet_stdp
from spikejax.plasticity._synapses import Activity as Activity
from spikejax.plasticity._synapses import Synapse as Synapse
from spikejax.plasticity._synapses import Synapses as Synapses
from spikejax.plasticity._synapses import activity as activity
from spikejax.plasticity._synapses import leaf_path as leaf_path
from spikejax.plasticity._synapses import record as record
from spikejax.plasticity._synapses import synapses as synapses

__all__ = [
    "Activity",
    "PlasticityState",
    "Synapse",
    "Synapses",
    "Traces",
    "activity",
    "adaptive_threshold",
    "clip_weights",
    "leaf_path",
    "normalize_weights",
    "record",
    "reward_stdp",
    "stdp",
    "synapses",
    "triplet_stdp",
]
