"""`spikejax deploy --brief` and `spikejax energy --brief`: two lines on the terminal, the full
report in a file beside the results."""

import json
import re

import pytest

from spikejax.cli import main
from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from spikejax.train import fit


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    config = Config(
        name="brief",
        data=DataConfig("digits", limit=64, prefetch=0, val_fraction=0.25),
        model=ModelConfig("lif_mlp", {"in_features": 64, "hidden": (8,), "num_classes": 10}),
        optimizer=OptimizerConfig("adam", lr=5e-3),
        train=TrainConfig(epochs=1, batch_size=16, num_steps=3, log_every=2, eval_batch_size=64),
    )
    run = tmp_path_factory.mktemp("brief") / "run"
    fit(config, run, progress=False, plots=False)
    return run


REPORT = {  # the keys of a `deploy` report that format_report and --brief read
    "chip": "loihi",
    "profile": "loihi2",
    "sizes": [64, 8, 10],
    "input_levels": 16,
    "readout": "mean",
    "latency_steps": 2,
    "test_samples": 360,
    "float_accuracy": 0.9611,
    "ptq_accuracy": 0.9583,
    "qat_accuracy": None,
    "exported": "ptq",
    "chip_accuracy": 0.9583,
    "accuracy_drop": 0.28,
    "saturations": 0,
    "stats": {"blocks.0": {"spikes": 12}},
    "fits": True,
    "fit": [{"ok": True, "resource": "cores", "where": "", "used": 2, "limit": 128}],
    "quantization": [
        {"path": "blocks.0", "name": "w", "max_abs_error": 0.01, "lsb": 0.02, "clipped": 0}
    ],
    "notes": ["reset to zero"],
}


def _files(out_dir):
    return {"npz": str(out_dir / "loihi.npz"), "json": str(out_dir / "loihi.json")}


def test_deploy_brief_prints_two_lines_and_writes_the_report_file(tmp_path, monkeypatch, capsys):
    import spikejax.chip.deploy as deploy_module

    def deploy(run_dir, chip, *, out_dir, **options):
        out_dir.mkdir(parents=True)
        return {**REPORT, "files": _files(out_dir)}

    monkeypatch.setattr(deploy_module, "deploy", deploy)
    run = tmp_path / "run"
    assert main(["deploy", str(run), "--chip", "loihi", "--brief"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    folder = run / "chip-loihi"
    assert out[1:] == [
        "loihi: test accuracy float 96.11 % -> chip 95.83 % (PTQ, drop 0.28 points, 360 "
        "samples); fits the chip",
        f"  details: {folder / 'deploy.txt'}, {folder / 'loihi.json'}",
    ]
    expected = deploy_module.format_report({**REPORT, "files": _files(folder)})
    assert (folder / "deploy.txt").read_text() == expected + "\n"
    assert "quantization" in expected and "semantic differences" in expected


@pytest.mark.slow
def test_deploy_brief_prints_two_lines_and_writes_the_report(run_dir, capsys):
    argv = ["deploy", str(run_dir), "--chip", "loihi", "--qat", "never", "--brief"]
    assert main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3 and out[0].startswith("deploying the best checkpoint")
    report = json.loads((run_dir / "chip-loihi" / "loihi.json").read_text())["report"]
    pct = f"{100 * report['chip_accuracy']:.2f} %"
    assert re.match(r"loihi: test accuracy float [\d.]+ % -> chip [\d.]+ % \(PTQ", out[1])
    assert pct in out[1] and f"{report['test_samples']} samples" in out[1]
    details = run_dir / "chip-loihi" / "deploy.txt"
    assert out[2] == f"  details: {details}, {run_dir / 'chip-loihi' / 'loihi.json'}"
    text = details.read_text()
    assert text.startswith("chip: loihi") and "resources:" in text and "quantization" in text


def test_energy_brief_prints_one_line_per_profile(tmp_path, capsys):
    out_dir = tmp_path / "energy"
    argv = ["energy", "lif_mlp", "--profile", "cmos45nm_fp32", "--profile", "loihi"]
    assert main([*argv, "--batch", "2", "--out", str(out_dir), "--brief"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    reports = json.loads((out_dir / "energy.json").read_text())["reports"]
    assert len(lines) == 2 + len(reports)
    for line, (name, report) in zip(lines[1:], reports.items(), strict=False):
        totals = report["totals"]
        assert line.startswith(f"{name}: {totals['e_snn_pj'] / 1e3:.4g} nJ per inference")
        if totals["ratio"] is not None:
            assert f"{totals['ratio']:.3g}× the ANN's {totals['e_ann_pj'] / 1e3:.4g} nJ" in line
        unpriced = report.get("unpriced", [])
        assert (f"without {', '.join(unpriced)}: not priced" in line) == bool(unpriced)
    assert any("not priced on loihi" in line for line in lines)  # the first layer reads reals
    assert lines[-1] == f"  details: {out_dir / 'energy.txt'}, {out_dir / 'energy.json'}"
    text = (out_dir / "energy.txt").read_text()
    assert len(re.findall(r"^E_SNN ", text, flags=re.MULTILINE)) == len(reports)
    assert "written:" in text
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "energy.json",
        "energy.txt",
        "energy_cmos45nm_fp32.png",
        "energy_loihi.png",
    ]


def test_energy_brief_needs_out(capsys):
    assert main(["energy", "lif_mlp", "--brief"]) == 1
    assert "`--brief` needs `--out`" in capsys.readouterr().err
