"""Bad NIR input is refused by name: unknown node types (listing the supported ones), shapes that
do not fit between connected nodes (both named), missing parameters, a cycle without a neuron,
``dt <= 0``, unreadable files (the path named); nothing in a file is executed."""

import h5py
import nir
import numpy as np
import pytest

import spikejax as sj

f32 = np.float32


def mlp(n_in=3, n_hidden=4, lif_size=None):
    size = n_hidden if lif_size is None else lif_size
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc": nir.Affine(weight=np.ones((n_hidden, n_in), f32), bias=np.zeros(n_hidden, f32)),
        "lif": nir.LIF(
            tau=np.full(size, 2e-3),
            r=np.ones(size),
            v_leak=np.zeros(size),
            v_threshold=np.ones(size),
            v_reset=np.zeros(size),
        ),
        "output": nir.Output(output_type={"output": np.array([size])}),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def written(tmp_path, graph, edit=None):
    path = tmp_path / "graph.nir"
    nir.write(path, graph)
    if edit is not None:
        with h5py.File(path, "r+") as f:
            edit(f["node"]["nodes"])
    return path


def test_unknown_node_type_names_the_node_and_lists_the_supported_ones(tmp_path):
    def rename(nodes):
        del nodes["lif"]["type"]
        nodes["lif"]["type"] = "AdExp"

    path = written(tmp_path, mlp(), rename)
    with pytest.raises(ValueError, match=r"node 'lif' has the unknown type 'AdExp'") as error:
        sj.nir.load(path, dt=1e-3)
    assert str(path) in str(error.value) and "LIF, LI, IF, I, CubaLIF, CubaLI" in str(error.value)


def test_inconsistent_shapes_name_both_nodes_and_shapes():
    with pytest.raises(
        sj.nir.LoadError,
        match=r"node 'lif' \(LIF\): parameter 'tau' of shape \(5,\)"
        r" does not fit the input \(4,\)\. \(fed by 'fc'\)",
    ):
        sj.nir.load(mlp(lif_size=5), dt=1e-3)
    graph = mlp()
    graph.nodes["fc2"] = nir.Linear(weight=np.ones((3, 3), f32))
    graph.edges.append(("input", "fc2"))
    graph.edges.append(("fc2", "lif"))
    with pytest.raises(
        sj.nir.LoadError,
        match=r"node 'lif' \(LIF\): sums inputs of different "
        r"shapes: 'fc' gives \(4,\), 'fc2' gives \(3,\)",
    ):
        sj.nir.load(graph, dt=1e-3)


def test_missing_parameter_names_node_parameter_and_file(tmp_path):
    path = written(tmp_path, mlp(), lambda nodes: nodes["lif"].__delitem__("tau"))
    with pytest.raises(
        ValueError,
        match=r"file '.*graph.nir': node 'lif' \(LIF\) lacks the "
        r"parameter\(s\) tau",
    ):
        sj.nir.load(path, dt=1e-3)


def test_a_cycle_without_a_neuron_is_refused():
    graph = mlp()
    graph.nodes["back"] = nir.Linear(weight=np.ones((4, 4), f32))
    graph.edges += [("fc", "back"), ("back", "fc")]
    with pytest.raises(sj.nir.LoadError, match=r"the cycle through 'fc', 'back' has no neuron"):
        sj.nir.load(graph, dt=1e-3)


@pytest.mark.parametrize("dt", [0.0, -1e-3, float("inf"), "1e-3", None])
def test_dt_must_be_a_positive_number(dt):
    with pytest.raises(ValueError, match=r"`spikejax.nir.load`: `dt` must be (a positive|finite)"):
        sj.nir.load(mlp(), dt=dt)


def test_euler_needs_tau_at_least_dt_and_delays_whole_steps():
    with pytest.raises(
        sj.nir.LoadError,
        match=r"node 'lif' \(LIF\): forward Euler needs tau >= "
        r"dt = 0.01.*discretization='exact'",
    ):
        sj.nir.load(mlp(), dt=1e-2)
    sj.nir.load(mlp(), dt=1e-2, discretization="exact")
    graph = mlp()
    graph.nodes["delay"] = nir.Delay(delay=np.full(4, 1.5e-3))
    graph.edges[1:2] = [("fc", "delay"), ("delay", "lif")]
    with pytest.raises(
        sj.nir.LoadError,
        match=r"node 'delay' \(Delay\): `delay` must be "
        r"non-negative whole multiples of dt = 0.001",
    ):
        sj.nir.load(graph, dt=1e-3)


def test_unreadable_files_are_named(tmp_path):
    missing = tmp_path / "missing.nir"
    with pytest.raises(FileNotFoundError, match=r"no NIR file at '.*missing.nir'"):
        sj.nir.load(missing, dt=1e-3)
    text = tmp_path / "notes.nir"
    text.write_text("not hdf5")
    with pytest.raises(ValueError, match=r"file '.*notes.nir': cannot be read as HDF5"):
        sj.nir.load(text, dt=1e-3)


def test_nothing_in_a_file_is_executed(tmp_path):
    """A parameter holding text (here, Python source) is refused as non-numeric; it is never
    evaluated, unpickled or imported."""

    def plant(nodes):
        del nodes["lif"]["tau"]
        nodes["lif"]["tau"] = "__import__('os').system('touch pwned')"

    path = written(tmp_path, mlp(), plant)
    with pytest.raises(ValueError, match=r"node 'lif' \(LIF\): parameter 'tau' must be numeric"):
        sj.nir.load(path, dt=1e-3)
    assert not (tmp_path / "pwned").exists()


def test_dangling_edges_and_unfed_nodes_are_refused():
    graph = mlp()
    graph.edges.append(("lif", "nowhere"))
    with pytest.raises(sj.nir.LoadError, match=r"the edge \('lif', 'nowhere'\) names 'nowhere'"):
        sj.nir.load(graph, dt=1e-3)
    graph = mlp()
    graph.nodes["orphan"] = nir.Scale(scale=np.ones(4, f32))
    with pytest.raises(sj.nir.LoadError, match=r"node 'orphan' \(Scale\): has no incoming edge"):
        sj.nir.load(graph, dt=1e-3)


def test_several_inputs_take_a_dict_by_name():
    graph = mlp()
    graph.nodes["aux"] = nir.Input(input_type={"input": np.array([2])})
    graph.nodes["fc_aux"] = nir.Linear(weight=np.ones((4, 2), f32))
    graph.edges += [("aux", "fc_aux"), ("fc_aux", "lif")]
    model = sj.nir.load(graph, dt=1e-3)
    xs = {"input": np.zeros((3, 1, 3), f32), "aux": np.ones((3, 1, 2), f32)}
    # Euler, dt/τ = 1/2: v = 1 (not > 1: no spike), 1.5 (spike, reset to 0), 1 (no spike)
    out = np.asarray(model(xs))
    np.testing.assert_array_equal(out[:, 0, 0], [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match=r"`NIRNetwork`: `xs` must map every Input node"):
        model({"input": xs["input"]})
    with pytest.raises(ValueError, match=r"the graph has the inputs \['input', 'aux'\]"):
        model(xs["input"])
