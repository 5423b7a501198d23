"""The one XLA setting spikejax makes at import: CPU float convolutions by Eigen, not YNNPACK.

jaxlib 0.10 hands float32 convolutions on the CPU to YNNPACK. For the convolutions of SNNs
(small kernels over time-folded batches of hundreds of frames) its kernels are 2-5x slower than
XLA's Eigen convolutions, forward and backward (measured on a 2-core AMD EPYC: `conv_nmnist`'s
second convolution, 800 x 15 x 15 x 12 -> 64, 5x5, forward 110-132 ms by YNNPACK and 23-33 ms by
Eigen; a SEW-ResNet 3x3, 64 -> 64 channels on 128 x 32 x 32 frames, 139 ms and 66 ms). Later XLA
releases stop sending float convolutions to YNNPACK. So, when spikejax is imported, it puts

    --xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE

first in ``XLA_FLAGS`` (jaxlib's own default, dots and reductions by YNNPACK, without
convolutions) when all of these hold: the installed jaxlib is a 0.10 release (the version the
flag was checked on; an unknown flag would stop XLA), ``XLA_FLAGS`` does not already set this
flag (the user's choice wins), and ``SPIKEJAX_KEEP_XLA_FLAGS`` is unset. It only changes which
library computes a CPU convolution (values agree up to float rounding) and takes effect if JAX
has not run anything yet in the process, the usual order (``import spikejax`` before the first
computation). GPUs and TPUs ignore it.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from importlib import metadata

__all__ = ["ENTRY", "FLAG", "OPT_OUT", "VALUE", "apply", "flag_to_add", "ynnpack_convolutions"]

FLAG = "xla_cpu_experimental_ynn_fusion_type"
#: jaxlib 0.10's default for `FLAG` without ``LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION``.
VALUE = "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"
#: The ``XLA_FLAGS`` entry spikejax adds.
ENTRY = f"--{FLAG}={VALUE}"
#: Set this environment variable (to anything) to leave ``XLA_FLAGS`` as it is.
OPT_OUT = "SPIKEJAX_KEEP_XLA_FLAGS"
# The jaxlib release series whose XLA knows `FLAG` and sends float convolutions to YNNPACK.
_CHECKED_SERIES = (0, 10)


def _series(version: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return None


def _jaxlib_version() -> str:
    try:
        return metadata.version("jaxlib")
    except metadata.PackageNotFoundError:
        return ""


def flag_to_add(environ: MutableMapping[str, str], jaxlib_version: str) -> str | None:
    """The ``XLA_FLAGS`` entry spikejax would add, or ``None`` (see the module docstring)."""
    if OPT_OUT in environ or FLAG in environ.get("XLA_FLAGS", ""):
        return None
    if _series(jaxlib_version) != _CHECKED_SERIES:
        return None
    return ENTRY


def apply(
    environ: MutableMapping[str, str] | None = None, jaxlib_version: str | None = None
) -> bool:
    """Put `flag_to_add`'s entry first in ``environ["XLA_FLAGS"]``; whether anything was added."""
    environ = os.environ if environ is None else environ
    version = _jaxlib_version() if jaxlib_version is None else jaxlib_version
    entry = flag_to_add(environ, version)
    if entry is None:
        return False
    # First: XLA stops reading XLA_FLAGS at a token it cannot parse, so a flag after a user's
    # malformed entry would be silently ignored.
    current = environ.get("XLA_FLAGS", "").strip()
    environ["XLA_FLAGS"] = f"{entry} {current}".strip()
    return True


def ynnpack_convolutions(
    environ: MutableMapping[str, str] | None = None, jaxlib_version: str | None = None
) -> bool:
    """Whether XLA:CPU computes float convolutions by YNNPACK under ``environ["XLA_FLAGS"]``.

    True on jaxlib 0.10 unless ``XLA_FLAGS`` sets `FLAG` without
    ``LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION``; False on other releases.
    """
    environ = os.environ if environ is None else environ
    version = _jaxlib_version() if jaxlib_version is None else jaxlib_version
    if _series(version) != _CHECKED_SERIES:
        return False
    value = None
    for token in environ.get("XLA_FLAGS", "").split():
        if token.startswith(f"--{FLAG}="):
            value = token.split("=", 1)[1]  # the last setting wins, as in XLA's parser
    return value is None or "LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION" in value


#: Whether importing spikejax added the entry to ``XLA_FLAGS``.
APPLIED = apply()
