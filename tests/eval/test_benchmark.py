"""`findna benchmark`: model specs, suites, outputs, resuming, student versus teacher."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

import findna.eval.benchmark as bm
from findna.cli import main
from findna.config import config_to_dict, load_config
from findna.data.tasks import TaskSpec
from findna.eval.benchmark import BenchmarkConfig, run_benchmark
from findna.eval.features import FeatureConfig
from findna.eval.finetune import finetune_preset
from findna.eval.probe import ProbeConfig
from findna.eval.suites import resolve_tasks
from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork


def synthetic_tasks(tmp, n_tasks=2):
    """GC-rich (1) versus AT-rich (0) sequences of 16-24 bp, 50 per task."""
    specs = []
    for t in range(n_tasks):
        rng = np.random.default_rng(t)
        rows = []
        for i in range(50):
            p = [0.15, 0.35, 0.35, 0.15] if i % 2 else [0.35, 0.15, 0.15, 0.35]
            rows.append(("".join(rng.choice(list("ACGT"), int(rng.integers(16, 25)), p=p)), i % 2))
        path = tmp / f"t{t}.csv"
        pd.DataFrame(rows, columns=["sequence", "label"]).to_csv(path, index=False)
        specs.append(
            TaskSpec(
                f"synthetic/t{t}",
                "toy",
                {"all": str(path)},
                "table",
                num_classes=2,
                metric="mcc",
                protocol="resplit_70_10_20",
                max_len=24,
            )  # fmt: skip
        )
    return specs


def tiny_cfg() -> ModelConfig:
    return ModelConfig.tiny(hidden=8, n_layers=1)


@pytest.fixture
def pretrained(tmp_path):
    out = tmp_path / "runs" / "myrun" / "model"
    torch.manual_seed(0)
    FinDNANetwork(tiny_cfg()).save_pretrained(out)
    return out


def test_suites():
    assert len(resolve_tasks("emp")) == 7 and all(t.startswith("gue/EMP/") for t in
                                                  resolve_tasks("emp"))  # fmt: skip
    assert resolve_tasks("gb") == ["gb/human_enhancers_cohn", "gb/human_nontata_promoters"]
    assert set(resolve_tasks("emp")) < set(resolve_tasks("gue"))
    assert resolve_tasks("gue/EMP/H3, gb/human_enhancers_cohn") == [
        "gue/EMP/H3", "gb/human_enhancers_cohn",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown suite 'emps'"):
        resolve_tasks("emps")
    # a registered task whose name has no '/' (the per-base repeat tasks) is a task, not a suite
    assert resolve_tasks("repeats_hg19_chr22") == ["repeats_hg19_chr22"]
    with pytest.raises(ValueError, match="unknown task 'gue/EMP/H33'"):
        resolve_tasks("gue/EMP/H33")


def test_finetune_benchmark_writes_reports_and_resumes(tmp_path, pretrained, monkeypatch):
    tasks = synthetic_tasks(tmp_path)
    cfg = BenchmarkConfig(
        models=[f"findna={pretrained}", "scratch"], mode="finetune", seeds=[0, 1],
        out_dir=str(tmp_path / "bench"), finetune=finetune_preset("tiny", epochs=1),
    )  # fmt: skip
    calls = []
    real = bm.run_seed

    def counting(task, source, method, seed, **kw):
        calls.append((task.name, kw["model_name"], seed))
        return real(task, source, method, seed, **kw)

    monkeypatch.setattr(bm, "run_seed", counting)
    report = run_benchmark(cfg, tasks=tasks, root=tmp_path)
    assert len(calls) == 8 and len(report.results) == 8
    out = tmp_path / "bench"
    for name in ("results.json", "results.md", "comparison.png", "config.yaml", "results.jsonl"):
        assert (out / name).is_file(), name
    data = json.loads((out / "results.json").read_text())
    assert {r["model"] for r in data["results"]} == {"findna", "scratch"}
    summary = [s for s in data["summary"] if s["split"] == "test" and s["metric"] == "mcc"]
    assert len(summary) == 4 and all(s["n"] == 2 for s in summary)
    models = data["provenance"]["config"]["resolved_models"]
    assert models[0]["checkpoint_id"] != "scratch" and models[1]["checkpoint_id"] == "scratch"
    assert set(data["provenance"]["data_checksums"]) == {"synthetic/t0", "synthetic/t1"}
    md = (out / "results.md").read_text()
    assert "| task (primary metric) | findna (finetune) | scratch (finetune) |" in md
    assert md.count("± ") >= 4 and "(2)" in md
    # The scratch model copies the pretrained architecture, random per seed.
    scratch_ids = {r.hyperparameters["model_id"] for r in report.results if r.model == "scratch"}
    assert scratch_ids == {"scratch-seed0", "scratch-seed1"}

    # Resume: nothing is recomputed; a new seed runs only its own entries.
    calls.clear()
    again = run_benchmark(cfg, tasks=tasks, root=tmp_path)
    assert calls == [] and again.to_dict()["results"] == report.to_dict()["results"]
    # A killed run leaves a truncated last line: that entry alone is redone.
    log_path = out / "results.jsonl"
    lines = log_path.read_text().splitlines()
    log_path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40])
    run_benchmark(replace(cfg, seeds=[0, 1, 2]), tasks=tasks, root=tmp_path)
    last_key = tuple(json.loads(lines[-1])["key"])
    assert (last_key[0], last_key[1], last_key[3]) in calls
    assert len(calls) == 1 + 4  # the truncated entry + seed 2 of 2 tasks x 2 models
    assert len(log_path.read_text().splitlines()) == 12

    # Other settings in the same --out are refused.
    changed = replace(cfg, finetune=finetune_preset("tiny", epochs=2))
    with pytest.raises(ValueError, match="other settings"):
        run_benchmark(changed, tasks=tasks, root=tmp_path)


def test_student_versus_teacher_probe(tmp_path):
    """Table 9 preset: teacher=CKPT, student=CKPT:student in one benchmark."""
    cfg_model = tiny_cfg()
    state = {}
    for which, seed in (("teacher", 1), ("student", 2)):
        torch.manual_seed(seed)
        for k, v in FinDNANetwork(cfg_model).state_dict().items():
            state[f"model.{which}.{k}"] = v
    ckpt = tmp_path / "run" / "checkpoints" / "final.ckpt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"findna": {"config": {"model": config_to_dict(cfg_model)}}, "state_dict": state},
               ckpt)  # fmt: skip
    cfg = BenchmarkConfig(
        models=[f"teacher={ckpt}", f"student={ckpt}:student"], mode="probe", seeds=[0],
        out_dir=str(tmp_path / "bench"), probe=ProbeConfig(head="knn"),
    )  # fmt: skip
    report = run_benchmark(cfg, tasks=synthetic_tasks(tmp_path, 1), root=tmp_path)
    ids = {r.model: r.hyperparameters["model_id"] for r in report.results}
    assert ids["student"] == ids["teacher"] + "-student"
    assert {r.hyperparameters["which"] for r in report.results} == {"teacher", "student"}


def test_bad_inputs(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_benchmark(BenchmarkConfig(models=[str(tmp_path / "missing")], out_dir=str(tmp_path)),
                      tasks=synthetic_tasks(tmp_path, 1), root=tmp_path)  # fmt: skip
    with pytest.raises(ValueError, match="first pretrained model"):
        run_benchmark(BenchmarkConfig(models=["scratch"], out_dir=str(tmp_path)),
                      tasks=synthetic_tasks(tmp_path, 1), root=tmp_path)  # fmt: skip
    with pytest.raises(ValueError, match="repeats a seed"):
        BenchmarkConfig(seeds=[0, 0])
    code = main(["benchmark", "--suite", "nope", "--models", "scratch", "--out", str(tmp_path)])
    assert code == 2 and "unknown suite 'nope'" in capsys.readouterr().err
    code = main(["benchmark", "--suite", "emp", "--models", "a=x,a=y", "--out", str(tmp_path)])
    assert code == 2 and "given twice" in capsys.readouterr().err
    code = main(["benchmark", "--seeds", "0,x", "--models", "scratch", "--out", str(tmp_path)])
    assert code == 2 and "--seeds '0,x': 'x' is not an integer" in capsys.readouterr().err


def test_cli_flags_override_the_yaml(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("suite: gb\nmodels: [scratch]\nmode: finetune\nfinetune:\n  epochs: 2\n")
    cfg = bm.load_benchmark_config(path, ["finetune.lr=1e-3"], models="a=x,b=y:student",
                                   seeds="3,4", suite=None)  # fmt: skip
    assert (cfg.suite, cfg.models, cfg.seeds, cfg.mode) == ("gb", ["a=x", "b=y:student"], [3, 4],
                                                           "finetune")  # fmt: skip
    assert (cfg.finetune.epochs, cfg.finetune.lr) == (2, 1e-3)


@pytest.mark.parametrize("name", ["emp_probe", "emp_finetune", "gb_finetune", "ablations_tiny"])
def test_benchmark_presets_load(name):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs" / "benchmark"
    cfg = load_config(BenchmarkConfig, root / f"{name}.yaml")
    assert resolve_tasks(cfg.suite)


def test_settings_hash_keeps_benchmarks_written_before_the_precision_rename():
    """Before the rename the probe's feature precision was spelled "32", and before n_cls
    followed the model it was 10; the hash that decides whether results.jsonl may be resumed
    must not change for the same settings (a CLS pooling's count may, so it is keyed)."""
    from findna.provenance import config_hash

    cfg = BenchmarkConfig(models=["scratch"], seeds=[0])
    old = config_to_dict(cfg.probe)
    old["features"]["precision"] = "32"
    old["features"]["n_cls"] = 10
    del old["head_threads"]  # added later; keyed only when changed
    del old["depth"]  # added later (issue 21); keyed only when changed
    written_then = config_hash({
        "mode": "probe", "probe": old, "split_seed": 0, "per_task_presets": False,
        "scratch": None,
    })  # fmt: skip
    assert cfg.probe.features.precision == "32-true"
    assert bm._settings_hash(cfg, None) == written_then
    cls = BenchmarkConfig(models=["scratch"], seeds=[0],
                          probe=ProbeConfig(features=FeatureConfig(pooling="cls")))  # fmt: skip
    assert bm._settings_hash(cls, None) != bm._settings_hash(
        replace(cls, probe=ProbeConfig(features=FeatureConfig(pooling="cls", n_cls=10))),
        None,
    )
