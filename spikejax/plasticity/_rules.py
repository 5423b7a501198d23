r"""Spike-timing-dependent plasticity as optax transformations: pair, triplet, reward-modulated.

Every rule here is one computation, `_window.weight_change`, with different constants. Time is in
steps of ``dt`` (time constants in the same unit). Each spike train ``s`` (pre- or postsynaptic,
``[T, B, ...]``) has exponential traces, updated once per step::

    x_t = exp(-dt/τ) · x_{t-1} + s_t           (x_{-1}: zero, or the state's trace)

A trace read *before* step ``t``'s spike is ``x_t⁻ = exp(-dt/τ) · x_{t-1}``. With presynaptic
traces ``r1`` (``τ_+``), ``r2`` (``τ_x``) and postsynaptic traces ``o1`` (``τ_-``), ``o2``
(``τ_y``), the change of the weight from presynaptic unit ``i`` to postsynaptic neuron ``j``
over a window of ``T`` steps and a batch of ``B`` samples is (Pfister & Gerstner 2006, all-to-all
interactions)::

    Δw_ij = 1/B Σ_b Σ_t g_bt [ F_+(w_ij) r1_i(t) s_j(t) (A2_+ + A3_+ o2_j(t⁻))
                             − F_-(w_ij) s_i(t) o1_j(t⁻) (A2_- + A3_- r2_i(t⁻)) ]

* **pair STDP** (`stdp`): ``A3_± = 0``. One pair, presynaptic spike at ``t_pre``,
  postsynaptic at ``t_post``, ``Δt = t_post - t_pre``: ``Δw = A_+ exp(-Δt/τ_+)`` for ``Δt >= 0``
  and ``Δw = -A_- exp(Δt/τ_-)`` for ``Δt < 0`` (a coincident pair potentiates).
* **triplet** (`triplet_stdp`): as written.
* **reward-modulated** (`reward_stdp`): the pair rule's contributions enter an eligibility
  trace ``e`` with time constant ``τ_e`` that is read, at the end of the window, by the reward
  ``R_b`` of each sample (Izhikevich 2007; Florian 2007): ``g_bt = R_b exp(-(T-1-t) dt/τ_e)``.
  Otherwise ``g_bt = 1``.

The weight dependence: ``"additive"``: ``F_+ = F_- = 1`` (with bounds ``w_min``/``w_max`` given:
``F_+ = [w < w_max]``, ``F_- = [w > w_min]``, hard bounds); ``"multiplicative"`` (soft bounds, van
Rossum et al. 2000): ``F_+ = w_max - w``, ``F_- = w - w_min``.

For a convolution, ``i`` and ``j`` run over every position the kernel is applied at: the sums
are the kernel's correlation of the presynaptic term with the postsynaptic one (the transpose of
the convolution, as for its weight gradient).

**Like a gradient.** A rule emits ``g - Δw`` for each plastic kernel (``-Δw`` alone unless
``keep_gradient``) and passes every other leaf through unchanged, so any optax optimiser after
it applies the change: ``optax.chain(rule, optax.clip(0.1), optax.sgd(η))`` moves each plastic
weight by ``η Δw`` (clipped), while the other parameters follow their gradients.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from spikejax.plasticity._synapses import Activity, Synapse, Synapses, leaf_path
from spikejax.plasticity._window import Constants, Traces, check_constants, weight_change

__all__ = [
    "PlasticityState",
    "Traces",
    "reward_stdp",
    "stdp",
    "triplet_stdp",
]


class PlasticityState(NamedTuple):
    """State of a plasticity rule: the traces at the end of the last window, per kernel path
    (the start of the next one with ``reset=False``), and the number of updates."""

    traces: dict[str, Traces]
    count: Array


def _zero_traces(syn: Synapse, dtype: Any) -> Traces:
    pre, post = jnp.zeros(syn.pre_shape, dtype), jnp.zeros(syn.post_shape, dtype)
    return Traces(pre, pre, post, post)


def _rule(
    fn: str, synapses: Synapses, c: Constants, *, reset: bool, keep_gradient: bool, rewarded: bool
) -> optax.GradientTransformationExtraArgs:
    if not isinstance(synapses, Synapses):
        raise TypeError(
            f"`{fn}`: `synapses` must come from spikejax.plasticity.synapses; got "
            f"{type(synapses).__name__}."
        )
    check_constants(fn, c)

    def init(params: Any) -> PlasticityState:
        dtypes = {leaf_path(p): v.dtype for p, v in jax.tree_util.tree_leaves_with_path(params)}
        missing = sorted(set(synapses) - set(dtypes))
        if missing:
            raise ValueError(
                f"`{fn}`: plastic parameters {missing} must be leaves of `params`; its leaves "
                f"are {sorted(dtypes)}."
            )
        traces = {p: _zero_traces(synapses[p], dtypes[p]) for p in synapses}
        return PlasticityState(traces, jnp.zeros((), jnp.int32))

    def update(updates, state, params=None, *, activity=None, reward=None, **extra):
        del extra  # arguments meant for other transformations of a chain
        if params is None:
            raise ValueError(f"`{fn}`: `params` must be given to update (the current weights).")
        if not isinstance(activity, Activity):
            raise ValueError(
                f"`{fn}`: update needs `activity=` (a spikejax.plasticity.Activity from "
                f"spikejax.plasticity.record); got {type(activity).__name__}."
            )
        if rewarded:
            if reward is None:
                raise ValueError(f"`{fn}`: update needs `reward=` (a scalar or one per sample).")
            reward = jnp.asarray(reward)
        elif reward is not None:
            raise ValueError(f"`{fn}`: `reward` is for reward_stdp; this rule takes none.")
        kernels = {leaf_path(p): v for p, v in jax.tree_util.tree_leaves_with_path(params)}
        changes, traces = {}, {}
        for path in synapses:
            if path not in activity.pre or path not in activity.post:
                raise ValueError(
                    f"`{fn}`: plastic parameter `{path}` has no recorded traces in `activity` "
                    f"(it has {sorted(activity.pre)}); record it with the same synapses."
                )
            syn = synapses[path]
            pre, post = activity.pre[path], activity.post[path]
            # Any batch size for fresh windows; carried traces fix the batch of the example.
            lead = 1 if reset else 0
            if (
                pre.ndim != len(syn.pre_shape) + 1
                or post.ndim != len(syn.post_shape) + 1
                or pre.shape[:2] != post.shape[:2]
                or tuple(pre.shape[1 + lead :]) != syn.pre_shape[lead:]
                or tuple(post.shape[1 + lead :]) != syn.post_shape[lead:]
            ):
                raise ValueError(
                    f"`{fn}`: the activity of `{path}` must be [T, *{syn.pre_shape}] (pre) and "
                    f"[T, *{syn.post_shape}] (post)"
                    + (" (any batch size)" if reset else "")
                    + f"; got {tuple(pre.shape)} and {tuple(post.shape)}."
                )
            kernel = kernels[path]
            if reset:
                zero_pre = jnp.zeros(pre.shape[1:], kernel.dtype)
                zero_post = jnp.zeros(post.shape[1:], kernel.dtype)
                start = Traces(zero_pre, zero_pre, zero_post, zero_post)
            else:
                start = state.traces[path]
            gain = None
            if rewarded:
                B = pre.shape[1]
                if reward.shape not in ((), (B,)):
                    raise ValueError(
                        f"`{fn}`: `reward` must be a scalar or one per sample ({B},); got shape "
                        f"{reward.shape}."
                    )
                gain = jnp.broadcast_to(reward, (B,))
            changes[path], traces[path] = weight_change(syn, c, kernel, pre, post, start, gain)

        def emit(p, g):
            path = leaf_path(p)
            if path not in changes:
                return g
            step = -changes[path].astype(g.dtype)
            return g + step if keep_gradient else step

        new = jax.tree_util.tree_map_with_path(emit, updates)
        # Fresh windows keep the state's shapes fixed (any batch size; one compilation).
        kept = state.traces if reset else traces
        return new, PlasticityState(kept, state.count + 1)

    return optax.GradientTransformationExtraArgs(init, update)


def stdp(
    synapses: Synapses,
    *,
    a_plus: float = 0.01,
    a_minus: float = 0.0105,
    tau_plus: float = 20.0,
    tau_minus: float = 20.0,
    dependence: str = "additive",
    w_min: float | None = None,
    w_max: float | None = None,
    dt: float = 1.0,
    reset: bool = True,
    keep_gradient: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Pair-based STDP with pre- and postsynaptic traces (module docstring: ``A3_± = 0``).

    Args:
        synapses: the plastic kernels (`spikejax.plasticity.synapses`).
        a_plus, a_minus: amplitudes of potentiation (pre before post) and depression.
        tau_plus, tau_minus: time constants of the pre- and postsynaptic traces (in ``dt``).
        dependence: ``"additive"`` or ``"multiplicative"`` (needs ``w_min`` and ``w_max``).
        w_min, w_max: weight bounds (optional for ``"additive"``: hard bounds).
        dt: the length of one time step.
        reset: every update starts its traces from zero (each window is one presentation, as a
            model call starts from rest; the state's traces stay zero); ``False`` continues from
            the traces the previous update left in the state (the windows are consecutive chunks
            of one stream, see ``spikejax.run``; the batch size is then the example's).
        keep_gradient: add ``-Δw`` to the incoming gradient of a plastic kernel instead of
            replacing it.

    Returns:
        An optax transformation; ``update(grads, state, params, *, activity)``.

    Example:
        >>> import jax, jax.numpy as jnp, optax, spikejax as sj
        >>> from flax import nnx
        >>> net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,))
        >>> xs = jnp.ones((4, 2, 64))
        >>> syn = sj.plasticity.synapses(net, xs)
        >>> tx = optax.chain(sj.plasticity.stdp(syn, a_plus=0.01), optax.sgd(1.0))
        >>> params = nnx.state(net, nnx.Param)
        >>> opt_state = tx.init(params)
        >>> _, activity = sj.plasticity.record(net, xs, syn)
        >>> grads = jax.tree.map(jnp.zeros_like, params)
        >>> updates, opt_state = tx.update(grads, opt_state, params, activity=activity)
        >>> nnx.update(net, optax.apply_updates(params, updates))
    """
    c = Constants(
        a_plus, a_minus, 0.0, 0.0, tau_plus, tau_minus, 1.0, 1.0, None, dependence, w_min, w_max, dt
    )
    return _rule("stdp", synapses, c, reset=reset, keep_gradient=keep_gradient, rewarded=False)


def triplet_stdp(
    synapses: Synapses,
    *,
    a2_plus: float = 5e-10,
    a3_plus: float = 6.2e-3,
    a2_minus: float = 7e-3,
    a3_minus: float = 2.3e-4,
    tau_plus: float = 16.8,
    tau_minus: float = 33.7,
    tau_x: float = 101.0,
    tau_y: float = 125.0,
    dependence: str = "additive",
    w_min: float | None = None,
    w_max: float | None = None,
    dt: float = 1.0,
    reset: bool = True,
    keep_gradient: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """The triplet rule of Pfister & Gerstner (2006), all-to-all interactions.

    Defaults: their fit to visual cortex data (all-to-all, Table 4), times in ms with ``dt = 1``
    ms. Arguments as in `stdp`; ``tau_x``, ``tau_y``: the slow pre- and postsynaptic traces
    read by the triplet terms ``A3_-`` and ``A3_+``.
    """
    c = Constants(
        a2_plus,
        a2_minus,
        a3_plus,
        a3_minus,
        tau_plus,
        tau_minus,
        tau_x,
        tau_y,
        None,
        dependence,
        w_min,
        w_max,
        dt,
    )
    return _rule(
        "triplet_stdp", synapses, c, reset=reset, keep_gradient=keep_gradient, rewarded=False
    )


def reward_stdp(
    synapses: Synapses,
    *,
    tau_e: float = 200.0,
    a_plus: float = 0.01,
    a_minus: float = 0.0105,
    tau_plus: float = 20.0,
    tau_minus: float = 20.0,
    dependence: str = "additive",
    w_min: float | None = None,
    w_max: float | None = None,
    dt: float = 1.0,
    reset: bool = True,
    keep_gradient: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Reward-modulated pair STDP: the eligibility trace (time constant ``tau_e``) times the
    reward delivered at the end of the window.

    ``update(grads, state, params, *, activity, reward)`` with ``reward`` a scalar (a global
    neuromodulator) or one value per sample ``[B]``. A zero reward changes nothing. Other
    arguments as in `stdp`.
    """
    c = Constants(
        a_plus,
        a_minus,
        0.0,
        0.0,
        tau_plus,
        tau_minus,
        1.0,
        1.0,
        tau_e,
        dependence,
        w_min,
        w_max,
        dt,
    )
    return _rule(
        "reward_stdp", synapses, c, reset=reset, keep_gradient=keep_gradient, rewarded=True
    )
