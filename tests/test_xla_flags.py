"""The XLA:CPU flag spikejax adds at import: when it is added, what it leaves alone, its effect."""

import subprocess
import sys
from importlib import metadata

import pytest

from spikejax._xla_flags import FLAG, OPT_OUT, VALUE, apply, flag_to_add, ynnpack_convolutions

ENTRY = f"--{FLAG}={VALUE}"


def test_put_before_the_users_flags_on_jaxlib_0_10():
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    assert apply(env, "0.10.2") is True
    assert env["XLA_FLAGS"] == f"{ENTRY} --xla_force_host_platform_device_count=2"
    empty: dict[str, str] = {}
    assert apply(empty, "0.10.7") is True and empty["XLA_FLAGS"] == ENTRY


@pytest.mark.parametrize(
    ("env", "version"),
    [
        ({"XLA_FLAGS": f"--{FLAG}=LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}, "0.10.2"),  # user's choice
        ({OPT_OUT: "1"}, "0.10.2"),
        ({}, "0.11.0"),  # a release the flag was not checked on: never an unknown flag
        ({}, "0.9.2"),
        ({}, ""),  # no jaxlib
    ],
)
def test_left_alone(env, version):
    before = dict(env)
    assert flag_to_add(env, version) is None
    assert apply(env, version) is False and env == before


def test_which_library_convolves():
    assert ynnpack_convolutions({}, "0.10.2") is True
    assert ynnpack_convolutions({"XLA_FLAGS": ENTRY}, "0.10.2") is False
    with_conv = f"{ENTRY},LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION"
    assert ynnpack_convolutions({"XLA_FLAGS": with_conv}, "0.10.2") is True
    assert ynnpack_convolutions({"XLA_FLAGS": f"{with_conv} {ENTRY}"}, "0.10.2") is False  # last
    assert ynnpack_convolutions({}, "0.11.0") is False


_PROBE = """
import os, spikejax
import jax, jax.numpy as jnp
x, k = jnp.ones((4, 9, 9, 32)), jnp.ones((3, 3, 32, 32))
conv = jax.jit(lambda x, k: jax.lax.conv_general_dilated(
    x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")))
text = conv.lower(x, k).compile().as_text()
print(spikejax._xla_flags.APPLIED, "__ynn_fusion" in text, os.environ.get("XLA_FLAGS", ""))
"""


def test_importing_spikejax_first_takes_the_convolution_from_ynnpack():
    # XLA stops reading at a token it cannot parse: the flag must come before it.
    flags = "--xla_cpu_multi_thread_eigen=true not_a_flag=2"
    env = {"PATH": "", "JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    applied, ynn = out[0] == "True", out[1] == "True"
    assert applied == (flag_to_add({}, metadata.version("jaxlib")) is not None)
    if applied:
        assert not ynn, "a float convolution still went to YNNPACK"
        assert out[2:] == [ENTRY, *flags.split()]


def test_process_settings_names_the_flag_it_added():
    import spikejax

    added = spikejax.process_settings()["xla_flags"]
    assert added == (ENTRY if spikejax._xla_flags.APPLIED else None)
