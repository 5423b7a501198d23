"""CPU kernels in C++ (``kernels/csrc``), compiled on first use, called through XLA's FFI.

Two things SNNs do often are slow on XLA:CPU. Adding up a few selected rows of a matrix, which is
what an event-driven synapse does: XLA's gather copies element by element, and its loops pay a few
microseconds a trip (`event_matmul_cpu` and `event_wgrad_cpu` do it directly). And running a
layer of neurons step by step: the same few microseconds a step are more than the step's
arithmetic (`lif_forward_cpu` runs all the steps of an LIF layer in one call). The source ships
with the package; the first process that needs it compiles it with the machine's C++ compiler
(``$CXX``, else ``c++``, ``g++`` or ``clang++``) for the CPU it runs on (``-march=native``),
against the FFI headers of the installed jaxlib, into a cache directory
(``$SPIKEJAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/spikejax`` or ``~/.cache/spikejax``), under a
name that hashes the source, the flags, the compiler, the jaxlib version and the CPU: a changed
source or another machine sharing the cache builds its own. Later processes load the cached library.

Nothing here changes a result: where the kernels are not available (no compiler, a failed build,
``SPIKEJAX_NATIVE=0``, a platform other than the CPU) the callers run their XLA programs, and
`native_status` says why.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import jax
import jax.numpy as jnp
import jaxlib
from jaxtyping import Array, Float

__all__ = [
    "NativeStatus",
    "count_nonzero_cpu",
    "event_matmul_cpu",
    "event_wgrad_cpu",
    "native_status",
    "require_native",
]

SOURCE_DIR = Path(__file__).parent / "csrc"
#: Compiled together into one library; the header is part of what the cache key hashes.
SOURCES = ("conv.cc", "event_matmul.cc", "lif_forward.cc")
HEADERS = ("common.h",)
#: FFI target name -> the handler's symbol in the library.
TARGETS = {
    "spikejax_event_matmul_f32": "SpikejaxEventMatmulF32",
    "spikejax_event_wgrad_f32": "SpikejaxEventWgradF32",
    "spikejax_count_nonzero_f32": "SpikejaxCountNonzeroF32",
    "spikejax_lif_forward_f32": "SpikejaxLifForwardF32",
    "spikejax_lif_forward_states_f32": "SpikejaxLifForwardStatesF32",
    "spikejax_event_conv_f32": "SpikejaxEventConvF32",
    "spikejax_event_conv_wgrad_f32": "SpikejaxEventConvWgradF32",
    "spikejax_conv_input_grad_f32": "SpikejaxConvInputGradF32",
    "spikejax_conv_kernel_grad_f32": "SpikejaxConvKernelGradF32",
}
#: ``-ffp-contract=fast``: ``c + a * b`` becomes one fused multiply-add where the CPU has the
#: instruction, as in XLA's own loops (built for the same CPU), so that the kernels' sums equal
#: the XLA event loop's bit for bit (the tests check it on the machine they run on).
FLAGS = ("-O3", "-std=c++17", "-shared", "-fPIC", "-ffp-contract=fast", "-fno-math-errno")
OFF_VARIABLE = "SPIKEJAX_NATIVE"
COMPILE_TIMEOUT_S = 600

_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class NativeStatus:
    """Whether the C++ CPU kernels can run in this process, and why not.

    Attributes:
        available: the library is loaded and its FFI targets are registered.
        reason: why not (``None`` when available).
        library: path of the compiled library (``None`` when there is none).
        command: the compile command this process ran, or ``None`` when it loaded a cached
            library (or did not get that far).
    """

    available: bool
    reason: str | None = None
    library: str | None = None
    command: tuple[str, ...] | None = None


def native_status() -> NativeStatus:
    """Compile (first time on this machine), load and register the C++ CPU kernels, once per
    process; say whether they are available and, if not, why.

    Example:
        >>> import spikejax as sj
        >>> status = sj.kernels.native_status()
        >>> status.available or status.reason is not None
        True
    """
    with _lock:
        return _load()


@functools.cache
def _load() -> NativeStatus:
    if os.environ.get(OFF_VARIABLE, "").strip() == "0":
        return NativeStatus(False, f"turned off by {OFF_VARIABLE}=0")
    compiler = _compiler()
    if compiler is None:
        return NativeStatus(False, "no C++ compiler found ($CXX, c++, g++ or clang++)")
    version = _run([compiler, "--version"])
    if version is None:
        return NativeStatus(False, f"the C++ compiler `{compiler}` does not run")
    include = jax.ffi.include_dir()
    source = b"\0".join((SOURCE_DIR / name).read_bytes() for name in (*SOURCES, *HEADERS))
    tried: list[str] = []
    for arch in (("-march=native",), ()):  # a compiler without -march=native: portable code
        flags = (*FLAGS, *arch)
        key = hashlib.sha256(
            b"\0".join(
                [
                    source,
                    " ".join(flags).encode(),
                    version.encode(),
                    jaxlib.__version__.encode(),
                    _cpu_identity().encode(),
                ]
            )
        ).hexdigest()[:20]
        cache = _cache_dir()
        library = cache / f"kernels-{key}.so"
        command = None
        if not library.exists():
            try:
                cache.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                return NativeStatus(
                    False,
                    f"cannot create the cache directory {cache}: {error} (set SPIKEJAX_CACHE_DIR "
                    "to a writable directory)",
                )
            command, error = _compile(compiler, flags, include, library)
            if error is not None:
                tried.append(error)
                continue
        try:
            handle = ctypes.cdll.LoadLibrary(str(library))
            for target, symbol in TARGETS.items():
                capsule = jax.ffi.pycapsule(getattr(handle, symbol))
                jax.ffi.register_ffi_target(target, capsule, platform="cpu")
        except (OSError, AttributeError) as error:
            return NativeStatus(False, f"cannot load {library}: {error}", str(library), command)
        return NativeStatus(True, None, str(library), command)
    return NativeStatus(False, "; ".join(tried))


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return name
    return None


def _run(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _cache_dir() -> Path:
    if os.environ.get("SPIKEJAX_CACHE_DIR"):
        return Path(os.environ["SPIKEJAX_CACHE_DIR"]) / "native"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spikejax" / "native"


def _cpu_identity() -> str:
    """What ``-march=native`` compiles for: the CPU's model and feature flags where readable."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    wanted = ("model name", "flags", "Features", "CPU part")
    seen = sorted({line for line in lines if line.split(":")[0].strip() in wanted})
    return "\n".join([platform.machine(), platform.processor(), *seen])


def _compile(compiler: str, flags: tuple[str, ...], include: str, library: Path):
    """Build ``library``; ``(command, None)`` or ``(command, why it failed)``."""
    # Written beside the target and renamed into place: processes building at the same time
    # each rename a complete library, and none loads a half-written one.
    fd, partial = tempfile.mkstemp(suffix=".so", dir=library.parent)
    os.close(fd)
    sources = [str(SOURCE_DIR / name) for name in SOURCES]
    command = (compiler, *flags, "-I", include, "-I", str(SOURCE_DIR), *sources, "-o", partial)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            errors = [line for line in lines if "error" in line][:3] or lines[-3:]
            return command, f"`{' '.join(command)}` failed: " + " | ".join(errors)
        os.replace(partial, library)
        return command, None
    except (OSError, subprocess.TimeoutExpired) as error:
        return command, f"`{' '.join(command)}` failed: {error}"
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def require_native(fn: str, ndim: int = 2, **arrays) -> None:
    """Raise unless the kernels are available and every array is an ``ndim``-d float32 array."""
    status = native_status()
    if not status.available:
        raise RuntimeError(f"`{fn}`: the C++ CPU kernels are not available: {status.reason}.")
    for arg, value in arrays.items():
        if getattr(value, "ndim", None) != ndim or getattr(value, "dtype", None) != jnp.float32:
            raise TypeError(
                f"`{fn}`: `{arg}` must be a {ndim}-d float32 array; got "
                f"{getattr(value, 'dtype', type(value).__name__)}"
                f"{list(getattr(value, 'shape', ()))}."
            )


def event_matmul_cpu(
    x: Float[Array, "rows features_in"], w: Float[Array, "features_in features_out"]
) -> Float[Array, "rows features_out"]:
    """``x @ w`` from the nonzero entries of ``x``, by the C++ CPU kernel (float32, CPU only).

    $$ y_{r,:} = \\sum_{c:\\ x_{rc} \\neq 0} x_{rc}\\, W_{c,:} $$

    summed from 0 in ascending ``c``, each term added by a fused multiply-add where the CPU has
    one: the order and rounding of `spikejax.layers.event_matmul`'s ``"loop"`` method, with
    which it agrees bit for bit (for binary ``x`` every product is exact, and so are both). Its
    cost is one pass over ``x`` and ``out`` additions per nonzero entry. No gradient is defined
    here; `spikejax.layers.event_matmul` (``method="native"``) is the differentiable product.

    Raises:
        RuntimeError: the kernels are not available (`native_status` says why).
        TypeError: ``x`` or ``w`` is not a 2-d float32 array.
        ValueError: the shapes do not chain.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> x = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
        >>> w = jnp.arange(6.0).reshape(3, 2)
        >>> if sj.kernels.native_status().available:
        ...     assert sj.kernels.event_matmul_cpu(x, w).tolist() == [[2.0, 3.0], [4.0, 6.0]]
    """
    require_native("event_matmul_cpu", x=x, w=w)
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"`event_matmul_cpu`: `x` [rows, in] and `w` [in, out] must share `in`; got shapes "
            f"{tuple(x.shape)} and {tuple(w.shape)}."
        )
    out = jax.ShapeDtypeStruct((x.shape[0], w.shape[1]), jnp.float32)
    return jax.ffi.ffi_call("spikejax_event_matmul_f32", out, vmap_method="sequential")(x, w)


def event_wgrad_cpu(
    x: Float[Array, "rows features_in"], g: Float[Array, "rows features_out"]
) -> Float[Array, "features_in features_out"]:
    """``xᵀ @ g`` from the nonzero entries of ``x``, by the C++ CPU kernel (float32, CPU only):
    the weight gradient of ``x @ w`` for the output cotangent ``g``.

    $$ \\frac{\\partial L}{\\partial W_{c,:}} = \\sum_{r:\\ x_{rc} \\neq 0} x_{rc}\\, g_{r,:} $$

    summed from 0 in ascending ``r``, as `event_matmul_cpu` sums (the ``"loop"`` method's order
    and rounding). Raises as `event_matmul_cpu`.
    """
    require_native("event_wgrad_cpu", x=x, g=g)
    if x.shape[0] != g.shape[0]:
        raise ValueError(
            f"`event_wgrad_cpu`: `x` [rows, in] and `g` [rows, out] must share `rows`; got "
            f"shapes {tuple(x.shape)} and {tuple(g.shape)}."
        )
    out = jax.ShapeDtypeStruct((x.shape[1], g.shape[1]), jnp.float32)
    return jax.ffi.ffi_call("spikejax_event_wgrad_f32", out, vmap_method="sequential")(x, g)


#: The largest array `count_nonzero_cpu` counts (its count is an int32).
COUNT_LIMIT = 2**31 - 1


def count_nonzero_cpu(x: Float[Array, "..."]) -> Array:
    """The number of nonzero entries of ``x`` as an int32 scalar, by the C++ CPU kernel
    (float32, CPU only): ``jnp.count_nonzero(x)`` (NaN counts, ``-0.0`` does not) in one pass
    over ``x``, without the intermediate integer array XLA:CPU writes for it. It is what the
    event-driven layers compare with their capacity to choose between the events and the dense
    product. Under ``vmap``, one count per member.

    Raises:
        RuntimeError: the kernels are not available (`native_status` says why).
        TypeError: ``x`` is not a float32 array.
        ValueError: ``x`` has more than ``2**31 - 1`` entries.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> if sj.kernels.native_status().available:
        ...     assert int(sj.kernels.count_nonzero_cpu(jnp.array([[0.0, 2.0], [-0.0, 1.0]]))) == 2
    """
    require_native("count_nonzero_cpu", ndim=getattr(x, "ndim", 0), x=x)
    if x.size > COUNT_LIMIT:
        raise ValueError(
            f"`count_nonzero_cpu`: `x` may have at most {COUNT_LIMIT} entries (an int32 count); "
            f"got shape {tuple(x.shape)}."
        )
    out = jax.ShapeDtypeStruct((), jnp.int32)
    return jax.ffi.ffi_call("spikejax_count_nonzero_f32", out, vmap_method="sequential")(x)
