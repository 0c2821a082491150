"""Multi-label (issue 23): metrics against hand-computed values, labels without both classes
reported and left out of the macro means, the probe and fine-tuning with BCE heads, the task
types' dispatch."""

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from gc_sequences import gc_biased_sequence

from findna.data.tasks import load_task
from findna.data.user_layouts import UserTaskOptions
from findna.data.user_tasks import resolve_task
from findna.eval.features import FeatureConfig
from findna.eval.metrics import METRIC_NAMES, compute_metrics
from findna.eval.multilabel import labels_without_both_classes, multilabel_metrics, sigmoid
from findna.eval.probe import ProbeConfig, probe_task
from findna.eval.task_types import KINDS, task_kind
from findna.model.config import ModelConfig

Y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
P = np.array([[0.9, 0.2, 0.1], [0.3, 0.6, 0.5], [0.4, 0.7, 0.2], [0.5, 0.1, 0.3]])


def test_metrics_match_hand_computed_values():
    m = compute_metrics(Y, P, task_type="multilabel", targets=["a", "b", "c"])
    # label a: positives {0.9, 0.4}, negatives {0.3, 0.5}: pairs won 0.9>0.3, 0.9>0.5, 0.4>0.3
    assert m["auroc_a"] == pytest.approx(3 / 4)
    # ranked 0.9 (+), 0.5 (-), 0.4 (+), 0.3 (-): precision 1 at the first hit, 2/3 at the second
    assert m["auprc_a"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["auroc_b"] == pytest.approx(1.0) and m["auprc_b"] == pytest.approx(1.0)
    # label c has no positive row: reported, NaN per label, left out of the macro means
    assert math.isnan(m["auroc_c"]) and math.isnan(m["auprc_c"])
    assert m["macro_auroc"] == pytest.approx((3 / 4 + 1) / 2)
    assert m["macro_auprc"] == pytest.approx(((1 + 2 / 3) / 2 + 1) / 2)
    assert m["labels_scored"] == 2
    assert labels_without_both_classes(Y, ["a", "b", "c"]) == ["c"]
    assert labels_without_both_classes(np.array([[1, 0], [1, 1]])) == ["0"]  # all positive
    assert {"macro_auroc", "macro_auprc"} <= set(METRIC_NAMES)


def test_no_label_scored_gives_nan_and_bad_inputs_are_named():
    m = multilabel_metrics(np.zeros((3, 2)), np.full((3, 2), 0.5))
    assert math.isnan(m["macro_auroc"]) and m["labels_scored"] == 0
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        multilabel_metrics(Y, P * 3)
    with pytest.raises(ValueError, match="must be 0 or 1"):
        multilabel_metrics(Y * 2, P)
    with pytest.raises(ValueError, match="must both be"):
        multilabel_metrics(Y, P[:, :2])
    assert sigmoid(np.array([0.0, 800.0, -800.0])).tolist() == [0.5, 1.0, 0.0]


def test_task_types_define_outputs_loss_and_predictions():
    assert set(KINDS) >= {"classification", "regression", "multilabel"}
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.3]])
    multi, cls = task_kind("multilabel"), task_kind("classification")
    y = np.array([[1, 0], [0, 1]])
    target = torch.tensor(multi.train_targets(y, None))
    assert target.dtype == torch.float32
    assert multi.loss(logits, target) == pytest.approx(
        F.binary_cross_entropy_with_logits(logits, target).item()
    )
    assert cls.loss(logits, torch.tensor([0, 1])) == pytest.approx(
        F.cross_entropy(logits, torch.tensor([0, 1])).item()
    )
    assert np.allclose(multi.predictions(logits.numpy(), None), torch.sigmoid(logits).numpy())
    assert multi.problem_type == "multi_label_classification" and multi.columns == (
        "target",
        "prob",
    )
    assert multi.notes({"val": y[:1]}, ["a", "b"]) == {
        "labels_without_both_classes": {"val": ["a", "b"]}
    }
    with pytest.raises(ValueError, match="task type 'nope' has no heads"):
        task_kind("nope")


# --- probe and fine-tuning on a synthetic multi-label task -------------------------------------


def _rows(rng, n):
    rows = []
    for _ in range(n):
        seq = gc_biased_sequence(rng)
        gc = sum(c in "GC" for c in seq) / len(seq)
        rows.append((seq, int(gc > 0.5), int(seq.count("A") > 0.3 * len(seq)), int(gc > 0.75)))
    return pd.DataFrame(rows, columns=["sequence", "gc_rich", "a_rich", "very_gc"])


@pytest.fixture(scope="module")
def multi_task(tmp_path_factory):
    """Split tables; the validation split has no ``very_gc`` row (a label without positives)."""
    folder = tmp_path_factory.mktemp("multi")
    rng = np.random.default_rng(0)
    train, test = _rows(rng, 80), _rows(rng, 30)
    val = _rows(rng, 40)
    val = val[val["very_gc"] == 0].head(20)
    for name, part in (("train", train), ("val", val), ("test", test)):
        part.to_csv(folder / f"{name}.csv", index=False)
    opts = UserTaskOptions(task_type="multilabel", target_columns=("gc_rich", "a_rich", "very_gc"))
    return load_task(resolve_task(str(folder), opts), seed=0)


TINY = ModelConfig.tiny(max_len=64)
FAST = ProbeConfig(
    epochs=10, batch_size=32, lrs=(1e-3, 1e-2), features=FeatureConfig(batch_size=64)
)


@pytest.mark.parametrize("head", ["linear", "knn"])
def test_probe_reports_multilabel_metrics_and_labels_left_out(multi_task, tmp_path, head):
    cfg = replace(FAST, head=head)
    report = probe_task(multi_task, "scratch", cfg, [0, 1], tmp_path / "out", scratch_config=TINY)
    r = report.results[0]
    assert r.primary_metric == "macro_auroc"
    assert r.hyperparameters["labels_without_both_classes"]["val"] == ["very_gc"]
    assert math.isnan(r.val_metrics["auroc_very_gc"]) and r.val_metrics["labels_scored"] == 2
    assert r.val_metrics["macro_auroc"] == pytest.approx(
        (r.val_metrics["auroc_gc_rich"] + r.val_metrics["auroc_a_rich"]) / 2
    )
    if head == "linear":
        assert set(r.hyperparameters["val_by_lr"]) == {"0.001", "0.01"}
    preds = pd.read_csv(tmp_path / "out" / "predictions" / "seed0.csv")
    assert list(preds.columns)[2:5] == ["target_gc_rich", "target_a_rich", "target_very_gc"]
    probs = preds[["prob_gc_rich", "prob_a_rich", "prob_very_gc"]].to_numpy()
    assert ((probs >= 0) & (probs <= 1)).all()
    assert np.array_equal(preds["target_a_rich"], multi_task.test.labels[:, 1])
    scored = multilabel_metrics(multi_task.test.labels, probs, multi_task.spec.targets)
    assert scored["macro_auroc"] == pytest.approx(r.test_metrics["macro_auroc"])
    md = (tmp_path / "out" / "probe.md").read_text()
    assert f"| {multi_task.spec.name} (macro_auroc) |" in md
    assert f"- {multi_task.spec.name}, scratch (probe): macro_auprc " in md
    left = "left out of the macro means (no positive or no negative row): seed 0: very_gc, "
    assert left + "seed 1: very_gc" in report.to_markdown(split="val")
    summary = json.loads((tmp_path / "out" / "probe.json").read_text())["summary"]
    row = next(s for s in summary if s["metric"] == "macro_auroc" and s["split"] == "test")
    assert row["n"] == 2  # mean +- std over the two seeds


def test_finetune_trains_bce_heads_and_selects_on_validation(multi_task, monkeypatch):
    import findna.eval.finetune_loop as loop
    from findna.eval.finetune import finetune_preset, run_finetune

    losses = []
    real = loop.TaskKind.loss

    def spy(self, outputs, targets):
        losses.append((self.name, tuple(outputs.shape), targets.dtype))
        return real(self, outputs, targets)

    monkeypatch.setattr(loop.TaskKind, "loss", spy)
    cfg = finetune_preset("tiny", epochs=2, lr=1e-2)
    r = run_finetune(multi_task, "scratch", cfg, seed=0, scratch_config=TINY)
    assert r.primary_metric == "macro_auroc" and 1 <= r.hyperparameters["best_epoch"] <= 2
    assert {name for name, _, _ in losses} == {"multilabel"}
    assert all(shape[1] == 3 and dtype == torch.float32 for _, shape, dtype in losses)
    assert r.hyperparameters["labels_without_both_classes"]["val"] == ["very_gc"]
    assert r.test_metrics["labels_scored"] == 3 - len(
        labels_without_both_classes(multi_task.test.labels)
    )


def test_check_task_names_how_the_splits_were_made(tmp_path):
    from findna.eval.task_driver import check_task

    rows = _rows(np.random.default_rng(3), 40).assign(gc_rich=0)
    rows.loc[:1, "gc_rich"] = 1  # two positives: at most one split holds both classes
    rows[["sequence", "gc_rich"]].to_csv(tmp_path / "t.csv", index=False)
    opts = UserTaskOptions(task_type="multilabel", target_columns=("gc_rich",))
    with pytest.raises(ValueError) as err:
        check_task(load_task(resolve_task(str(tmp_path / "t.csv"), opts), seed=0))
    text = str(err.value)
    assert "no label of the" in text and "has both positive and negative rows" in text
    assert text.endswith(
        "(splits: given: none; train, val, test filled by resplit_70_10_20: all rows pooled, "
        "then a seeded random 70/10/20 re-split; split seed 0)"
    )
