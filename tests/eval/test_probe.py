"""Frozen-feature probes: accuracy on a separable task, validation-only selection, kNN, reports."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from findna.cli import main
from findna.config import load_config
from findna.data.tasks import TaskData, TaskSpec, load_task
from findna.eval import probe as probe_module
from findna.eval.embed import plot_task_embeddings
from findna.eval.features import FeatureConfig
from findna.eval.probe import ProbeConfig, probe_task, run_probe, train_heads
from findna.eval.report import BenchmarkReport
from findna.model.config import ModelConfig

TINY = ModelConfig.tiny(max_len=64)
REPO = Path(__file__).resolve().parents[2]
FAST = ProbeConfig(epochs=15, batch_size=32, features=FeatureConfig(batch_size=64))


def _gc_task_csv(path: Path, n: int = 150, noise: float = 0.0, seed: int = 0) -> Path:
    """Class 0 AT-rich, class 1 GC-rich sequences of 20-40 bp; ``noise`` flips labels."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        y = i % 2
        p = [0.35, 0.15, 0.15, 0.35] if y == 0 else [0.15, 0.35, 0.35, 0.15]
        seq = "".join(rng.choice(list("ACGT"), rng.integers(20, 40), p=p))
        rows.append((seq, int(y != (rng.random() < noise))))
    pd.DataFrame(rows, columns=["sequence", "label"]).to_csv(path, index=False)
    return path


def _task(path: Path, name: str = "synthetic/gc") -> TaskData:
    spec = TaskSpec(name, "toy", {"all": str(path)}, "table", 2, "accuracy", "resplit_70_10_20",
                    max_len=40)  # fmt: skip
    return load_task(spec, seed=0)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    return _task(_gc_task_csv(tmp_path_factory.mktemp("gc") / "gc.csv"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def test_linear_probe_separates_gc_content(task, cache):
    result = run_probe(task, "scratch", FAST, 0, cache_dir=cache, scratch_config=TINY)
    hp = result.hyperparameters
    assert result.mode == "probe" and result.model == "scratch" and result.task == "synthetic/gc"
    assert result.test_metrics["accuracy"] >= 0.9
    assert hp["lr"] in FAST.lrs and set(hp["val_by_lr"]) == {repr(lr) for lr in FAST.lrs}
    assert hp["val_by_lr"][repr(hp["lr"])] == max(hp["val_by_lr"].values())
    assert hp["model_id"] == "scratch-seed0" and hp["max_len"] == 40
    assert result.timings["features_s"] > 0
    again = run_probe(task, "scratch", FAST, 0, cache_dir=cache, scratch_config=TINY)
    assert again.hyperparameters["features_cached"] and again.timings["features_s"] == 0
    assert again.test_metrics == result.test_metrics  # same seed: same heads


def test_lr_is_selected_on_validation_only(tmp_path, monkeypatch):
    task = _task(_gc_task_csv(tmp_path / "noisy.csv", n=120, noise=0.1, seed=1))
    cfg = replace(FAST, lrs=(1e-5, 1e-1), epochs=5)
    flipped = replace(task, test=replace(task.test, labels=1 - task.test.labels))
    calls = []
    real = probe_module.head_probs
    monkeypatch.setattr(probe_module, "head_probs", lambda h, x: calls.append(len(x)) or real(h, x))
    a = run_probe(task, "scratch", cfg, 0, cache_dir=tmp_path, scratch_config=TINY)
    assert calls == [len(task.val)] * 2 + [len(task.test)]  # each head on val, one on test
    b = run_probe(flipped, "scratch", cfg, 0, cache_dir=tmp_path, scratch_config=TINY)
    assert a.hyperparameters["lr"] == b.hyperparameters["lr"] == 1e-1
    assert a.val_metrics == b.val_metrics
    assert b.test_metrics["accuracy"] == pytest.approx(1 - a.test_metrics["accuracy"])


def test_knn_and_mlp_heads(task, cache):
    knn = run_probe(task, "scratch", replace(FAST, head="knn"), 0, cache_dir=cache,
                    scratch_config=TINY)  # fmt: skip
    assert knn.hyperparameters["k"] == 5 and "lr" not in knn.hyperparameters
    assert knn.test_metrics["accuracy"] >= 0.8
    mlp = run_probe(task, "scratch", replace(FAST, head="mlp", mlp_hidden=16, lrs=(3e-3,)), 0,
                    cache_dir=cache, scratch_config=TINY)  # fmt: skip
    assert mlp.test_metrics["accuracy"] >= 0.8 and mlp.hyperparameters["lr"] == 3e-3


def test_train_heads_is_seeded():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    cfg = replace(FAST, epochs=3, lrs=(1e-2, 1e-1))
    a, b, c = (train_heads(x, y, 2, cfg, s) for s in (0, 0, 1))
    w = [[h.net.weight.detach().numpy() for h in heads] for heads in (a, b, c)]
    np.testing.assert_array_equal(w[0][0], w[1][0])
    assert not np.allclose(w[0][0], w[2][0]) and not np.allclose(w[0][0], w[0][1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"head": "svm"}, "head must be"),
        ({"lrs": ()}, "lrs must be a non-empty"),
        ({"lrs": (1e-3, 1e-3)}, "duplicates"),
        ({"lrs": (-1.0,)}, "positive"),
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"warmup_frac": 1.5}, "warmup_frac"),
        ({"max_len": 0}, "probe.max_len must be a positive number of tokens or null"),
    ],
)
def test_probe_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProbeConfig(**kwargs)


def test_probe_presets_load():
    paper = load_config(ProbeConfig, REPO / "configs/probe/paper.yaml")
    assert (paper.batch_size, paper.weight_decay, paper.epochs, paper.warmup_frac) == (
        1024, 0.1, 50, 0.3)  # fmt: skip
    assert 1e-2 in paper.lrs and paper.features.pooling == "masked_mean"
    knn = load_config(ProbeConfig, REPO / "configs/probe/knn.yaml", ["features.pooling=cls"])
    assert knn.head == "knn" and knn.features.pooling == "cls"


def test_probe_task_writes_report_with_provenance(task, tmp_path):
    cfg = replace(FAST, head="knn")
    report = probe_task(task, "scratch", cfg, [0, 1], tmp_path, scratch_config=TINY)
    assert [r.seed for r in report.results] == [0, 1]
    back = BenchmarkReport.from_json(tmp_path / "probe.json")
    assert back.provenance.checkpoint_id == "scratch"
    assert list(back.provenance.data_checksums["synthetic/gc"]) == [task.spec.files["all"]]
    assert "synthetic/gc (accuracy)" in (tmp_path / "probe.md").read_text()
    assert load_config(ProbeConfig, tmp_path / "config.yaml") == cfg
    assert list((tmp_path / "features").glob("*.npy"))  # default cache under OUT
    with pytest.raises(ValueError, match="seeds must be distinct"):
        probe_task(task, "scratch", cfg, [0, 0], tmp_path)


def test_probe_task_checksums_files_under_the_root_the_task_came_from(tmp_path):
    (tmp_path / "data").mkdir()
    _gc_task_csv(tmp_path / "data" / "gc.csv", n=60)
    spec = TaskSpec("synthetic/rel", "toy", {"all": "gc.csv"}, "table", 2, "accuracy",
                    "resplit_70_10_20", max_len=40)  # fmt: skip
    task = load_task(spec, seed=0, root=tmp_path / "data")  # not the default data root
    cfg = replace(FAST, head="knn")
    report = probe_task(task, "scratch", cfg, [0], tmp_path / "out", scratch_config=TINY)
    assert list(report.provenance.data_checksums["synthetic/rel"]) == ["gc.csv"]


def test_probe_task_keeps_seed_results_when_provenance_fails(task, tmp_path, monkeypatch):
    from findna.provenance import Provenance

    def broken(*args, **kwargs):
        raise FileNotFoundError("data file went away")

    monkeypatch.setattr(Provenance, "collect", broken)
    with pytest.raises(FileNotFoundError, match="went away"):
        probe_task(task, "scratch", replace(FAST, head="knn"), [0, 1], tmp_path,
                   scratch_config=TINY)  # fmt: skip
    saved = json.loads((tmp_path / "probe_seeds.json").read_text())
    assert [r["seed"] for r in saved] == [0, 1] and saved[0]["task"] == "synthetic/gc"
    assert not (tmp_path / "probe.json").exists()


@pytest.mark.data
def test_cli_probe_on_a_real_task(shared_data, tmp_path, capsys):
    tiny_yaml = tmp_path / "tiny.yaml"
    tiny_yaml.write_text("track_size: 4\nhidden: 16\nn_layers: 1\nmax_len: 64\n")
    code = main(["probe", "--task", "dnabert/dev_6mer", "--model", "scratch", "--scratch-model",
                 str(tiny_yaml), "--set", "head=knn", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    data = json.loads((tmp_path / "out" / "probe.json").read_text())
    assert data["results"][0]["task"] == "dnabert/dev_6mer"
    assert -1.0 <= data["results"][0]["test_metrics"]["mcc"] <= 1.0
    assert "dnabert/dev_6mer (mcc)" in capsys.readouterr().out
    png = tmp_path / "map.png"
    args = ["--model", "scratch", "--scratch-model", str(tiny_yaml), "--out", str(png)]
    code = main(["plot-embeddings", "--task", "dnabert/dev_6mer", "--method", "pca", *args])
    assert code == 0 and png.read_bytes().startswith(b"\x89PNG")


def test_plot_task_embeddings_draws_a_split(task, tmp_path):
    out = plot_task_embeddings(task.spec, "scratch", tmp_path / "map.png", split="val",
                               method="pca", scratch_config=TINY)  # fmt: skip
    assert out.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="split must be"):
        plot_task_embeddings(task.spec, "scratch", tmp_path / "x.png", split="dev")
