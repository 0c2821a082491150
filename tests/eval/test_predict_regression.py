"""Saved regression and multi-label models (issue 23): task.json, `findna predict`'s columns,
truths and metrics, the threshold, bad truths; old classifier folders read as before."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import average_precision_score, r2_score, roc_auc_score

from findna import api
from findna.cli import main
from findna.data.tasks import TaskSpec, load_task
from findna.eval.finetune import finetune_preset, run_finetune
from findna.eval.predict import predict_file, predict_proba
from findna.model.classifier import (
    ClassifierInfo,
    SequenceClassifier,
    load_classifier,
    read_info,
    save_classifier,
)
from findna.model.config import ModelConfig
from findna.model.inputs import encode_sequences
from findna.model.network import FinDNANetwork

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"
TARGETS = ("gc", "length")
LABELS = ("gc_rich", "long", "has_tata")


def _seqs(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        g = rng.uniform(0.1, 0.9) / 2
        p = [0.5 - g, g, g, 0.5 - g]
        out.append("".join(rng.choice(list("ACGT"), int(rng.integers(12, 30)), p=p)))
    return out


def _targets(seqs: list[str]) -> pd.DataFrame:
    gc = [sum(c in "GC" for c in s) / len(s) for s in seqs]
    return pd.DataFrame({"gc": gc, "length": [float(len(s)) for s in seqs]})


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    """A 2-target regression model fine-tuned for one epoch and saved, and its task."""
    tmp = tmp_path_factory.mktemp("reg")
    seqs = _seqs(60)
    table = pd.concat([pd.DataFrame({"sequence": seqs}), _targets(seqs)], axis=1)
    table.to_csv(tmp / "task.csv", index=False)
    spec = TaskSpec("synthetic/gc-len", "toy", {"all": str(tmp / "task.csv")}, "table", 0,
                    "pearson", "resplit_70_10_20", max_len=30, task_type="regression",
                    targets=TARGETS)  # fmt: skip
    task = load_task(spec, 0)
    cfg = finetune_preset("tiny", epochs=1)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    run_finetune(task, "scratch", cfg, 0, scratch_config=ModelConfig.tiny(hidden=8, n_layers=1),
                 save_dir=tmp / "m")  # fmt: skip
    torch.set_num_threads(before)
    return tmp, task


def test_a_saved_regression_model_records_its_targets_and_training_standardisation(regression):
    tmp, task = regression
    meta = json.loads((tmp / "m" / "task.json").read_text())
    assert (meta["version"], meta["task_type"], meta["classes"], meta["num_classes"]) == (
        2, "regression", ["gc", "length"], 2)  # fmt: skip
    train = np.asarray(task.train.labels, dtype=np.float64)  # (N, 2), the training split only
    np.testing.assert_allclose(meta["target_mean"], train.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(meta["target_std"], train.std(axis=0), rtol=1e-6)
    whole = np.concatenate([task.train.labels, task.val.labels, task.test.labels])
    assert not np.allclose(meta["target_mean"], whole.mean(axis=0), rtol=1e-6)
    config = json.loads((tmp / "m" / "config.json").read_text())
    assert config["classifier"]["task_type"] == "regression"
    assert config["classifier"]["target_std"] == meta["target_std"]
    assert config["id2label"] == {"0": "gc", "1": "length"}
    assert "regression task `synthetic/gc-len` (2 targets" in (tmp / "m" / "README.md").read_text()


def test_predict_writes_values_in_the_targets_units_and_scores_the_target_columns(
    regression, tmp_path
):
    tmp, _ = regression
    seqs = _seqs(12, seed=5)
    truth = _targets(seqs)
    pd.concat([pd.DataFrame({"sequence": seqs}), truth], axis=1).to_csv(tmp_path / "in.csv")
    result = predict_file(tmp / "m", tmp_path / "in.csv", tmp_path / "out.csv", device="cpu",
                          precision="32-true")  # fmt: skip
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "gc", "length", "pred_gc", "pred_length"]
    model, info = load_classifier(tmp / "m")
    raw = predict_proba(model, encode_sequences(seqs), raw=True, precision="32-true")
    want = raw * np.array(info.target_std) + np.array(info.target_mean)  # by hand
    np.testing.assert_allclose(out[["pred_gc", "pred_length"]].to_numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(out[["gc", "length"]].to_numpy(), truth.to_numpy())
    m = result.metrics
    for j, t in enumerate(TARGETS):
        y, p = truth[t].to_numpy(), want[:, j]
        assert m[f"pearson_{t}"] == pytest.approx(pearsonr(y, p)[0], rel=1e-5)
        assert m[f"spearman_{t}"] == pytest.approx(spearmanr(y, p)[0], rel=1e-5)
        assert m[f"r2_{t}"] == pytest.approx(r2_score(y, p), rel=1e-5, abs=1e-6)
    assert m["pearson"] == pytest.approx((m["pearson_gc"] + m["pearson_length"]) / 2)
    written = json.loads((tmp_path / "out.metrics.json").read_text())
    assert written["primary"] == "pearson" and written["metrics"]["r2"] == pytest.approx(m["r2"])
    meta = json.loads((tmp_path / "out.meta.json").read_text())
    assert meta["task_type"] == "regression" and "threshold" not in meta["config"]["predict"]
    values = api.predict(tmp / "m", seqs, device="cpu", precision="32-true")
    np.testing.assert_allclose(values, want, rtol=1e-6)


def _strict(path: Path) -> dict:
    """A JSON file parsed strictly: NaN or Infinity in it fails the test."""

    def refuse(name):
        raise AssertionError(f"{path} holds {name}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_a_regression_table_with_a_split_column_is_scored_per_split(regression, tmp_path):
    """Each split's metrics are those of its rows alone; a one-row split's Pearson is undefined
    and written as null, so the metrics file stays strict JSON."""
    tmp, _ = regression
    seqs = _seqs(12, seed=5)
    truth = _targets(seqs)
    split = ["train"] * 6 + ["test"] * 5 + ["val"]
    table = pd.concat([pd.DataFrame({"sequence": seqs, "split": split}), truth], axis=1)
    table.to_csv(tmp_path / "in.csv", index=False)
    result = predict_file(tmp / "m", tmp_path / "in.csv", tmp_path / "out.csv", device="cpu",
                          precision="32-true")  # fmt: skip
    pred = pd.read_csv(tmp_path / "out.csv")[["pred_gc", "pred_length"]].to_numpy()
    assert result.per_split is not None and list(result.per_split) == ["train", "test", "val"]
    for name, rows in (("train", slice(0, 6)), ("test", slice(6, 11))):
        got = result.per_split[name]["metrics"]
        assert got["pearson_gc"] == pytest.approx(pearsonr(truth["gc"][rows], pred[rows, 0])[0])
        assert result.per_split[name]["rows"] == len(range(12)[rows])
    assert np.isnan(result.per_split["val"]["metrics"]["pearson"])
    written = _strict(tmp_path / "out.metrics.json")
    assert written["per_split"]["val"]["metrics"]["pearson"] is None
    assert written["per_split"]["test"]["metrics"]["pearson_gc"] == pytest.approx(
        result.per_split["test"]["metrics"]["pearson_gc"]
    )


def test_regression_truth_columns_by_name_and_their_errors(regression, tmp_path, capsys):
    tmp, _ = regression
    seqs = _seqs(4, seed=6)
    frame = pd.DataFrame({"sequence": seqs, "a": [0.1, 0.2, 0.3, 0.4], "b": [1, 2, 3, 5]})
    frame.to_csv(tmp_path / "in.csv", index=False)
    base = ["predict", "--model", str(tmp / "m"), str(tmp_path / "in.csv"), "--device", "cpu"]
    assert main([*base, "--out", str(tmp_path / "o.csv")]) == 0  # no gc/length columns: no score
    assert not (tmp_path / "o.metrics.json").exists()
    assert main([*base, "--out", str(tmp_path / "s.csv"), "--label-column", "a,b"]) == 0
    assert list(pd.read_csv(tmp_path / "s.csv").columns)[:3] == ["id", "a", "b"]
    assert "pearson" in json.loads((tmp_path / "s.metrics.json").read_text())["metrics"]
    capsys.readouterr()
    assert main([*base, "--out", str(tmp_path / "e.csv"), "--label-column", "a"]) == 2
    assert ("--label-column a: the model has 2 target(s) (gc, length); name one column per "
            "target, in that order") in capsys.readouterr().err  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "e.csv"), "--label-column", "a,zz"]) == 2
    assert "no column(s) ['zz']; the header has ['sequence', 'a', 'b']" in capsys.readouterr().err
    frame["b"] = frame["b"].astype(object)
    frame.loc[2, "b"] = "high"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    bad = ["predict", "--model", str(tmp / "m"), str(tmp_path / "bad.csv")]
    assert main([*bad, "--out", str(tmp_path / "e.csv"), "--label-column", "a,b"]) == 2
    err = capsys.readouterr().err
    assert ("bad.csv, data row 3 (1-based, header not counted), column 'b': the target 'high' is "
            "not a number") in err  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "e.csv"), "--threshold", "0.3"]) == 2
    assert ("--threshold 0.3: the model is a regression model (synthetic/gc-len); a threshold "
            "is for multi-label models only") in capsys.readouterr().err  # fmt: skip
    assert not (tmp_path / "e.csv").exists()


@pytest.fixture(scope="module")
def multilabel(tmp_path_factory):
    """A 3-label model (seeded random weights, mlp head, CLS pooling) saved as findna saves one."""
    tmp = tmp_path_factory.mktemp("ml")
    torch.manual_seed(0)
    encoder = FinDNANetwork(ModelConfig.tiny(max_len=34, hidden=8, n_layers=1,
                                             length_mode="length_aware"))  # fmt: skip
    model = SequenceClassifier(encoder, 3, "mean+cls", n_cls=2, head_kind="mlp", head_hidden=16)
    last = model.head.net[-1]
    with torch.no_grad():  # logits spread around 0, so that both sides of the threshold occur
        last.weight.mul_(40.0)
        last.bias.zero_()
        raw = predict_proba(model.eval(), encode_sequences(_seqs(16, seed=7)), raw=True)
        last.bias.copy_(-torch.from_numpy(raw.mean(axis=0)))
    info = ClassifierInfo("synthetic/marks", 3, list(LABELS), "mean+cls", 2, 34, "macro_auroc",
                          head_kind="mlp", head_hidden=16, task_type="multilabel")  # fmt: skip
    save_classifier(model.eval(), info, tmp / "m")
    return tmp


def test_a_multi_label_model_writes_label_probabilities_and_the_labels_over_the_threshold(
    multilabel, tmp_path
):
    tmp = multilabel
    meta = json.loads((tmp / "m" / "task.json").read_text())
    assert (meta["version"], meta["task_type"], meta["target_mean"]) == (2, "multilabel", None)
    seqs = _seqs(16, seed=7)
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, size=(16, 3))
    truth[:2] = [[0, 0, 0], [1, 1, 1]]  # every label has both classes
    frame = pd.DataFrame({"sequence": seqs, **{n: truth[:, j] for j, n in enumerate(LABELS)}})
    frame.to_csv(tmp_path / "in.tsv", sep="\t", index=False)
    result = predict_file(tmp / "m", tmp_path / "in.tsv", tmp_path / "o.csv", device="cpu",
                          precision="32-true")  # fmt: skip
    out = pd.read_csv(tmp_path / "o.csv", keep_default_na=False)
    probs = [f"prob_{n}" for n in LABELS]
    assert list(out.columns) == ["id", *LABELS, *probs, "predicted_labels"]
    model, _ = load_classifier(tmp / "m")
    raw = predict_proba(model, encode_sequences(seqs), raw=True, precision="32-true")
    p = 1 / (1 + np.exp(-raw))  # sigmoid, by hand
    np.testing.assert_allclose(out[probs].to_numpy(), p, rtol=1e-6)
    want = [";".join(n for n, q in zip(LABELS, row, strict=True) if q >= 0.5) for row in p]
    assert out["predicted_labels"].tolist() == want
    assert len(set(want)) > 1  # the check sees more than one label set
    m = result.metrics
    aurocs = [roc_auc_score(truth[:, j], p[:, j]) for j in range(3)]
    assert m["auroc_long"] == pytest.approx(aurocs[1])
    assert m["macro_auroc"] == pytest.approx(np.mean(aurocs))
    assert m["auprc_has_tata"] == pytest.approx(average_precision_score(truth[:, 2], p[:, 2]))
    meta = json.loads((tmp_path / "o.meta.json").read_text())
    assert meta["task_type"] == "multilabel" and meta["config"]["predict"]["threshold"] == 0.5
    low = tmp_path / "low.csv"
    predict_file(
        tmp / "m", tmp_path / "in.tsv", low, device="cpu", precision="32-true", threshold=0.2
    )
    got = pd.read_csv(low, keep_default_na=False)["predicted_labels"].tolist()
    assert got == [";".join(n for n, q in zip(LABELS, r, strict=True) if q >= 0.2) for r in p]
    np.testing.assert_allclose(
        api.predict(tmp / "m", seqs, device="cpu", precision="32-true"), p, rtol=1e-5
    )


def test_multi_label_truths_and_thresholds_are_checked(multilabel, tmp_path, capsys):
    tmp = multilabel
    frame = pd.DataFrame({"sequence": ["ACGTAC", "GGCCAA"], "gc_rich": [1, 0], "long": [0, 1],
                          "has_tata": [1, "yes"]})  # fmt: skip
    frame.to_csv(tmp_path / "in.csv", index=False)
    base = ["predict", "--model", str(tmp / "m"), str(tmp_path / "in.csv"), "--out",
            str(tmp_path / "o.csv"), "--device", "cpu"]  # fmt: skip
    assert main(base) == 2
    assert ("in.csv, data row 2 (1-based, header not counted), column 'has_tata': the label "
            "'yes' is not 0 or 1") in capsys.readouterr().err  # fmt: skip
    for bad in ("0", "1", "1.5"):
        assert main([*base, "--threshold", bad]) == 2
        assert f"--threshold {float(bad)}: a multi-label threshold is a probability strictly " \
            "between 0 and 1" in capsys.readouterr().err  # fmt: skip
    assert not (tmp_path / "o.csv").exists()


def test_old_classifier_folders_read_as_classifiers_exactly_as_before(tmp_path):
    info = read_info(LEGACY / "classifier")
    assert (info.task_type, info.target_mean, info.target_std) == ("classification", None, None)
    written = json.loads((LEGACY / "classifier" / "task.json").read_text())
    assert info.to_json() == written  # a classifier is still written as version 1, no new keys


@pytest.mark.parametrize(
    "change, message",
    [
        ({"version": 2, "task_type": "regression", "target_mean": [0.0, 1.0]},
         "target_std must list one number per target (2), got None"),
        ({"version": 2, "task_type": "regression", "target_mean": [0.0, 1.0],
          "target_std": [1.0, 0.0]}, "target_std holds a non-finite or non-positive value"),
        ({"version": 2, "task_type": "ranking"}, "task_type 'ranking' is not one of "
         "classification, regression, multilabel"),
        ({"task_type": "multilabel"}, "malformed task.json: version 1 has no task_type"),
        ({"version": 2, "task_type": "multilabel", "target_std": [1.0, 1.0]},
         "a multilabel model has no target_mean/target_std"),
        ({"version": 4}, "classifier version 4 is not one of 1, 2, 3"),
        ({"version": 3}, "malformed task.json: version 3 has no classification models"),
    ],
)  # fmt: skip
def test_a_damaged_task_json_is_refused_naming_what_is_wrong(tmp_path, change, message):
    written = json.loads((LEGACY / "classifier" / "task.json").read_text())
    (tmp_path / "task.json").write_text(json.dumps({**written, **change}))
    with pytest.raises(ValueError, match="task.json") as err:
        read_info(tmp_path)
    assert message in str(err.value)


def test_saving_refuses_an_inconsistent_model_description_before_writing(tmp_path):
    encoder = FinDNANetwork(ModelConfig.tiny(max_len=16, hidden=8, n_layers=1))
    info = ClassifierInfo("t", 1, ["y"], "masked_mean", 0, 16, "pearson", task_type="regression",
                          target_mean=[0.5])  # fmt: skip
    with pytest.raises(ValueError) as err:
        save_classifier(SequenceClassifier(encoder, 1), info, tmp_path / "m")
    assert str(err.value) == (
        "ClassifierInfo: target_std must list one number per target (1), got None; build it "
        "from the task's outputs"
    )
    assert not (tmp_path / "m").exists()


def test_findna_finetune_saves_a_multi_label_model_that_findna_predict_reads(tmp_path, capsys):
    """The command line end to end: a user's multi-label table, fine-tuned for one epoch on a
    small scratch network, saved, then predicted and scored (0/1 columns and a listing column)."""
    seqs = _seqs(48, seed=3)
    gc = _targets(seqs)["gc"].to_numpy()
    rich, long = (gc > 0.5).astype(int), np.array([len(s) > 20 for s in seqs], dtype=int)
    pd.DataFrame({"sequence": seqs, "rich": rich, "long": long}).to_csv(tmp_path / "t.csv")
    (tmp_path / "net.yaml").write_text("backbone: chordmixer\ntrack_size: 4\nhidden: 8\n"
                                       "n_layers: 1\nmax_len: 64\n")  # fmt: skip
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["finetune", "--task", str(tmp_path / "t.csv"), "--task-type", "multilabel",
                     "--target-columns", "rich,long", "--model", "scratch", "--scratch-model",
                     str(tmp_path / "net.yaml"), "--set", "epochs=1", "--out",
                     str(tmp_path / "ft")]) == 0  # fmt: skip
    finally:
        torch.set_num_threads(before)
    info = read_info(tmp_path / "ft" / "seed0")
    assert (info.task_type, info.classes, info.metric) == ("multilabel", ["rich", "long"],
                                                           "macro_auroc")  # fmt: skip
    pairs = zip(rich, long, strict=True)
    listed = [";".join(n for n, y in (("rich", r), ("long", g)) if y) for r, g in pairs]
    pd.DataFrame({"sequence": seqs, "rich": rich, "long": long, "marks": listed}).to_csv(
        tmp_path / "in.csv", index=False
    )
    base = ["predict", "--model", str(tmp_path / "ft" / "seed0"), str(tmp_path / "in.csv")]
    assert main([*base, "--out", str(tmp_path / "a.csv"), "--device", "cpu"]) == 0
    assert main([*base, "--out", str(tmp_path / "b.csv"), "--label-column", "marks"]) == 0
    a = json.loads((tmp_path / "a.metrics.json").read_text())
    b = json.loads((tmp_path / "b.metrics.json").read_text())
    assert a["primary"] == "macro_auroc" and a["metrics"]["labels_scored"] == 2
    assert b["metrics"]["macro_auroc"] == pytest.approx(a["metrics"]["macro_auroc"])
    out = pd.read_csv(tmp_path / "b.csv", keep_default_na=False)
    assert list(out.columns) == ["id", "marks", "prob_rich", "prob_long", "predicted_labels"]
    capsys.readouterr()
    bad = pd.DataFrame({"sequence": seqs[:2], "marks": ["rich", "rich;tall"]})
    bad.to_csv(tmp_path / "bad.csv", index=False)
    assert main(["predict", "--model", str(tmp_path / "ft" / "seed0"), str(tmp_path / "bad.csv"),
                 "--out", str(tmp_path / "c.csv"), "--label-column", "marks"]) == 2  # fmt: skip
    assert ("bad.csv, data row 2 (1-based, header not counted), column 'marks': 'tall' is not a "
            "label of the model (2 labels: rich, long)") in capsys.readouterr().err  # fmt: skip
