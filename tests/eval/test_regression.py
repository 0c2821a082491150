"""Regression (issue 23): metrics against hand-computed values, train-only standardisation."""

import math

import numpy as np
import pytest
from scipy.stats import rankdata

from findna.eval import regression
from findna.eval.metrics import METRIC_NAMES, compute_metrics
from findna.eval.regression import Standardiser

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
