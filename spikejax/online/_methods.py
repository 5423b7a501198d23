r"""Online gradients: OTTT and e-prop, one time step at a time, memory independent of ``T``.

Both methods minimise a loss that is a mean of per-step terms,

$$
L = \frac{1}{T} \sum_{t=1}^{T} \ell(O_t, y),
$$

where ``O_t`` is the model's output at step ``t`` and ``ℓ`` the per-step loss (default: the
cross-entropy averaged over the batch, i.e. `spikejax.losses.tet` with ``λ = 0``). They scan
over time carrying the neuron states (the streaming state of `spikejax.init_state`), one
trace per layer and the summed gradient; nothing of earlier steps is stored, so memory does not
grow with ``T``. At each step the states entering the step are held fixed
(``stop_gradient``), and reverse mode through that one step gives the *instantaneous* signals

$$
a^l_t = \partial \ell_t / \partial I^l_t, \qquad
c^n_t = \partial \ell_t / \partial h^n_{t-1},
$$

for every linear layer's output current ``I^l_t = x^l_t K^l + b^l`` and every neuron layer's
state ``h^n_{t-1}`` entering the step (backpropagated through the layers above at the same step).
What differs is how a linear layer's kernel ``K^l`` is credited with the effect of its past
inputs:

* **OTTT** (Xiao et al., *Online Training Through Time for Spiking Neural Networks*, NeurIPS
  2022): a presynaptic trace $\hat x^l_t = \lambda \hat x^l_{t-1} + x^l_t$ with the decay
  ``λ`` of the neuron layer the linear layer feeds (0 for a linear layer feeding no neuron), and
  $\Delta K^l = \sum_t (\hat x^l_t)^\top a^l_t$. The bias sees the trace of a constant 1.
  Memory per layer: ``[B, in]``.
* **e-prop** (Bellec et al., *A solution to the learning dilemma for recurrent networks of
  spiking neurons*, Nat. Commun. 11, 3625, 2020): eligibility vectors
  $\epsilon_t = \partial h_t / \partial K$ of the neuron layer ``n`` fed by ``K``, computed
  forward from the neuron's own step Jacobians,
  $\epsilon_t = J^{hh}_t \epsilon_{t-1} + J^{hI}_t \otimes x_t$ (including the reset path
  exactly as the neuron's autodiff sees it, e.g. none when ``detach_reset``), and
  $\Delta K = \sum_t \big(x_t^\top a_t + \sum_s c_{t,s} \cdot \epsilon_{t-1,s}\big)$.
  Memory per layer: ``[S, B, out, in + 1]`` for ``S`` state variables.

  **Readout filter κ.** When the chain ends in a leaky readout (``LI``: ``y_t = κ y_{t-1} +
  c I_t``, one leak ``κ = β`` for all its neurons), every layer feeding a *hidden* neuron layer
  low-pass filters its eligibility traces with ``κ`` before they meet the learning signal:

  $$
  e_t = \frac{\partial z_t}{\partial h_{t-1}} \epsilon_{t-1}
        + \frac{\partial z_t}{\partial I_t} \otimes x_t, \qquad
  \bar e_t = \kappa\, \bar e_{t-1} + e_t, \qquad
  \Delta K = \sum_t L_t \cdot \bar e_t, \quad L_t = \partial \ell_t / \partial z_t,
  $$

  where ``z_t`` is the hidden layer's output (its spikes) and ``L_t`` the instantaneous
  learning signal backpropagated from step ``t``'s loss through the layers above at step ``t``.
  Because the readout integrates ``z`` linearly,
  $\partial L / \partial z_t = \sum_{t' \ge t} \kappa^{t'-t} L_{t'}$, and the filtered sum
  equals it exactly. Memory per layer: one more ``[B, out, in + 1]``. The readout's own kernel
  keeps its exact eligibility ``ε`` (the readout is its neuron layer).

**When e-prop equals BPTT.** For one layer of element-wise neurons between two ``Linear`` layers
(input → Linear → Spiking → Linear readout) and a loss that is a sum of per-step terms, the
eligibility vector is the exact total derivative of the layer's state, so e-prop's kernel and bias
gradients equal BPTT's (up to float rounding): with a memoryless readout directly, and with a
leaky ``LI`` readout through the filter ``κ`` above. With more spiking layers, e-prop drops the
credit that flows through the *later* layers' states to later steps (its documented
approximation), and so does OTTT, which also ignores the neuron's reset, the surrogate's history
and the readout's memory.

Neuron parameters (``β``, ``θ`` when trainable) receive the instantaneous gradient
($\partial \ell_t / \partial \theta$ through step ``t`` only) under both methods.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jaxtyping import Array, Float, Int

from spikejax._stream import init_state
from spikejax.online._chain import Chain, chain_of, modules_by_path
from spikejax.online._traces import eligibility, layer_leak, readout_filter

__all__ = ["METHODS", "OnlineGradient", "OnlineResult", "ce_step"]

METHODS = ("ottt", "eprop")


class OnlineResult(NamedTuple):
    """What `OnlineGradient.value_and_grad` returns.

    Attributes:
        loss: ``L``, the mean of the per-step losses.
        outputs: the model's outputs of every step ``[T, B, ...]``.
        grads: the gradient of ``L`` by the method, with the structure of
            ``nnx.state(model, nnx.Param)`` (as ``nnx.grad`` returns it).
        rates: the mean spikes per neuron and step of every spiking neuron layer, by path.
    """

    loss: Array
    outputs: Array
    grads: nnx.State
    rates: dict[str, Array]


def ce_step(outputs: Float[Array, "batch classes"], labels: Int[Array, " batch"]) -> Array:
    """Default per-step loss: the batch mean of the cross-entropy of one step's outputs."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(outputs, labels))


def _get(tree: dict, path: str) -> Any:
    for key in path.split("."):
        tree = tree[int(key)] if key not in tree and key.isdigit() else tree[key]
    return tree


def _add(tree: dict, path: str, name: str, value: Array) -> None:
    node = _get(tree, path)
    node[name] = node[name] + value


def _set(tree: dict, path: str, name: str, value: Array) -> None:
    node = _get(tree, path)
    node[name] = value.reshape(node[name].shape).astype(node[name].dtype)


class OnlineGradient:
    """The loss, outputs and parameter gradients of a chain model by OTTT or e-prop.

    Built once per model (it traces the model's graph to check that the method supports it);
    `value_and_grad` is a pure function that may be jitted.

    Args:
        model: a chain of ``nnx.Linear`` and ``Spiking`` layers (see
            `spikejax.online._chain`); anything else is refused naming the layer.
        example: a time-major input ``[T, B, *features]`` of the shape it will run on (only its
            shape and dtype are used).
        method: ``"ottt"`` or ``"eprop"``.
        decay: OTTT only: the trace decay ``λ`` of every layer as one number in ``[0, 1]``, or
            ``None`` to take each neuron layer's own leak (``β`` of ``LIF``/``LI``, 1 for ``IF``)
            as it is when the plan is built (a trained ``β`` is not followed), which must then
            be the same for all its neurons.
        step_loss: ``step_loss(outputs_t, labels) -> scalar`` (default `ce_step`).

    Example:
        >>> import jax.numpy as jnp, jax.random as jr, spikejax as sj
        >>> from flax import nnx
        >>> net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(16,))
        >>> xs = jr.uniform(jr.key(0), (20, 4, 64))          # T = 20 steps, batch of 4
        >>> online = sj.online.OnlineGradient(net, xs, method="eprop")
        >>> result = online.value_and_grad(net, xs, jnp.arange(4))
        >>> result.outputs.shape, result.grads["blocks"][0]["fc"]["kernel"].shape
        ((20, 4, 10), (64, 16))
    """

    def __init__(
        self,
        model: nnx.Module,
        example: Any,
        *,
        method: str,
        decay: float | None = None,
        step_loss: Callable[[Array, Array], Array] = ce_step,
    ):
        fn = "OnlineGradient"
        if method not in METHODS:
            raise ValueError(f"`{fn}`: `method` must be one of {METHODS}; got {method!r}.")
        if not hasattr(example, "shape") or len(example.shape) < 2 or example.shape[0] < 1:
            raise ValueError(
                f"`{fn}`: `example` must be a time-major input [T >= 1, B, *features]; got shape "
                f"{getattr(example, 'shape', type(example).__name__)}."
            )
        if decay is not None and (
            isinstance(decay, bool)
            or not isinstance(decay, int | float)
            or not math.isfinite(decay)
            or not 0 <= decay <= 1
        ):
            raise ValueError(f"`{fn}`: `decay` must be None or a number in [0, 1]; got {decay!r}.")
        if decay is not None and method != "ottt":
            raise ValueError(f"`{fn}`: `decay` applies to method 'ottt' only; got {method!r}.")
        self.method = method
        self.step_loss = step_loss
        self.chain: Chain = chain_of(fn, model, example)
        self.decays = self._decays(fn, model, decay) if method == "ottt" else {}
        self.kappa, self.filtered = (
            readout_filter(fn, self.chain, model) if method == "eprop" else (None, {})
        )

    def _decays(self, fn: str, model: nnx.Module, decay: float | None) -> dict[str, float]:
        """OTTT's trace decay of every linear layer: that of the neuron layer it feeds."""
        modules = modules_by_path(model)
        decays = {}
        for link in self.chain.links:
            if link.kind != "linear":
                continue
            if link.feeds_neuron is None:
                decays[link.path] = 0.0
            elif decay is not None:
                decays[link.path] = float(decay)
            else:
                decays[link.path] = layer_leak(fn, link.feeds_neuron, modules[link.feeds_neuron])
        return decays

    # ------------------------------------------------------------------------------ one step

    def _forward(self, graphdef, params, rest, states, deltas, x, labels):
        """One step of the chain with the given states; the step's loss and what it saw."""
        model = nnx.merge(graphdef, params, rest)
        modules = modules_by_path(model)
        h, new_states, inputs, currents, spikes = x, {}, {}, {}, {}
        for link in self.chain.links:
            if link.kind == "linear":
                inputs[link.path] = h
                h = modules[link.path](h) + deltas[link.path]
                currents[link.path] = h
            else:
                neuron = modules[link.path].neuron
                new_states[link.path], h = neuron.step(states[link.path], h)
                if neuron.spiking:  # a readout (LI) has no spikes to count
                    spikes[link.path] = h
                if link.path in self.filtered.values():  # its cotangent is L_t
                    h = h + deltas[link.path]
                    currents[link.path] = h
        loss = self.step_loss(h, labels)
        return loss, (h, new_states, inputs, currents, spikes)

    def value_and_grad(
        self, model: nnx.Module, xs: Float[Array, "time batch ..."], labels: Int[Array, " batch"]
    ) -> OnlineResult:
        """The loss ``L``, the outputs ``[T, B, ...]`` and the gradient of ``L`` by the method.

        Args:
            model: the model the plan was built for (its current parameters are used).
            xs: time-major input ``[T, B, *features]`` with the example's step shape.
            labels: per-sample labels, as ``step_loss`` reads them.

        Returns:
            An `OnlineResult`; its ``grads`` can be applied by an ``nnx.Optimizer``.
        """
        fn = "OnlineGradient.value_and_grad"
        if not hasattr(xs, "shape") or len(xs.shape) < 2 or xs.shape[0] < 1:
            raise ValueError(
                f"`{fn}`: `xs` must be time-major [T >= 1, B, *features]; got shape "
                f"{getattr(xs, 'shape', type(xs).__name__)}."
            )
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)
        states0 = init_state(model, tuple(xs.shape[1:]), xs.dtype)
        pure = nnx.to_pure_dict(params)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, pure)
        probe = jax.eval_shape(
            lambda: self._forward(
                graphdef, params, rest, states0, _no_deltas(self, None), xs[0], labels
            )[1]
        )
        traces0 = self._init_traces(probe, states0)

        def body(carry, x):
            states, traces, grads, total = carry
            deltas = _no_deltas(self, probe[3])
            f = lambda p, s, d: self._forward(graphdef, p, rest, s, d, x, labels)  # noqa: E731
            states = jax.lax.stop_gradient(states)
            loss, vjp, (out, new_states, inputs, currents, spikes) = jax.vjp(
                f, params, states, deltas, has_aux=True
            )
            g_params, g_states, g_currents = vjp(jnp.ones_like(loss))
            step_grads = nnx.to_pure_dict(g_params)
            traces, step_grads = self._credit(
                traces, step_grads, g_states, g_currents, inputs, currents, states, model
            )
            grads = jax.tree_util.tree_map(jnp.add, grads, step_grads)
            rates = {p: jnp.mean(s.astype(jnp.float32)) for p, s in spikes.items()}
            return (new_states, traces, grads, total + loss), (out, rates)

        carry0 = (states0, traces0, zeros, jnp.zeros((), probe[0].dtype))
        (_, _, grads, total), (outputs, rates) = jax.lax.scan(body, carry0, xs)
        steps = xs.shape[0]
        grads = jax.tree_util.tree_map(lambda g: g / steps, grads)
        structured = jax.tree_util.tree_map(lambda p: p, params)
        nnx.replace_by_pure_dict(structured, grads)
        rates = {p: jnp.mean(r) for p, r in rates.items()}
        return OnlineResult(total / steps, outputs, structured, rates)

    # ----------------------------------------------------------------------------- traces

    def _init_traces(self, probe, states0) -> dict[str, Any]:
        inputs = probe[2]
        traces = {}
        for link in self.chain.links:
            if link.kind != "linear":
                continue
            x = inputs[link.path]
            batch, n_in = x.shape[0], math.prod(x.shape[1:])
            if self.method == "ottt":
                traces[link.path] = (jnp.zeros((batch, n_in), x.dtype), jnp.zeros((), x.dtype))
            elif link.feeds_neuron is not None:
                leaves = jax.tree_util.tree_leaves(states0[link.feeds_neuron])
                n_out = math.prod(leaves[0].shape[1:])
                traces[link.path] = tuple(
                    jnp.zeros((batch, n_out, n_in + 1), leaf.dtype) for leaf in leaves
                )
                if link.path in self.filtered:  # ē, the eligibility trace filtered with κ
                    traces[link.path] += (jnp.zeros((batch, n_out, n_in + 1), leaves[0].dtype),)
        return traces

    def _credit(self, traces, grads, g_states, g_currents, inputs, currents, states, model):
        """Add each linear layer's credit for its past inputs; update the traces."""
        modules = modules_by_path(model)
        new_traces = dict(traces)
        for link in self.chain.links:
            if link.kind != "linear" or link.path not in traces:
                continue
            x = inputs[link.path].reshape(inputs[link.path].shape[0], -1)
            a = g_currents[link.path].reshape(x.shape[0], -1)
            if self.method == "ottt":
                x_hat, one_hat = traces[link.path]
                lam = jnp.asarray(self.decays[link.path], x.dtype)
                x_hat, one_hat = lam * x_hat + x, lam * one_hat + 1
                new_traces[link.path] = (x_hat, one_hat)
                # Replace the instantaneous x_tᵀ a_t by the trace's x̂_tᵀ a_t.
                _add(grads, link.path, "kernel", (x_hat - x).T @ a)
                if "bias" in _get(grads, link.path):
                    _add(grads, link.path, "bias", (one_hat - 1) * jnp.sum(a, axis=0))
                continue
            neuron_path = link.feeds_neuron
            neuron = modules[neuron_path].neuron
            if link.path in self.filtered:
                *eps, e_bar = traces[link.path]
                eps, e_t = eligibility(
                    neuron, states[neuron_path], currents[link.path], x, tuple(eps), output=True
                )
                e_bar = jnp.asarray(self.kappa, e_bar.dtype) * e_bar + e_t
                signal = g_currents[neuron_path].reshape(x.shape[0], -1)
                credit = jnp.einsum("bj,bji->ij", signal, e_bar)
                # Σ_t L_t · ē_t replaces the step's own x_tᵀ a_t (which is L_t · e_t's input part).
                _set(grads, link.path, "kernel", credit[:-1])
                if "bias" in _get(grads, link.path):
                    _set(grads, link.path, "bias", credit[-1])
                new_traces[link.path] = (*eps, e_bar)
                continue
            eps = traces[link.path]
            c = jax.tree_util.tree_leaves(g_states[neuron_path])
            credit = sum(
                jnp.einsum("bi,bij->ji", ci.reshape(ci.shape[0], -1), e)
                for ci, e in zip(c, eps, strict=True)
            )
            _add(
                grads,
                link.path,
                "kernel",
                credit[:-1].reshape(_get(grads, link.path)["kernel"].shape),
            )
            if "bias" in _get(grads, link.path):
                _add(grads, link.path, "bias", credit[-1])
            new_traces[link.path] = eligibility(
                neuron, states[neuron_path], currents[link.path], x, eps
            )
        return new_traces, grads


def _no_deltas(online: OnlineGradient, currents) -> dict[str, Any]:
    """Zero perturbations of every linear layer's output (their cotangents are ``a^l_t``) and of
    the outputs of the neuron layers whose learning signal ``L_t`` e-prop filters."""
    if currents is None:
        paths = [link.path for link in online.chain.links if link.kind == "linear"]
        return dict.fromkeys([*paths, *online.filtered.values()], 0.0)
    return {p: jnp.zeros(c.shape, c.dtype) for p, c in currents.items()}
