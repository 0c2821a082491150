"""Regression (issue 23): metrics against hand-computed values, train-only standardisation."""

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from findna.data.tasks import TaskSpec, load_task
from findna.eval import regression
from findna.eval.features import FeatureConfig
from findna.eval.metrics import METRIC_NAMES, compute_metrics
from findna.eval.probe import ProbeConfig, probe_task, run_probe
from findna.eval.regression import Standardiser
from findna.model.config import ModelConfig

Y = np.array([[1.0, 10.0], [2.0, 30.0], [3.0, 20.0], [4.0, 50.0], [5.0, 40.0]], dtype=np.float32)
P = np.array([[1.5, 12.0], [1.9, 25.0], [3.4, 26.0], [3.8, 41.0], [5.2, 47.0]], dtype=np.float32)


def _r2(y, p):
    return 1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_metrics_match_hand_computed_values():
    m = compute_metrics(Y, P, targets=["gc", "length"])
    y, p = Y.astype(np.float64), P.astype(np.float64)
    r = [np.corrcoef(y[:, j], p[:, j])[0, 1] for j in range(2)]
    rho = [np.corrcoef(rankdata(y[:, j]), rankdata(p[:, j]))[0, 1] for j in range(2)]
    r2 = [_r2(y[:, j], p[:, j]) for j in range(2)]
    assert m["pearson_gc"] == pytest.approx(r[0]) and m["pearson_length"] == pytest.approx(r[1])
    assert m["spearman_gc"] == pytest.approx(rho[0]) and m["r2_length"] == pytest.approx(r2[1])
    assert m["pearson"] == pytest.approx(np.mean(r)) and m["spearman"] == pytest.approx(
        np.mean(rho)
    )
    assert m["r2"] == pytest.approx(np.mean(r2))
    assert set(m) == {"pearson", "spearman", "r2"} | {
        f"{k}_{t}" for k in ("pearson", "spearman", "r2") for t in ("gc", "length")
    }
    for name in ("pearson", "spearman", "r2"):
        assert name in METRIC_NAMES and getattr(regression, name)(Y, P) == pytest.approx(m[name])
    assert compute_metrics(Y[:, 0], P[:, 0], task_type="regression")["pearson_0"] == pytest.approx(
        r[0]
    )


def test_constant_prediction_is_nan_not_an_error():
    m = compute_metrics(Y, np.ones_like(P))
    assert math.isnan(m["pearson"]) and math.isnan(m["spearman_0"]) and math.isnan(m["pearson_1"])
    assert not math.isnan(m["r2"])


def test_classification_dispatch_is_unchanged():
    y = np.array([0, 1, 1, 0])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    assert set(compute_metrics(y, probs)) == {"accuracy", "mcc", "macro_f1", "micro_f1", "auroc"}
    with pytest.raises(ValueError, match="must both be"):
        compute_metrics(Y, P[:, :1])


def test_standardiser_uses_train_statistics():
    s = Standardiser.fit(Y)
    z = s.transform(Y)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-6) and np.allclose(z.std(axis=0), 1, atol=1e-6)
    assert np.allclose(s.inverse(z), Y, atol=1e-4)
    assert np.allclose(Standardiser.fit(np.ones((3, 1))).std, 1.0)  # a constant target


# --- probe, driver and reports on a synthetic regression task (target: GC fraction, length) ---


def _gc_csv(path, n=160, seed=0):
    """Sequences of 20-40 bp whose GC probability varies per row (the target follows it)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        g = rng.uniform(0.1, 0.9) / 2
        rows.append(
            ("".join(rng.choice(list("ACGT"), rng.integers(20, 40), p=[0.5 - g, g, g, 0.5 - g])), 0)
        )
    pd.DataFrame(rows, columns=["sequence", "label"]).to_csv(path, index=False)
    return path


def _values(seqs, targets):
    gc = [sum(c in "GC" for c in s) / len(s) for s in seqs]
    cols = {"gc": gc, "length": [float(len(s)) for s in seqs]}
    return np.stack([cols[t] for t in targets], axis=1).astype(np.float32)


def _with_labels(part, labels):
    out = replace(part)
    object.__setattr__(out, "labels", labels)  # float (N, T) targets as the data layer keeps them
    return out


def _regression_spec(base, targets):
    return replace(base, metric="pearson", task_type="regression", targets=targets)


def regression_task(path, targets=("gc",), name="synthetic/gc-reg"):
    """The CSV's sequences as a classification task re-split 70/10/20, then its labels replaced
    by the targets computed from the sequences (GC fraction, length)."""
    files = {"all": str(path)}
    base = TaskSpec(name, "toy", files, "table", 2, "accuracy", "resplit_70_10_20", max_len=40)
    task = load_task(base, seed=0)
    parts = {k: _with_labels(v, _values(v.seqs, targets)) for k, v in task.splits().items()}
    return replace(task, spec=_regression_spec(base, targets), **parts)


TINY = ModelConfig.tiny(max_len=64)
FAST = ProbeConfig(epochs=15, batch_size=32, features=FeatureConfig(batch_size=64))


@pytest.fixture(scope="module")
def reg_task(tmp_path_factory):
    return regression_task(_gc_csv(tmp_path_factory.mktemp("reg") / "gc.csv"))


@pytest.mark.parametrize("head", ["linear", "knn"])
def test_probe_predicts_gc_fraction(reg_task, tmp_path, head):
    cfg = replace(FAST, head=head)
    result = run_probe(reg_task, "scratch", cfg, 0, cache_dir=tmp_path, scratch_config=TINY)
    assert result.primary_metric == "pearson"
    assert result.test_metrics["pearson"] > 0.8, result.test_metrics
    assert {"pearson_gc", "spearman_gc", "r2_gc", "spearman", "r2"} <= set(result.test_metrics)
    if head == "linear":
        hp = result.hyperparameters
        assert hp["val_by_lr"][repr(hp["lr"])] == max(hp["val_by_lr"].values())
        train = reg_task.train.labels
        assert hp["target_mean"] == pytest.approx(train.mean(axis=0).tolist())


def test_standardisation_and_lr_use_train_and_validation_only(reg_task, tmp_path):
    cfg = replace(FAST, lrs=(1e-4, 1e-2), epochs=5)
    flipped = replace(reg_task, test=_with_labels(reg_task.test, 1 - 3 * reg_task.test.labels))
    a = run_probe(reg_task, "scratch", cfg, 0, cache_dir=tmp_path, scratch_config=TINY)
    b = run_probe(flipped, "scratch", cfg, 0, cache_dir=tmp_path, scratch_config=TINY)
    a_hp, b_hp = (
        {k: v for k, v in r.hyperparameters.items() if k != "features_cached"} for r in (a, b)
    )
    assert a_hp == b_hp and a.val_metrics == b.val_metrics  # lr, train mean and std
    assert a.test_metrics["pearson"] == pytest.approx(-b.test_metrics["pearson"])


def test_two_targets_report_and_predictions(tmp_path):
    task = regression_task(_gc_csv(tmp_path / "gc.csv"), targets=("gc", "length"))
    report = probe_task(task, "scratch", FAST, [0], tmp_path / "out", scratch_config=TINY)
    seed = json.loads((tmp_path / "out" / "probe_seeds.json").read_text())
    assert report is not None and seed
    preds = pd.read_csv(tmp_path / "out" / "predictions" / "seed0.csv")
    assert list(preds.columns)[-4:] == ["target_gc", "target_length", "pred_gc", "pred_length"]
    assert np.allclose(preds["target_length"], task.test.labels[:, 1])
    assert "pearson" in (tmp_path / "out" / "probe.md").read_text()


def test_finetune_selects_the_epoch_by_validation_pearson(reg_task, tmp_path, monkeypatch):
    import findna.eval.finetune as ft
    import findna.eval.finetune_loop as loop
    from findna.eval.finetune import finetune_preset, run_finetune

    cfg = finetune_preset("tiny", epochs=3, lr=1e-2)
    calls = []
    real = ft.predict_proba

    def spy(model, codes, **kw):
        calls.append((len(codes), kw.get("raw")))
        return real(model, codes, **kw)

    monkeypatch.setattr(ft, "predict_proba", spy)
    monkeypatch.setattr(loop, "predict_proba", spy)
    a = run_finetune(reg_task, "scratch", cfg, seed=0, scratch_config=TINY)
    assert calls == [(len(reg_task.val), True)] * 3 + [(len(reg_task.test), True)]
    assert a.primary_metric == "pearson" and 1 <= a.hyperparameters["best_epoch"] <= 3
    assert {"pearson_gc", "r2_gc"} <= set(a.test_metrics)
    flipped = replace(reg_task, test=_with_labels(reg_task.test, 5 - 2 * reg_task.test.labels))
    b = run_finetune(flipped, "scratch", cfg, seed=0, scratch_config=TINY)
    assert b.hyperparameters["best_epoch"] == a.hyperparameters["best_epoch"]
    assert b.val_metrics == a.val_metrics
    assert b.test_metrics["pearson"] == pytest.approx(-a.test_metrics["pearson"], abs=1e-6)
