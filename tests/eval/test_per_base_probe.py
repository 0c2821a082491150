"""The per-base probe (issue 23): metrics by hand, the memmap-streamed head against an in-memory
fit, and the probe end to end through the task driver (findna probe / benchmark path)."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, matthews_corrcoef

from findna.data.per_base import PAD_LABEL, PerBaseSequences, pad_labels
from findna.data.tasks import TaskSpec, load_task
from findna.eval.benchmark import run_benchmark
from findna.eval.benchmark_config import BenchmarkConfig
from findna.eval.features import FeatureConfig, iter_token_states
from findna.eval.finetune_config import FinetuneConfig
from findna.eval.per_base_finetune import finetune_per_base_task
from findna.eval.per_base_metrics import per_base_metrics
from findna.eval.per_base_probe import Scaler, train_token_heads
from findna.eval.per_base_tokens import flat_labels, token_store
from findna.eval.probe import ProbeConfig, probe_task, run_probe, train_heads
from findna.model.config import ModelConfig
from findna.model.loading import load_encoder

TINY = ModelConfig.tiny(max_len=64, track_size=2)
FAST = ProbeConfig(epochs=10, batch_size=8, lrs=(1e-2, 1e-1), features=FeatureConfig(batch_size=16))


def test_metrics_by_hand():
    y = np.array([[0, 0, 1, 1, 1, PAD_LABEL]])
    p = np.array([[0, 1, 1, 1, 0, 1]])  # the padding prediction is never counted
    m = per_base_metrics(y, p, 2, ("other", "repeat"))
    # class 1 positive: TP 2, TN 1, FP 1, FN 1 -> (2*1 - 1*1) / sqrt(3*3*2*2) = 1/6
    assert m["mcc"] == pytest.approx(1 / 6)
    assert m["f1_repeat"] == pytest.approx(4 / 6) and m["f1_other"] == pytest.approx(0.5)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["macro_f1"] == pytest.approx((4 / 6 + 0.5) / 2)
    constant = per_base_metrics(np.array([0, 1, 1]), np.array([1, 1, 1]), 2)
    assert constant["mcc"] == 0.0 and constant["f1_0"] == 0.0


def test_metrics_match_sklearn_on_three_classes():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    p[:200] = y[:200]
    m = per_base_metrics(y, p, 3)
    assert m["mcc"] == pytest.approx(matthews_corrcoef(y, p))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    for k, v in enumerate(f1_score(y, p, average=None)):
        assert m[f"f1_{k}"] == pytest.approx(v)


def test_a_class_absent_from_truth_and_predictions_has_no_f1():
    """A 3-class model scored on a split without class 2, that it never predicted: f1_2 is NaN
    and macro F1 averages classes 0 and 1, as scikit-learn's does; a class predicted but absent
    from the truth still counts, with F1 0."""
    y, p = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0])
    m = per_base_metrics(y, p, 3)
    assert np.isnan(m["f1_2"]) and m["f1_0"] == pytest.approx(0.5)
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    wrong = per_base_metrics(y, np.array([0, 2, 1, 1, 0]), 3)
    assert wrong["f1_2"] == 0.0 and wrong["macro_f1"] == pytest.approx((0.5 + 0.8 + 0) / 3)


def _gc_part(n: int, seed: int, prefix: str) -> PerBaseSequences:
    """Random sequences of 20-40 bp; a base's label is 1 for G or C (readable from its token)."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), rng.integers(20, 41))) for _ in range(n)]
    rows = [np.array([b in "GC" for b in s], np.int8) for s in seqs]
    return PerBaseSequences(seqs, pad_labels(rows), [f"{prefix}{i}" for i in range(n)])


def _gc_spec(path):
    files = {role: str(path) for role in ("train", "dev", "test")}
    return TaskSpec(
        "toy/gc_bases",
        "toy",
        files,
        "table",
        2,
        "mcc",
        "official",
        classes=("0", "1"),
        split_column="split",
        task_type="per_base",
    )


@pytest.fixture(scope="module")
def gc_task(tmp_path_factory):
    """80 sequences in a table with a split column, label strings 1 for G/C, 0 for A/T."""
    path = tmp_path_factory.mktemp("gc") / "gc_bases.tsv"
    rows = ["sequence\tlabel\tsplit"]
    for (n, seed), split in zip(((48, 0), (16, 1), (16, 2)), ("train", "val", "test"), strict=True):
        part = _gc_part(n, seed, split)
        labels = ["".join(map(str, part.base_labels(i))) for i in range(n)]
        rows += [f"{s}\t{lab}\t{split}" for s, lab in zip(part.seqs, labels, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    files = {role: str(path) for role in ("train", "dev", "test")}
    spec = TaskSpec(
        "toy/gc_bases",
        "toy",
        files,
        "table",
        2,
        "mcc",
        "official",
        classes=("0", "1"),
        split_column="split",
        task_type="per_base",
    )
    data = load_task(spec)
    assert [len(p) for p in data.splits().values()] == [48, 16, 16]
    return data


def test_streamed_head_equals_in_memory_fit(gc_task, tmp_path):
    net, model_id = load_encoder("scratch", max_len=40, seed=0, scratch_config=TINY)
    cfg = FeatureConfig(batch_size=7)
    store, seconds, cached = token_store(
        net, model_id, "toy", 0, "train", gc_task.train, cfg, tmp_path
    )
    assert not cached and store.feats.dtype == np.float16 and isinstance(store.feats, np.memmap)
    # In memory: every token state at once, the same float16 rounding, one flat array.
    x = np.concatenate(list(iter_token_states(net, gc_task.train.seqs, cfg)))
    x = x.astype(np.float16).astype(np.float32)
    y, _ = flat_labels(gc_task.train)
    assert np.array_equal(np.asarray(store.feats, np.float32), x)
    mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    # Full batches: the streamed trainer (48 sequences per batch) and the sequence probe's
    # trainer (every token in one batch) take the same steps from the same initialisation.
    full = replace(FAST, batch_size=len(gc_task.train), epochs=5)
    streamed = train_token_heads(store, Scaler.fit(store), 2, full, seed=3)
    memory = train_heads((x - mean) / std, y, 2, replace(full, batch_size=len(x)), seed=3)
    for a, b in zip(streamed, memory, strict=True):
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            torch.testing.assert_close(pa, pb, atol=1e-4, rtol=1e-4)
    again, _, cached = token_store(net, model_id, "toy", 0, "train", gc_task.train, cfg, tmp_path)
    assert cached and np.array_equal(again.feats, store.feats)


def test_probe_runs_per_base_through_the_driver(gc_task, tmp_path):
    result = run_probe(gc_task, "scratch", FAST, 0, cache_dir=tmp_path, scratch_config=TINY)
    hp = result.hyperparameters
    assert result.primary_metric == "mcc" and result.test_metrics["mcc"] > 0.9
    assert set(result.test_metrics) == {"mcc", "accuracy", "macro_f1", "f1_0", "f1_1"}
    assert hp["lr"] in FAST.lrs and set(hp["val_by_lr"]) == {repr(lr) for lr in FAST.lrs}
    assert result.val_metrics["mcc"] == hp["val_by_lr"][repr(hp["lr"])]
    assert hp["max_len"] == 40 and hp["train_bases"] == int(gc_task.train.lengths().sum())
    assert result.split_sizes["train"]["bases"] == hp["train_bases"]
    again = run_probe(gc_task, "scratch", FAST, 0, cache_dir=tmp_path, scratch_config=TINY)
    assert again.hyperparameters["features_cached"] and again.test_metrics == result.test_metrics


def test_probe_report_and_knn_refusal(gc_task, tmp_path):
    report = probe_task(gc_task, "scratch", FAST, [0], tmp_path / "out", scratch_config=TINY)
    assert (tmp_path / "out" / "probe.md").is_file() and report.results[0].task == "toy/gc_bases"
    with pytest.raises(ValueError, match="head knn is not offered for per-base tasks"):
        run_probe(gc_task, "scratch", replace(FAST, head="knn"), 0, scratch_config=TINY)


def test_benchmark_mixes_a_per_base_and_a_sequence_task(gc_task, tmp_path):
    table = tmp_path / "cls.csv"
    rows = [f"{s},{int(s.count('G') + s.count('C') > len(s) / 2)}" for s in gc_task.train.seqs]
    table.write_text("sequence,label\n" + "\n".join(rows) + "\n")
    cls = TaskSpec("toy/cls", "toy", {"all": str(table)}, "table", 2, "mcc", "resplit_70_10_20")
    cfg = BenchmarkConfig(
        models=["scratch"],
        mode="probe",
        seeds=[0],
        out_dir=str(tmp_path / "bench"),
        scratch_model=TINY,
        probe=FAST,
    )
    report = run_benchmark(cfg, tasks=[gc_task.spec, cls], root=tmp_path)
    by_task = {r.task: r for r in report.results}
    assert by_task["toy/gc_bases"].test_metrics["mcc"] > 0.9
    assert "f1_1" in by_task["toy/gc_bases"].test_metrics
    assert by_task["toy/gc_bases"].hyperparameters["max_len"] == 40
    assert "train_bases" not in by_task["toy/cls"].hyperparameters


def test_finetune_end_to_end_selects_the_epoch_on_validation(gc_task, tmp_path):
    cfg = FinetuneConfig(epochs=3, batch_size=8, lr=3e-3, warmup_frac=0.1, precision="32-true")
    report = finetune_per_base_task(
        gc_task, "scratch", cfg, [0], tmp_path / "ft", scratch_config=TINY, save_models=True
    )
    (result,) = report.results
    hp = result.hyperparameters
    assert result.mode == "finetune" and result.primary_metric == "mcc"
    assert len(hp["val_by_epoch"]) == 3 and hp["saved"] is True
    best = max(range(3), key=lambda e: hp["val_by_epoch"][e])
    assert hp["selected_epoch"] == best + 1
    assert result.val_metrics["mcc"] == hp["val_by_epoch"][best]
    assert result.test_metrics["mcc"] > 0.5 and "f1_0" in result.test_metrics
    assert (tmp_path / "ft" / "finetune.md").is_file()
    assert (tmp_path / "ft" / "seed0" / "task.json").is_file()  # tests/eval/test_predict_per_base
