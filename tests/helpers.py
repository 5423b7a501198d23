"""Registries shared by the contract tests: one or more configured instances of every neuron."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import spikejax as sj
from spikejax import neurons as nr
from spikejax.surrogate import ATan, FastSigmoid, Sigmoid, SmoothTwin, Triangle

N = 5  # neurons per layer in the registry


def _per_neuron(low, high, seed):
    return jnp.asarray(np.random.default_rng(seed).uniform(low, high, N), jnp.float32)


def neuron_registry() -> dict[str, sj.neurons.AbstractNeuron]:
    """Every neuron class, with per-neuron parameters and each reset mode at least once."""
    w_rec = jnp.asarray(np.random.default_rng(7).normal(0.0, 0.4, (N, N)), jnp.float32)
    return {
        "if": nr.IF(threshold=_per_neuron(0.6, 1.2, 0)),
        "if_zero": nr.IF(reset="zero", surrogate=Sigmoid()),
        "lif": nr.LIF(beta=_per_neuron(0.5, 0.95, 1), threshold=0.8),
        "lif_decay_input_zero": nr.LIF(beta=0.5, reset="zero", decay_input=True),
        "lif_no_reset": nr.LIF(beta=0.9, reset="none", surrogate=FastSigmoid(slope=5.0)),
        "cuba_lif": nr.CubaLIF(alpha=_per_neuron(0.3, 0.9, 2), beta=0.85, threshold=0.7),
        "alif": nr.ALIF(beta=0.9, rho=_per_neuron(0.8, 0.99, 3), gamma=0.5),
        "plif": nr.PLIF(w=_per_neuron(-1.0, 1.0, 4)),
        "plif_no_decay_input": nr.PLIF(w=0.0, decay_input=False, reset="subtract"),
        "li": nr.LI(beta=_per_neuron(0.7, 0.99, 5)),
        "cuba_li": nr.CubaLI(alpha=0.6, beta=_per_neuron(0.7, 0.95, 9)),
        "recurrent_lif": nr.Recurrent(nr.LIF(beta=0.8, surrogate=Triangle()), w_rec),
        # b per neuron around the saddle-node bifurcation: some neurons fire at rest, some not
        "izhikevich": nr.Izhikevich(a=0.1, b=_per_neuron(0.22, 0.32, 6), c=-65.0, d=0.5, dt=1.0),
        "refractory_lif": nr.RefractoryLIF(beta=_per_neuron(0.6, 0.95, 8), threshold=0.8),
        "refractory_lif_subtract": nr.RefractoryLIF(
            beta=0.9, refractory=1, reset="subtract", surrogate=Sigmoid()
        ),
    }


def smooth_twin(neuron):
    """The same neuron with Θ replaced by its surrogate's smooth step and the reset not detached, so
    that the whole update is differentiable and finite differences can check autodiff."""
    fields = {f.name for f in dataclasses.fields(neuron)}
    changes = {}
    if "surrogate" in fields:
        changes["surrogate"] = SmoothTwin(neuron.surrogate)
    if "detach_reset" in fields:
        changes["detach_reset"] = False
    if "neuron" in fields:
        changes["neuron"] = smooth_twin(neuron.neuron)
    return dataclasses.replace(neuron, **changes)


def cast_leaves(tree, dtype):
    """Every floating leaf cast to ``dtype``; integer leaves (counters) keep theirs."""

    def cast(x):
        x = jnp.asarray(x)
        return x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x

    return jax.tree_util.tree_map(cast, tree)


def floating_leaves(tree):
    """The leaves of ``tree`` with a floating dtype (integer state such as a refractory count has
    no gradient)."""
    return [x for x in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]


def random_inputs(T, batch, dtype=jnp.float32, seed=0):
    """Currents that make every registry neuron fire sometimes and rest sometimes."""
    x = np.random.default_rng(seed).uniform(-0.5, 1.2, (T, *batch, N))
    return jnp.asarray(x, dtype)


ATAN = ATan()


def flat_leaves(tree, prefix=""):
    """A nested dict of arrays as ``{"/a/b": ndarray}`` (for leaf-by-leaf comparisons)."""
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(flat_leaves(value, f"{prefix}/{key}"))
        return out
    return {prefix: np.asarray(tree)}


def metric_records(run_dir):
    """A run's metric records without their wall-clock times (which differ between runs)."""
    from spikejax.train import read_metrics

    return [{k: v for k, v in r.items() if k != "wall_time"} for r in read_metrics(run_dir)]
