"""Saved per-base models and `findna predict` for them (issue 23): the folder (format version 3,
legacy folders read as before), label strings and per-base probabilities that agree with the
model's own forward pass, per-base metrics against label strings, and the refusals."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import matthews_corrcoef

from findna.cli import main
from findna.data.per_base import PerBaseSequences, pad_labels
from findna.data.tasks import TaskSpec, load_task
from findna.eval.finetune_config import FinetuneConfig
from findna.eval.per_base_finetune import finetune_per_base_task
from findna.eval.per_base_metrics import per_base_metrics
from findna.eval.predict import predict_file
from findna.model.classifier import (
    ClassifierInfo,
    TokenClassifier,
    batch_tensors,
    load_classifier,
    read_info,
)
from findna.model.config import ModelConfig
from findna.model.inputs import encode_sequences

TINY = ModelConfig.tiny(max_len=64, track_size=2)
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0" / "classifier"


def _gc_part(n: int, seed: int, prefix: str) -> PerBaseSequences:
    """Random 20-40 bp sequences; a base's label is 1 for G or C."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), rng.integers(20, 41))) for _ in range(n)]
    rows = [np.array([b in "GC" for b in s], np.int8) for s in seqs]
    return PerBaseSequences(seqs, pad_labels(rows), [f"{prefix}{i}" for i in range(n)])


def _labels(part: PerBaseSequences) -> list[str]:
    return ["".join(map(str, part.base_labels(i))) for i in range(len(part))]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A per-base model fine-tuned (2 epochs, scratch tiny network) and saved by
    `findna finetune`'s path, and the folder it was written to."""
    root = tmp_path_factory.mktemp("pb")
    rows = ["sequence\tlabel\tsplit"]
    for (n, seed), split in zip(((32, 0), (8, 1), (8, 2)), ("train", "val", "test"), strict=True):
        part = _gc_part(n, seed, split)
        rows += [f"{s}\t{y}\t{split}" for s, y in zip(part.seqs, _labels(part), strict=True)]
    (root / "gc.tsv").write_text("\n".join(rows) + "\n")
    files = {role: str(root / "gc.tsv") for role in ("train", "dev", "test")}
    spec = TaskSpec("toy/gc_bases", "toy", files, "table", 2, "mcc", "official",
                    classes=("0", "1"), split_column="split", task_type="per_base")  # fmt: skip
    cfg = FinetuneConfig(epochs=2, batch_size=8, lr=3e-3, warmup_frac=0.1, precision="32-true")
    report = finetune_per_base_task(
        load_task(spec), "scratch", cfg, [0], root / "ft", scratch_config=TINY, save_models=True
    )
    assert report.results[0].hyperparameters["saved"] is True
    return root / "ft" / "seed0"


def test_the_saved_folder_is_a_per_base_model_of_format_version_3(saved):
    meta = json.loads((saved / "task.json").read_text())
    assert meta["version"] == 3 and meta["task_type"] == "per_base"
    assert meta["classes"] == ["0", "1"] and meta["pooling"] == "none" and meta["n_cls"] == 0
    assert meta["target_mean"] is None
    model, info = load_classifier(saved)
    assert isinstance(model, TokenClassifier) and info.task_type == "per_base"
    assert meta["max_len"] == model.encoder.config.max_len <= 40  # the longest training input
    config = json.loads((saved / "config.json").read_text())
    assert config["architectures"] == ["FinDNAForTokenClassification"]
    assert config["auto_map"]["AutoModelForTokenClassification"] == (
        "modeling_findna_token.FinDNAForTokenClassification"
    )
    assert config["classifier"]["task_type"] == "per_base" and "problem_type" not in config
    assert (saved / "modeling_findna_token.py").is_file()
    assert "pipeline_tag: token-classification" in (saved / "README.md").read_text()


def test_a_legacy_classifier_folder_reads_as_before():
    info = read_info(LEGACY)
    assert info.task_type == "classification" and info.pooling == "mean+cls"
    assert info.to_json()["version"] == 1 and "task_type" not in info.to_json()


def test_task_json_version_and_classes_must_fit_a_per_base_model(saved, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(saved, folder)
    meta = json.loads((folder / "task.json").read_text())
    (folder / "task.json").write_text(json.dumps({**meta, "version": 2}))
    with pytest.raises(ValueError, match=r"task.json: malformed task.json: version 2 has no "
                       r"per_base models"):  # fmt: skip
        read_info(folder)
    (folder / "task.json").write_text(json.dumps({**meta, "classes": ["no", "yes"]}))
    with pytest.raises(ValueError, match=r"a per_base model's classes must be distinct single "
                       r"characters: \['no', 'yes'\]; the folder is damaged"):  # fmt: skip
        read_info(folder)
    bad = ClassifierInfo("t", 2, ["0", "1"], "mean", 0, 64, "mcc", task_type="per_base")
    with pytest.raises(ValueError, match="a per_base model has pooling 'none' and n_cls 0, got "
                       "'mean' and 0"):  # fmt: skip
        _check(bad)


def _check(info):
    from findna.model.classifier import check_info

    return check_info(info, "here", "fix it")


def _input(tmp_path, n=7, seed=5, name="in.csv"):
    part = _gc_part(n, seed, "q")
    path = tmp_path / name
    pd.DataFrame({"id": part.ids, "sequence": part.seqs, "label": _labels(part)}).to_csv(
        path, index=False
    )
    return path, part


def test_predict_writes_label_strings_probabilities_and_per_base_metrics(saved, tmp_path):
    path, part = _input(tmp_path)
    out, probs_path = tmp_path / "pred.csv", tmp_path / "probs.npy"
    result = predict_file(saved, path, out, chunk_size=3, device="cpu", precision="32-true",
                          per_base_probs_path=probs_path)  # fmt: skip
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["id", "label", "predicted_labels"] and result.rows == 7
    preds = frame["predicted_labels"].tolist()
    assert [len(p) for p in preds] == [len(s) for s in part.seqs]
    assert set("".join(preds)) <= {"0", "1"}
    probs = np.load(probs_path)
    lengths = [len(s) for s in part.seqs]
    assert probs.shape == (sum(lengths), 2) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert "".join(map(str, probs.argmax(axis=1))) == "".join(preds)
    model, _ = load_classifier(saved)  # the model's own forward, one sequence at a time
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for i, seq in enumerate(part.seqs):
        x, n = batch_tensors(model, encode_sequences([seq]))
        with torch.no_grad():
            want = torch.softmax(model(x, n)[0, : len(seq)], -1).numpy()
        np.testing.assert_allclose(probs[offsets[i] : offsets[i + 1]], want, atol=1e-5)
    y = np.array([int(c) for c in "".join(_labels(part))])
    p = np.array([int(c) for c in "".join(preds)])
    want_metrics = per_base_metrics(y, p, 2, ["0", "1"])
    assert result.metrics == pytest.approx(want_metrics)
    assert result.metrics["mcc"] == pytest.approx(matthews_corrcoef(y, p))
    written = json.loads(out.with_suffix(".metrics.json").read_text())
    assert written["primary"] == "mcc" and written["metrics"] == pytest.approx(want_metrics)
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["task_type"] == "per_base" and meta["rows"] == 7
    assert meta["config"]["predict"]["per_base_probs"] == str(probs_path)
    # the Python API: one (L_i, C) array of base probabilities per sequence, the same numbers
    import findna

    got = findna.predict(saved, part.seqs, device="cpu", precision="32-true")
    assert [g.shape for g in got] == [(n, 2) for n in lengths]
    np.testing.assert_allclose(np.concatenate(got), probs, atol=1e-5)


def test_a_table_with_training_rows_is_scored_per_split_too(saved, tmp_path):
    """A split column with train rows: each split's per-base metrics are those of its rows'
    bases alone, counted across chunks of 3 rows that mix splits (dev and Validation are val)."""
    path, part = _input(tmp_path)
    splits = ["train", "test", "dev", "train", "Validation", "train", "test"]
    pd.read_csv(path, dtype=str).assign(split=splits).to_csv(path, index=False)
    result = predict_file(saved, path, tmp_path / "p.csv", chunk_size=3, device="cpu",
                          precision="32-true")  # fmt: skip
    preds = pd.read_csv(tmp_path / "p.csv", dtype=str)["predicted_labels"].tolist()
    truths = _labels(part)

    def bases(rows):
        return [np.array([int(c) for c in "".join(x[i] for i in rows)]) for x in (truths, preds)]

    assert result.per_split is not None and list(result.per_split) == ["train", "test", "val"]
    for name, rows in (("train", [0, 3, 5]), ("test", [1, 6]), ("val", [2, 4])):
        assert result.per_split[name]["rows"] == len(rows)
        want = per_base_metrics(*bases(rows), 2, ["0", "1"])
        assert result.per_split[name]["metrics"] == pytest.approx(want)
    assert result.metrics == pytest.approx(per_base_metrics(*bases(range(7)), 2, ["0", "1"]))
    written = json.loads((tmp_path / "p.metrics.json").read_text())
    assert written["per_split"]["test"]["metrics"] == pytest.approx(
        result.per_split["test"]["metrics"]
    )


def test_bad_label_strings_are_refused_naming_the_row(saved, tmp_path):
    path, part = _input(tmp_path)
    frame = pd.read_csv(path, dtype=str)
    frame.loc[1, "label"] = "010"
    frame.to_csv(path, index=False)
    out = tmp_path / "pred.csv"
    with pytest.raises(ValueError, match=rf"in.csv, data row 2 \(1-based, header not counted\): "
                       rf"the label string has 3 characters but the sequence has "
                       rf"{len(part.seqs[1])} bases"):  # fmt: skip
        predict_file(saved, path, out, device="cpu")
    assert not out.exists()
    frame.loc[1, "label"] = "x" * len(part.seqs[1])
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"data row 2 .*: label character 'x' at base 1 is not "
                       r"one of the classes \['0', '1'\]"):  # fmt: skip
        predict_file(saved, path, out, device="cpu", label_column="label")


def test_longer_inputs_are_refused_unless_allowed_and_the_cli_writes_probabilities(saved, tmp_path):
    (tmp_path / "long.txt").write_text("ACGT" * 10 + "\n" + "GGCCA" * 14 + "\n")
    out = tmp_path / "pred.csv"
    with pytest.raises(ValueError, match="70 bp"):
        predict_file(saved, tmp_path / "long.txt", out, device="cpu")
    code = main(["predict", "--model", str(saved), str(tmp_path / "long.txt"), "--out", str(out),
                 "--allow-longer", "--device", "cpu", "--per-base-probs",
                 str(tmp_path / "p.npy")])  # fmt: skip
    assert code == 0
    preds = pd.read_csv(out, dtype=str)["predicted_labels"].tolist()
    assert [len(p) for p in preds] == [40, 70] and np.load(tmp_path / "p.npy").shape == (110, 2)


def test_per_base_probabilities_of_a_sequence_classifier_are_refused(tmp_path):
    (tmp_path / "in.txt").write_text("ACGTACGT\n")
    with pytest.raises(ValueError, match=r"--per-base-probs p.npy: the model is a classification "
                       r"model \(synthetic/two\); per-base probabilities are for per-base models "
                       r"only"):  # fmt: skip
        predict_file(LEGACY, tmp_path / "in.txt", tmp_path / "o.csv", per_base_probs_path="p.npy")
