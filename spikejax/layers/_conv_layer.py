"""`Conv`: ``nnx.Conv`` whose lowering is the fastest exact one on the backend it runs on."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax import kernels
from spikejax._xla_flags import ynnpack_convolutions
from spikejax.layers._conv import conv2d_im2col
from spikejax.layers._conv_native import conv_native

__all__ = ["LOWERINGS", "Conv"]

#: The values of `Conv`'s ``lowering``.
LOWERINGS = ("auto", "im2col", "native", "xla")


def _pair(value: Any) -> tuple[int, ...]:
    if value is None:
        value = 1
    return (value, value) if isinstance(value, int) else tuple(value)


class Conv(nnx.Conv):
    r"""``nnx.Conv`` (same parameters, arguments and results) with the faster gradient on the CPU.

    The layer is an ``nnx.Conv``: the same ``kernel`` ``[k_h, k_w, C_in, C_out]`` and ``bias``
    parameters, state paths and attributes, so checkpoints, the network graph, chip deployment,
    energy, conversion and NIR export treat it as one. Its value is always XLA's convolution
    (bit for bit ``nnx.Conv``'s, for any batch size: streaming in chunks stays exact). Only how
    the gradient is computed differs, chosen when the call is traced:

    - ``"xla"``: ``nnx.Conv.__call__`` (``lax.conv_general_dilated`` and its XLA gradient). The
      fastest on GPU/TPU.
    - ``"native"``: the gradients by the C++ CPU kernels, from the nonzero entries of the
      output's cotangent (behind a max pool three in four are zero): the input gradient always
      (`spikejax.kernels.conv_input_grad_cpu`), the kernel gradient where at most 30 % of the
      cotangent is nonzero (`spikejax.kernels.conv_kernel_grad_cpu`; XLA's above). On a 2-core
      CPU, ``conv_nmnist``'s second convolution's input gradient took 16–22 ms against XLA's
      100 ms, its kernel gradient 18 against 40. Float32 on the CPU, where
      `spikejax.kernels.native_status` says the kernels are available.
    - ``"im2col"``: the gradient `conv2d_im2col`'s hand-written one (strided slices and one
      matrix product per chunk of images, rebuilding patches instead of storing them). For the
      CPU without the kernels when XLA computes float convolutions by YNNPACK (jaxlib 0.10 with
      its default flags), which differentiates the small kernels of SNNs on large time-folded
      batches several times slower.
    - ``"auto"`` (default): on the CPU, for a convolution the two apply to (2-D, no feature
      groups, no dilation, no mask, zero padding: ``"SAME"``, ``"VALID"`` or explicit pairs,
      default precision and output type), ``"native"`` for float32 where the kernels are
      available, else ``"im2col"`` where XLA computes float convolutions by YNNPACK; ``"xla"``
      otherwise.

    All compute

    $$
    y_{n,h,w,o} = \sum_{i<k_h}\sum_{j<k_w}\sum_{c}
        \tilde x_{n,\,s_h h+i,\,s_w w+j,\,c}\; k_{i,j,c,o} + b_o
    $$

    (``\tilde x``: the zero-padded input, ``s``: the strides); their gradients agree up to float
    rounding. Like ``nnx.Conv``, inputs may have several leading batch axes, so a time-major
    ``[T, B, H, W, C]`` input is convolved time-folded in one call. Under ``vmap`` (a population
    of models) each choice between the kernels and XLA is made once for all members (XLA's
    where any member needs it), and the ``"native"`` kernels then run once per member;
    ``lowering="xla"`` vectorises every member into one convolution.

    Args:
        in_features, out_features, kernel_size, strides: as ``nnx.Conv``.
        lowering: ``"auto"``, ``"im2col"``, ``"native"`` or ``"xla"``.
        **kwargs: the other keyword arguments of ``nnx.Conv`` (``padding``, ``use_bias``,
            ``dtype``, ``kernel_init``, ``rngs``, ...).

    Raises:
        ValueError: an unknown ``lowering``; ``lowering="im2col"`` or ``"native"`` for a
            convolution they do not compute (named in the message); ``"native"`` called where
            the kernels cannot run (another backend or dtype, or unavailable: the message says
            why).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import layers
        >>> conv = layers.Conv(2, 4, (3, 3), padding="SAME", rngs=nnx.Rngs(0))
        >>> conv(jnp.ones((5, 3, 8, 8, 2))).shape              # [T, B, H, W, C]
        (5, 3, 8, 8, 4)
        >>> ref = layers.Conv(2, 4, (3, 3), padding="SAME", lowering="xla", rngs=nnx.Rngs(0))
        >>> x = jnp.ones((6, 8, 8, 2))
        >>> bool(jnp.allclose(conv(x), ref(x), atol=1e-5))
        True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] | None = 1,
        *,
        lowering: str = "auto",
        **kwargs: Any,
    ):
        if lowering not in LOWERINGS:
            raise ValueError(f"`Conv`: `lowering` must be one of {LOWERINGS}; got {lowering!r}.")
        super().__init__(in_features, out_features, kernel_size, strides, **kwargs)
        self.lowering = lowering
        if lowering in ("im2col", "native"):
            why = self._im2col_refusal()
            if why is not None:
                raise ValueError(
                    f"`Conv`: `lowering={lowering!r}` computes 2-D convolutions without feature "
                    f"groups, dilation or mask, with zero padding, default precision and output "
                    f"type; this one has {why} (use lowering='auto' or 'xla')."
                )

    def _im2col_refusal(self) -> str | None:
        """Why `conv2d_im2col` and the C++ kernels cannot compute this convolution (``None``:
        they can)."""
        padding = self.padding
        if len(self.kernel_size) != 2:
            return f"kernel_size {self.kernel_size!r} (not 2-D)"
        if self.feature_group_count != 1:
            return f"feature_group_count={self.feature_group_count}"
        if _pair(self.input_dilation) != (1, 1) or _pair(self.kernel_dilation) != (1, 1):
            return (
                f"input_dilation={self.input_dilation!r}, kernel_dilation={self.kernel_dilation!r}"
            )
        if self.mask is not None:
            return "a mask"
        if isinstance(padding, str) and padding not in ("SAME", "VALID"):
            return f"padding={padding!r}"
        if self.precision is not None or self.preferred_element_type is not None:
            return "a precision or preferred_element_type"
        if self.conv_general_dilated is not jax.lax.conv_general_dilated:
            return "its own conv_general_dilated"
        return None

    def resolved_lowering(self, dtype: Any = None) -> str:
        """The lowering a call traced now on inputs of ``dtype`` uses: ``"im2col"``,
        ``"native"`` or ``"xla"`` (``dtype`` default: the layer's ``dtype``, else its
        ``param_dtype``).

        Raises:
            ValueError: ``lowering="native"`` where the kernels cannot run (says why).
        """
        dtype = jnp.dtype(dtype or self.dtype or self.param_dtype)
        native_ok = jax.default_backend() == "cpu" and dtype == jnp.float32
        if self.lowering == "native":
            status = kernels.native_status()
            if not native_ok or not status.available:
                why = (
                    status.reason
                    if native_ok
                    else f"it runs float32 on the CPU; got {dtype} on {jax.default_backend()}"
                )
                raise ValueError(
                    f"`{type(self).__name__}`: `lowering='native'` cannot run here: {why}. Use "
                    "lowering='auto'."
                )
        if self.lowering != "auto":
            return self.lowering
        if jax.default_backend() != "cpu" or self._im2col_refusal() is not None:
            return "xla"
        if native_ok and kernels.native_status().available:
            return "native"
        return "im2col" if ynnpack_convolutions() else "xla"

    def event_capacity(self, x: Array, padding) -> int | None:
        """How many nonzero entries of the input ``x`` ``[N, H, W, C]`` (to be zero-padded by
        ``padding``) a call computes its value from (``None``: it always runs the dense
        convolution, as `Conv` does)."""
        return None

    def __call__(self, inputs: Float[Array, "*batch height width channels"], out_sharding=None):
        """As ``nnx.Conv.__call__``: ``[*batch, H, W, C_in] -> [*batch, H_out, W_out, C_out]``."""
        if not hasattr(inputs, "shape") or inputs.ndim < 3:
            raise ValueError(
                f"`{type(self).__name__}`: `inputs` must be [*batch, height, width, channels]; "
                f"got {getattr(inputs, 'shape', type(inputs).__name__)}."
            )
        kernel = self.kernel[...]
        bias = self.bias[...] if self.bias is not None else None
        x = inputs.reshape((-1, *inputs.shape[-3:]))
        x, kernel, bias = self.promote_dtype((x, kernel, bias), dtype=self.dtype)
        lowering = self.resolved_lowering(x.dtype)
        if out_sharding is not None or lowering == "xla":
            return super().__call__(inputs, out_sharding)
        batch = inputs.shape[:-3]
        strides = _pair(self.strides)
        padding = self.padding
        if isinstance(padding, str):
            padding = jax.lax.padtype_to_pads(x.shape[1:3], self.kernel_size, strides, padding)
        elif isinstance(padding, int):
            padding = ((padding, padding), (padding, padding))
        padding = tuple(tuple(p) for p in padding)
        if lowering == "im2col":
            y = conv2d_im2col(x, kernel, bias, strides=strides, padding=padding, xla_forward=True)
        else:
            y = conv_native(x, kernel, strides, padding, self.event_capacity(x, padding))
            if bias is not None:
                y = y + jnp.broadcast_to(bias, y.shape)
        return y.reshape((*batch, *y.shape[1:])) if len(batch) != 1 else y
