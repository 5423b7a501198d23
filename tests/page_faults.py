"""Page faults per call of a jitted CPU computation in a fresh process that imports spikejax:
what the process-wide settings of `test_malloc.py` and `test_dispatch.py` are for."""

import subprocess
import sys

# Median minor page faults of the last ten of forty calls of ``x * 2 + 1`` on a float32 array of
# ``{mib}`` MiB, whose output is freed before the next call, and the entries of
# ``spikejax.process_settings()[{key!r}]``.
_PROBE = """
import resource, statistics, spikejax
import jax, jax.numpy as jnp
f = jax.jit(lambda x: x * 2.0 + 1.0)
x = jnp.ones(({mib} * 2**18,), jnp.float32)
faults = []
for _ in range(40):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    f(x).block_until_ready()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(statistics.median(faults[-10:]), *spikejax.process_settings()[{key!r}])
"""


def faults_per_call(mib: int, key: str, extra_env: dict[str, str]) -> tuple[float, list[str]]:
    """``(page faults per call, what importing spikejax reported under key)`` for an output of
    ``mib`` MiB, in a subprocess with only ``extra_env`` set (besides the CPU platform)."""
    env = {"PATH": "", "JAX_PLATFORMS": "cpu", **extra_env}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(mib=mib, key=key)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), out[1:]
