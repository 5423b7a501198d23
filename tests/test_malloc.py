"""The glibc malloc settings spikejax makes at import: when they are made, and their effect."""

import platform

import pytest

from spikejax._malloc import OPT_OUT, SETTINGS, apply, settings_to_apply
from tests.page_faults import faults_per_call


def test_made_on_glibc_with_a_plain_environment():
    assert settings_to_apply({"PATH": "/bin"}, "glibc") == SETTINGS
    assert SETTINGS == (("M_MMAP_THRESHOLD", -3, 2**30), ("M_TRIM_THRESHOLD", -1, 2**30))


@pytest.mark.parametrize(
    ("env", "libc"),
    [
        ({OPT_OUT: "1"}, "glibc"),
        ({"MALLOC_ARENA_MAX": "4"}, "glibc"),  # the user's own malloc settings win
        ({"MALLOC_MMAP_THRESHOLD_": "131072"}, "glibc"),
        ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}, "glibc"),
        ({}, ""),  # macOS, Windows, musl: not glibc's mallopt
    ],
)
def test_left_alone(env, libc):
    calls = []
    assert settings_to_apply(env, libc) == ()
    assert apply(env, libc, lambda p, v: calls.append((p, v)) or 1) == () and calls == []


def test_other_tunables_do_not_count_as_malloc_settings():
    assert settings_to_apply({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX"}, "glibc") == SETTINGS


def test_reports_only_what_glibc_accepted():
    calls = []

    def mallopt(param, value):
        calls.append((param, value))
        return 0 if param == -1 else 1  # refuses M_TRIM_THRESHOLD

    assert apply({}, "glibc", mallopt) == ("M_MMAP_THRESHOLD",)
    assert calls == [(param, value) for _, param, value in SETTINGS]


# A 48 MiB output per call, freed before the next: above glibc's largest default mmap threshold
# (32 MiB), so without the settings every call maps it afresh and page-faults all of it. With
# them the heap settles after some calls (the first ones grow it) and then reuses the buffer.
# (48, not more: XLA may allocate on a worker thread, whose arena maps anything above 64 MiB.)
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_importing_spikejax_reuses_large_buffers_between_calls():
    faults, applied = faults_per_call(48, "malloc", {})
    assert applied == [name for name, _, _ in SETTINGS]
    kept_faults, kept_applied = faults_per_call(48, "malloc", {OPT_OUT: "1"})
    assert kept_applied == []
    pages = 48 * 2**20 // 4096  # one output
    assert kept_faults > pages // 2, "the control no longer maps its output afresh"
    assert faults < pages // 20, f"{faults} page faults per call: the buffer is not reused"
