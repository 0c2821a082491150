"""Metrics against hand-computed values, input validation and degenerate cases."""

import logging
import math

import numpy as np
import pytest
import torch

from findna.eval.metrics import PRIMARY_METRICS, compute_metrics, validate_inputs


def _onehot_probs(pred: list[int], n_classes: int) -> np.ndarray:
    """Probabilities with 0.8 on the predicted class and the rest spread evenly."""
    p = np.full((len(pred), n_classes), 0.2 / (n_classes - 1))
    p[np.arange(len(pred)), pred] = 0.8
    return p


# Binary example: 4 positives, 6 negatives. Positive-class probabilities chosen so that, at the
# argmax (> 0.5) threshold, TP = 3, FN = 1, FP = 2, TN = 4.
Y_BIN = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
P_POS = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.55, 0.4, 0.2, 0.1, 0.05])
PROBS_BIN = np.stack([1 - P_POS, P_POS], axis=1)


def test_binary_metrics_match_hand_computation():
    m = compute_metrics(Y_BIN, PROBS_BIN)
    assert set(m) == {"accuracy", "mcc", "macro_f1", "micro_f1", "auroc"}
    assert m["accuracy"] == pytest.approx(7 / 10)
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (12 - 2) / sqrt(5*4*6*5)
    assert m["mcc"] == pytest.approx(10 / math.sqrt(600))
    # F1(pos) = 2*(3/5)*(3/4)/(3/5+3/4) = 2/3; F1(neg) = 2*(4/5)*(4/6)/(4/5+4/6) = 8/11
    assert m["macro_f1"] == pytest.approx((2 / 3 + 8 / 11) / 2)
    assert m["micro_f1"] == pytest.approx(0.7)
    # AUROC = share of (pos, neg) pairs ranked correctly: (6 + 6 + 5 + 3) / 24
    assert m["auroc"] == pytest.approx(20 / 24)


def test_macro_and_micro_f1_differ_on_imbalanced_three_classes():
    y = np.array([0] * 6 + [1] * 2 + [2] * 2)
    pred = [0] * 6 + [1, 0] + [0, 0]  # class 2 is never predicted
    m = compute_metrics(y, _onehot_probs(pred, 3))
    # F1: class 0 = 2*(6/9)*1/(6/9+1) = 0.8, class 1 = 2*1*(1/2)/(3/2) = 2/3, class 2 = 0
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3 + 0) / 3)
    assert m["micro_f1"] == pytest.approx(0.7) == m["accuracy"]
    assert m["macro_f1"] < m["micro_f1"]
    # Multi-class MCC = (c*s - sum p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)) with
    # c = 7 correct, s = 10, predicted counts p = (9, 1, 0), true counts t = (6, 2, 2).
    assert m["mcc"] == pytest.approx((70 - 56) / math.sqrt((100 - 82) * (100 - 44)))
    assert "auroc" not in m and "auroc_ovr_macro" in m


def test_multiclass_auroc_is_optional_and_one_for_perfect_ranking():
    y = np.array([0, 0, 1, 1, 2, 2])
    probs = _onehot_probs(y.tolist(), 3)
    assert compute_metrics(y, probs)["auroc_ovr_macro"] == pytest.approx(1.0)
    assert "auroc_ovr_macro" not in compute_metrics(y, probs, multiclass_auroc=False)


def test_ovr_auroc_on_two_classes_equals_binary_auroc():
    fns = PRIMARY_METRICS
    assert fns["auroc_ovr_macro"](Y_BIN, PROBS_BIN) == pytest.approx(fns["auroc"](Y_BIN, PROBS_BIN))


def test_accepts_torch_tensors_and_lists():
    from_torch = compute_metrics(torch.tensor(Y_BIN), torch.tensor(PROBS_BIN, dtype=torch.float32))
    from_list = compute_metrics(Y_BIN.tolist(), PROBS_BIN.tolist())
    assert from_torch == pytest.approx(from_list)


def test_single_class_gives_nan_auroc_with_warning_and_zero_mcc(caplog):
    y = np.ones(4, dtype=int)
    probs = np.array([[0.3, 0.7], [0.6, 0.4], [0.2, 0.8], [0.1, 0.9]])
    with caplog.at_level(logging.WARNING, logger="findna.eval.metrics"):
        m = compute_metrics(y, probs)
    assert math.isnan(m["auroc"])
    assert "single class" in caplog.text
    assert m["mcc"] == 0.0
    assert m["accuracy"] == pytest.approx(0.75)


def test_missing_class_gives_nan_ovr_auroc(caplog):
    y = np.array([0, 1, 0, 1, 1, 0, 1])  # class 2 never occurs
    with caplog.at_level("WARNING", logger="findna.eval.metrics"):
        for guess in ([0, 1, 0, 2, 1, 0, 1], [2, 2, 2, 2, 2, 2, 2]):  # a probe: one call per lr
            assert math.isnan(compute_metrics(y, _onehot_probs(guess, 3))["auroc_ovr_macro"])
        assert caplog.text.count("only 2 of 3 classes occur in y_true (7 rows)") == 1
        compute_metrics(y[:6], _onehot_probs([0] * 6, 3))  # another split: said again
    assert caplog.text.count("auroc_ovr_macro is undefined") == 2


@pytest.mark.parametrize(
    ("y", "probs", "match"),
    [
        ([0, 1, 1], [[0.5, 0.5], [0.5, 0.5]], "length mismatch"),
        ([0, 1], [[0.5, 0.6], [0.5, 0.5]], "row 0 sums to 1.1"),
        ([0, 1], [[0.5, 0.5], [0.2, 0.5]], "row 1 sums to 0.7.*not logits"),
        ([0, 1], [[2.0, -1.0], [0.5, 0.5]], "row 0 has a negative"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], "label 2 at row 1 is out of range"),
        ([0, -1], [[0.5, 0.5], [0.5, 0.5]], "label -1 at row 1"),
        ([0, 1], [0.3, 0.7], "for a single sigmoid output"),
        ([[0, 1]], [[0.5, 0.5]], "y_true must be 1-D"),
        ([], np.zeros((0, 2)), "empty"),
        ([0.5, 1.0], [[0.5, 0.5], [0.5, 0.5]], "integer class ids"),
        ([0, 1], [[np.nan, 1.0], [0.5, 0.5]], "non-finite"),
    ],
)
def test_invalid_inputs_raise_clear_errors(y, probs, match):
    with pytest.raises(ValueError, match=match):
        compute_metrics(y, probs)


def test_every_primary_metric_validates_its_inputs():
    for name, fn in PRIMARY_METRICS.items():
        with pytest.raises(ValueError, match="length mismatch"):
            fn([0, 1, 1], PROBS_BIN[:2])
        assert np.isfinite(fn(Y_BIN, PROBS_BIN)), name


def test_validate_inputs_accepts_half_precision_softmax():
    logits = torch.randn(64, 9, generator=torch.Generator().manual_seed(0))
    probs = torch.softmax(logits, dim=1).to(torch.bfloat16)
    y, p = validate_inputs(torch.arange(64) % 9, probs)
    assert y.dtype == np.int64 and p.shape == (64, 9)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)  # renormalised
    assert np.isfinite(compute_metrics(y, probs)["auroc_ovr_macro"])
