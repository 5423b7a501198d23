"""``SeqBatchNorm``: batch normalization with statistics shared over time and batch."""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax._errors import check_floating, check_range

__all__ = ["SeqBatchNorm"]

ChannelsLast = Float[Array, "time batch *spatial channels"]


class SeqBatchNorm(nnx.Module):
    r"""Batch normalization of a time-major sequence with one set of statistics for all steps.

    The input ``[T, B, *spatial, C]`` is normalized as if time were part of the batch (the
    time-merged tensor ``[T*B, *spatial, C]``): for every channel ``c``,

    $$
    \mu_c = \operatorname{mean}_{t, b, \ldots}\, x_{t, b, \ldots, c}, \qquad
    \sigma^2_c = \operatorname{mean}_{t, b, \ldots}\, (x_{t, b, \ldots, c} - \mu_c)^2, \qquad
    y = \gamma_c\, \frac{x - \mu_c}{\sqrt{\sigma^2_c + \epsilon}} + \beta_c
    $$

    (biased variance), the same for every time step. This is SpikingJelly's ``SeqToANNContainer``
    around ``BatchNorm2d``; it is not threshold-dependent batch norm (tdBN), which adds a
    threshold factor. An already folded ``[T*B, *spatial, C]`` input gives the same result.

    In training mode (``use_running_average=False``, or after ``model.train()``) the batch
    statistics are used and the running averages are updated,
    ``mean ← momentum·mean + (1 - momentum)·μ`` and ``var ← momentum·var + (1 - momentum)·σ²``;
    in evaluation mode (``use_running_average=True``, or after ``model.eval()``) the running
    averages are used instead. The running ``var`` starts at 1 and is updated with the biased
    ``σ²`` (PyTorch uses the unbiased one for the running average).

    Note: Flax's ``momentum`` is the weight of the *old* running average, PyTorch's the weight of
    the *new* batch statistic: PyTorch ``momentum=0.1`` is Flax ``momentum=0.9``, the default here.

    Statistics and normalization are computed in float32 (parameters and running averages are
    float32); the output has the dtype of ``x``.

    Args:
        num_features: number of channels ``C`` (the last axis).
        rngs: NNX random streams (used by the parameter initializers).
        momentum: weight of the old running average, in ``[0, 1]``.
        epsilon: ``ε > 0`` added to the variance.
        use_running_average: evaluation mode at construction.
        axis_name: mapped axis over which to also average the statistics (data parallelism under
            ``shard_map`` / ``pmap``), or ``None``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import layers
        >>> bn = layers.SeqBatchNorm(2, rngs=nnx.Rngs(0))
        >>> x = jnp.arange(12.0).reshape(3, 2, 2)         # [T, B, C]
        >>> bn(x).shape
        (3, 2, 2)
        >>> bn.norm.mean[...]                            # 0.9·0 + 0.1·μ
        Array([0.5, 0.6], dtype=float32)
    """

    def __init__(
        self,
        num_features: int,
        *,
        rngs: nnx.Rngs,
        momentum: float = 0.9,
        epsilon: float = 1e-5,
        use_running_average: bool = False,
        axis_name: str | None = None,
    ):
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(
                f"`SeqBatchNorm`: `num_features` must be a positive int; got {num_features!r}."
            )
        check_range("SeqBatchNorm", "momentum", momentum, low=0.0, high=1.0)
        check_range("SeqBatchNorm", "epsilon", epsilon, low=0.0, low_open=True)
        if not isinstance(use_running_average, bool):
            raise TypeError(
                "`SeqBatchNorm`: `use_running_average` must be a bool; "
                f"got {use_running_average!r}."
            )
        self.norm = nnx.BatchNorm(
            num_features,
            use_running_average=use_running_average,
            axis=-1,
            momentum=momentum,
            epsilon=epsilon,
            axis_name=axis_name,
            use_fast_variance=False,
            rngs=rngs,
        )

    def __call__(
        self,
        x: ChannelsLast,
        *,
        use_running_average: bool | None = None,
    ) -> ChannelsLast:
        """Normalize ``x`` (``[T, B, *spatial, C]``, channels last).

        Args:
            x: the sequence to normalize.
            use_running_average: overrides the module's mode for this call.
        """
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            raise TypeError(
                f"`SeqBatchNorm`: `x` must be an array [T, B, ..., C]; got {type(x).__name__}."
            )
        check_floating("SeqBatchNorm", "x", x)
        num_features = self.norm.num_features
        if x.ndim < 2 or x.shape[-1] != num_features:
            raise ValueError(
                f"`SeqBatchNorm`: `x` must be [T, B, ..., C] with C={num_features} channels last; "
                f"got shape {tuple(x.shape)}."
            )
        y = self.norm(x.astype(jnp.float32), use_running_average=use_running_average)
        return y.astype(x.dtype)
