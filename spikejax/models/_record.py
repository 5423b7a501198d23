"""Recording a forward pass: the tensor feeding every synaptic layer, every spike tensor, every
residual-block output, and the dense MACs of every synaptic layer.

Layers of the zoo report what they see through :func:`note_synapse`, :func:`note_spikes` and
:func:`note_block`. These do nothing unless :func:`record` is running, so a plain forward pass
(and a training step) stores nothing.
"""

from __future__ import annotations

import contextvars
from typing import Any

from flax import nnx
from jaxtyping import Array

from spikejax._pytree import pytree_dataclass, static

__all__ = ["Recording", "is_recording", "note_block", "note_spikes", "note_synapse", "record"]


@pytree_dataclass
class Recording:
    """What one recorded forward pass saw, keyed by the dotted path of the layer in the model.

    Attributes:
        synapse_inputs: the tensor feeding each synaptic layer (convolution, linear layer, the
            attention products of a spiking self-attention block, the classifier), in forward
            order. Time-major ``[T, B, ...]``, except the first convolution of a SEW ImageNet model
            with ``stem="once"``, which sees the static image ``[B, H, W, C]``. For the attention
            products (key ``"<block>.attn.attention"``) the input is ``Q, K, V`` (``Q``, ``K``
            after the optional ``qk_pool``) concatenated along the feature axis,
            ``[T, B, heads, N, d_q + d_k + d_v]``, in float32; for the classifier it is the
            per-step feature vector ``[T, B, C]`` (spatial or token mean).
        spikes: every spiking-neuron output, ``[T, B, ...]``; exactly 0 or 1.
        residuals: the output of every residual block (SEW block, Spikformer SSA and MLP residual
            sums, and the SPS+RPE sum), ``[T, B, ...]``.
        macs: static ``(path, MACs)`` pairs in the order of ``synapse_inputs``: dense multiply-
            accumulates of the layer for one sample and one time step, computed from shapes
            (Appendix A of the zoo specification).
    """

    synapse_inputs: dict[str, Array]
    spikes: dict[str, Array]
    residuals: dict[str, Array]
    macs: tuple[tuple[str, int], ...] = static(())


class _Recorder:
    def __init__(self, model: nnx.Module):
        self.paths = {
            id(module): ".".join(str(p) for p in path) for path, module in nnx.iter_modules(model)
        }
        self.synapse_inputs: dict[str, Array] = {}
        self.spikes: dict[str, Array] = {}
        self.residuals: dict[str, Array] = {}
        self.macs: dict[str, int] = {}

    def key(self, module: nnx.Module, suffix: str | None) -> str:
        path = self.paths.get(id(module), type(module).__name__)
        if suffix:
            path = f"{path}.{suffix}" if path else suffix
        return path

    @staticmethod
    def put(table: dict[str, Any], key: str, value: Any) -> None:
        if key in table:
            raise ValueError(
                f"`record`: every layer must run once per forward pass; `{key}` ran twice."
            )
        table[key] = value


_ACTIVE: contextvars.ContextVar[_Recorder | None] = contextvars.ContextVar(
    "spikejax_models_recorder", default=None
)


def is_recording() -> bool:
    """Whether :func:`record` is running (to skip building tensors only a recording needs)."""
    return _ACTIVE.get() is not None


def note_synapse(module: nnx.Module, x: Array, macs: int, suffix: str | None = None) -> None:
    """Report a synaptic layer's input and MACs per sample and step (no-op unless recording)."""
    recorder = _ACTIVE.get()
    if recorder is not None:
        key = recorder.key(module, suffix)
        recorder.put(recorder.synapse_inputs, key, x)
        recorder.macs[key] = int(macs)


def note_spikes(module: nnx.Module, s: Array, suffix: str | None = None) -> None:
    """Report a spike tensor (no-op unless recording)."""
    recorder = _ACTIVE.get()
    if recorder is not None:
        recorder.put(recorder.spikes, recorder.key(module, suffix), s)


def note_block(module: nnx.Module, out: Array, suffix: str | None = None) -> None:
    """Report the output of a residual block (no-op unless recording)."""
    recorder = _ACTIVE.get()
    if recorder is not None:
        recorder.put(recorder.residuals, recorder.key(module, suffix), out)


def record(model: nnx.Module, x: Array, **kwargs: Any) -> tuple[Array, Recording]:
    """Run ``model(x, **kwargs)`` and return ``(output, recording)``.

    The forward pass is the model's own (same outputs, same batch-norm updates); the recording only
    keeps references to tensors the pass computes anyway. Works eagerly and inside ``nnx.jit`` or
    ``nnx.eval_shape`` (call ``record`` inside the transformed function). Keys are the dotted paths
    of the layers in the model, as in ``nnx.iter_modules``.

    Args:
        model: a model of :mod:`spikejax.models`.
        x: its input.
        **kwargs: passed to the model call (e.g. ``per_step=True``).

    Returns:
        The model output and a :class:`Recording`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import models
        >>> def run(frames):
        ...     return models.record(models.create("sew_7bnet_dvs128", rngs=nnx.Rngs(0)), frames)
        >>> frames = jax.ShapeDtypeStruct((16, 1, 128, 128, 2), jnp.float32)
        >>> logits, rec = jax.eval_shape(run, frames)
        >>> logits.shape, rec.synapse_inputs["stem"].shape, dict(rec.macs)["stem"]
        ((1, 11), (16, 1, 128, 128, 2), 1048576)
        >>> rec.residuals["stages.0.6"].shape, len(rec.spikes)    # 7th block; 15 PLIF layers
        ((16, 1, 2, 2, 32), 15)
    """
    recorder = _Recorder(model)
    token = _ACTIVE.set(recorder)
    try:
        out = model(x, **kwargs)
    finally:
        _ACTIVE.reset(token)
    recording = Recording(
        synapse_inputs=recorder.synapse_inputs,
        spikes=recorder.spikes,
        residuals=recorder.residuals,
        macs=tuple(recorder.macs.items()),
    )
    return out, recording
