"""`spikejax summary`: one short table of finished runs, read from the files the commands write."""

import json

import pytest

from spikejax.cli import main
from spikejax.train.results import results_table, run_results


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _energy_report(name, e_snn, ratio, layers, unpriced=()):
    return {
        "profile": {"name": name},
        "totals": {"e_snn_pj": e_snn, "ratio": ratio},
        "layers": layers,
        "unpriced": list(unpriced),
    }


@pytest.fixture
def runs(tmp_path):
    float_run, xylo_run = tmp_path / "digits", tmp_path / "xylo"
    _write(
        float_run / "summary.json",
        {"name": "digits", "model": "lif_mlp", "test_accuracy_best": 0.9639},
    )
    _write(
        float_run / "chip-loihi" / "loihi.json",
        {"report": {"chip": "loihi", "chip_accuracy": 0.9556}},
    )
    first = {"name": "fc1", "op": "mac", "energy": 297_000.0, "runs": 8}
    head = {"name": "fc2", "op": "ac", "energy": 3_000.0, "runs": 1}
    _write(
        float_run / "energy" / "energy.json",
        {
            "reports": {
                "cmos45nm_fp32": _energy_report("cmos45nm_fp32", 300_000.0, 6.99, [first, head]),
                "loihi": _energy_report("loihi", 80_000.0, None, [head], unpriced=["fc1"]),
            }
        },
    )
    _write(
        xylo_run / "summary.json",
        {
            "name": "xylo",
            "model": "lif_mlp",
            "test_accuracy_best": None,
            "test_accuracy_final": 0.95,
        },
    )
    _write(
        xylo_run / "chip-xylo" / "xylo.json", {"report": {"chip": "xylo", "chip_accuracy": 0.9472}}
    )
    return float_run, xylo_run


def test_the_table_has_one_line_per_run_and_explains_the_energy_ratio(runs):
    text = results_table(runs)
    lines = text.splitlines()
    assert lines[1].split()[:6] == ["run", "model", "float", "(best/latest)", "loihi", "xylo"]
    assert lines[2].split()[:7] == ["digits", "lif_mlp", "96.39", "%", "95.56", "%", "-"]
    assert "300 nJ on cmos45nm_fp32 (6.99× the ANN)" in lines[2]
    assert "80 nJ on loihi (without fc1: not priced)" in lines[2]
    assert lines[3].split()[:7] == ["xylo", "lif_mlp", "95.00", "%", "-", "94.72", "%"]
    # 297 of 300 nJ are the MACs of fc1, repeated at each of its 8 runs.
    assert lines[4].startswith("digits: E_SNN / E_ANN = 6.99 on cmos45nm_fp32: 99 % of the SNN")
    assert "fc1 (×8)" in lines[4]
    assert lines[5].startswith("details: ") and "energy.json" in lines[5] and len(lines) == 6
    assert run_results(runs[1])["which"] == "latest"


def test_cli_prints_the_table_and_names_a_missing_run(runs, tmp_path, capsys):
    assert main(["summary", *map(str, runs)]) == 0
    assert capsys.readouterr().out == results_table(runs) + "\n"
    assert main(["summary", str(tmp_path / "nothing")]) == 1
    assert "`run_results`: `run_dir` must be a finished run" in capsys.readouterr().err
    (runs[0] / "energy" / "energy.json").write_text("{oops")
    with pytest.raises(ValueError, match=r"energy.json must hold JSON"):
        run_results(runs[0])
