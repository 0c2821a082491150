"""The main job's path, shortened: real chrX and a real EMP task with a micro network."""

import json

import pytest

from findna.cli import main

MICRO = [
    "data.windows.window_length=64",
    "data.windows.num_windows=512",
    "data.val_windows=64",
    "model.max_len=74",
    "model.track_size=4",
    "model.hidden=16",
    "model.n_layers=1",
    "optim.batch_size=16",
    "run.val_every_n_steps=16",
    "run.ckpt_every_n_steps=16",
    "run.progress_bar=false",
]


@pytest.mark.data
@pytest.mark.slow
def test_demo_end_to_end_and_rerun_reuses_everything(shared_data, tmp_path):
    args = ["demo", "--out", str(tmp_path / "demo"), "--tasks", "gue/EMP/H3", "--seeds", "0,1"]
    args += [x for kv in MICRO for x in ("--set", kv)]
    args += ["--probe-set", "probe.epochs=5", "--probe-set", "probe.lrs=[0.01]"]
    assert main(args) == 0
    demo = tmp_path / "demo"
    report = (demo / "report.md").read_text()
    for name in ("findna", "ema99_alpha09", "cm-mnm"):
        summary = json.loads((demo / name / "summary.json").read_text())
        assert summary["global_step"] == 32
        assert (demo / name / "curves.png").is_file()
        assert (demo / name / "model" / "model.safetensors").is_file()
    assert "base-frequency baseline" in report
    # Which objective to pick: ranked on validation (the val means of the results), never test.
    bench = json.loads((demo / "benchmark" / "results.json").read_text())["results"]
    val = {}
    for r in bench:
        val.setdefault(r["model"], []).append(r["val_metrics"]["mcc"])
    best = max(val, key=lambda m: sum(val[m]) / len(val[m]))
    assert "## Which objective to pick" in report and f"1. {best} (probe)" in report
    assert "docs/study.md" in report
    assert "gue/EMP/H3" in report and "scratch" in report and "cm-mnm" in report
    assert "±" in report
    assert (demo / "benchmark" / "comparison.png").is_file()
    results = json.loads((demo / "benchmark" / "results.json").read_text())
    assert len(results["results"]) == 4 * 2  # four models x two seeds

    # A second run finds every part done and only rewrites the report.
    assert main(args) == 0
    assert "pretrain findna: 0 s" in (demo / "report.md").read_text()
