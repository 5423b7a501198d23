"""The JAX setting spikejax makes at import (synchronous CPU dispatch): when, and its effect."""

import platform

import pytest

from spikejax._dispatch import OPT_OUT, SETTING, apply, should_apply
from tests.page_faults import faults_per_call


def test_made_with_a_plain_environment():
    calls = []
    assert should_apply({"PATH": "/bin"})
    assert apply({"PATH": "/bin"}, lambda name, value: calls.append((name, value)))
    assert calls == [("jax_cpu_enable_async_dispatch", False)]


@pytest.mark.parametrize(
    "env",
    [{OPT_OUT: "1"}, {"JAX_CPU_ENABLE_ASYNC_DISPATCH": "true"}, {SETTING.upper(): "false"}],
)
def test_left_alone(env):
    calls = []
    assert not should_apply(env)
    assert not apply(env, lambda name, value: calls.append((name, value))) and calls == []


# A 96 MiB output per call, freed before the next. Above the 64 MiB a glibc thread arena's heap
# holds, so when a worker thread of the CPU client allocates it (asynchronous dispatch) it is
# mapped afresh and page-faulted on every call; allocated by the calling thread, it comes from
# the main heap, which spikejax's malloc settings keep between calls.
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's arenas and mallopt")
def test_importing_spikejax_keeps_large_buffers_of_cpu_computations_between_calls():
    faults, applied = faults_per_call(96, "jax_config", {})
    assert applied == [SETTING]
    kept_faults, kept_applied = faults_per_call(96, "jax_config", {OPT_OUT: "1"})
    assert kept_applied == []
    pages = 96 * 2**20 // 4096  # one output
    assert kept_faults > pages // 2, "the control no longer maps its output afresh"
    assert faults < pages // 20, f"{faults} page faults per call: the buffer is not reused"
