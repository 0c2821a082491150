"""Saved classifiers: round trip through `findna predict`, output format, errors."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from findna.cli import main
from findna.data.tasks import TaskSpec, load_task
from findna.eval.finetune import finetune_preset, run_finetune
from findna.eval.metrics import compute_metrics
from findna.eval.predict import predict_file, predict_proba
from findna.eval.report import none_to_nan
from findna.model.classifier import SequenceClassifier, load_classifier
from findna.model.config import ModelConfig
from findna.model.hf.remote import REMOTE_SOURCES
from findna.model.inputs import encode_sequences
from findna.model.network import FinDNANetwork


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A classifier fine-tuned for one epoch on a 3-class task of 12-30 bp, with CLS pooling."""
    tmp = tmp_path_factory.mktemp("clf")
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), size=int(rng.integers(12, 31)))) for _ in range(60)]
    path = tmp / "task.csv"
    pd.DataFrame({"sequence": seqs, "label": np.arange(60) % 3}).to_csv(path, index=False)
    spec = TaskSpec("synthetic/three", "toy", {"all": str(path)}, "table", num_classes=3,
                    metric="macro_f1", protocol="resplit_70_10_20", max_len=30)  # fmt: skip
    task = load_task(spec, 0)
    cfg = finetune_preset("tiny", epochs=1, pooling="mean+cls", n_cls=2)
    scratch = ModelConfig.tiny(hidden=8, n_layers=1)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    result = run_finetune(task, "scratch", cfg, 0, scratch_config=scratch, save_dir=tmp / "m")
    torch.set_num_threads(before)
    return tmp, task, result


def test_saved_directory_layout(saved):
    tmp, _, result = saved
    names = {p.name for p in (tmp / "m").iterdir()}
    # findna's files, the model card, and what transformers needs (tokenizer config, model code).
    findna_files = {"config.json", "head.safetensors", "model.safetensors", "task.json"}
    hf_files = {"README.md", "tokenizer_config.json"} | set(REMOTE_SOURCES.values())
    assert names == findna_files | hf_files
    info = json.loads((tmp / "m" / "task.json").read_text())
    assert info["format"] == "findna-classifier"
    assert (info["task"], info["num_classes"], info["classes"]) == ("synthetic/three", 3,
                                                                     ["0", "1", "2"])  # fmt: skip
    assert (info["pooling"], info["n_cls"], info["max_len"]) == ("mean+cls", 2, 32)
    assert info["source_model"] == result.hyperparameters["model_id"] == "scratch-seed0"
    # The encoder directory is itself a valid encoder source (FinDNANetwork.from_pretrained).
    assert FinDNANetwork.from_pretrained(tmp / "m").config.max_len == 32


def test_round_trip_gives_the_same_probabilities(saved, tmp_path):
    tmp, task, result = saved
    model, info = load_classifier(tmp / "m")
    seqs = task.test.seqs
    probs = predict_proba(model, encode_sequences(seqs), batch_size=5)
    assert probs.shape == (len(seqs), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    # The reloaded model reproduces the test macro F1 that fine-tuning reported.

    assert compute_metrics(task.test.labels, probs)["macro_f1"] == pytest.approx(
        result.test_metrics["macro_f1"]
    )
    # Batch size and order do not change a sequence's probabilities (length-aware padding).
    single = predict_proba(model, encode_sequences(seqs[::-1]), batch_size=1)[::-1]
    np.testing.assert_allclose(single, probs, atol=1e-5)

    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">s{i} desc\n{s[:7]}\n{s[7:]}\n" for i, s in enumerate(seqs)))
    out = predict_file(tmp / "m", fasta, tmp_path / "pred.csv", batch_size=4, device="cpu").out
    frame = pd.read_csv(out)
    chunked = predict_file(tmp / "m", fasta, tmp_path / "c.csv", chunk_size=3, device="cpu")
    pd.testing.assert_frame_equal(pd.read_csv(chunked.out), frame, atol=1e-6)
    assert chunked.metrics is None and not (tmp_path / "c.metrics.json").exists()
    assert list(frame.columns) == [
        "id", "prob_0", "prob_1", "prob_2", "predicted", "predicted_label"
    ]  # fmt: skip
    assert frame["id"].tolist() == [f"s{i}" for i in range(len(seqs))]
    np.testing.assert_allclose(frame[["prob_0", "prob_1", "prob_2"]].to_numpy(), probs, atol=1e-6)
    assert (frame["predicted"].to_numpy() == probs.argmax(axis=1)).all()
    assert (frame["predicted_label"] == frame["predicted"]).all()  # classes written as 0..C-1


def test_predict_cli_reads_text_and_csv(saved, tmp_path, capsys):
    tmp, _, _ = saved
    (tmp_path / "in.txt").write_text("ACGTACGTAC\n\nGGGCCCAAAT\n")
    assert main(["predict", "--model", str(tmp / "m"), str(tmp_path / "in.txt"),
                 "--out", str(tmp_path / "a.csv"), "--device", "cpu"]) == 0  # fmt: skip
    text = pd.read_csv(tmp_path / "a.csv")
    assert len(text) == 2
    pd.DataFrame({"id": ["x", "y"], "sequence": ["ACGTACGTAC", "GGGCCCAAAT"]}).to_csv(
        tmp_path / "in.csv", index=False
    )
    assert main(["predict", "--model", str(tmp / "m"), str(tmp_path / "in.csv"),
                 "--out", str(tmp_path / "b.csv"), "--device", "cpu"]) == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "b.csv")
    assert table["id"].tolist() == ["x", "y"]
    np.testing.assert_allclose(table.iloc[:, 1:4].to_numpy(), text.iloc[:, 1:4].to_numpy())
    kmers = [
        " ".join(s[i : i + 6] for i in range(len(s) - 5)) for s in ["ACGTACGTAC", "GGGCCCAAAT"]
    ]
    (tmp_path / "dev.tsv").write_text("sequence\tlabel\n" + "".join(f"{k}\t0\n" for k in kmers))
    assert main(["predict", "--model", str(tmp / "m"), str(tmp_path / "dev.tsv"),
                 "--out", str(tmp_path / "c.csv"), "--device", "cpu"]) == 0  # fmt: skip
    kmer = pd.read_csv(tmp_path / "c.csv")  # DNABERT 6-mer TSV: the same sequences, decoded
    probs = ["prob_0", "prob_1", "prob_2"]
    np.testing.assert_allclose(kmer[probs].to_numpy(), text[probs].to_numpy())
    assert kmer["label"].tolist() == [0, 0]  # the TSV's labels are kept


def test_predict_errors(saved, tmp_path, capsys):
    tmp, _, _ = saved
    (tmp_path / "bad.txt").write_text("ACGT\nACXT\n")
    code = main(["predict", "--model", str(tmp / "m"), str(tmp_path / "bad.txt"),
                 "--out", str(tmp_path / "o.csv")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "invalid character 'X'" in err and "bad.txt" in err
    assert main(["predict", "--model", str(tmp / "m"), str(tmp_path / "bad.txt"),
                 "--out", str(tmp_path / "o.csv"), "--on-invalid", "n"]) == 0  # fmt: skip
    assert pd.read_csv(tmp_path / "o.csv")["id"].tolist() == ["bad.txt:1", "bad.txt:2"]
    code = main(["predict", "--model", str(tmp_path), str(tmp_path / "bad.txt"),
                 "--out", str(tmp_path / "o.csv")])  # fmt: skip
    assert code == 2 and "task.json does not exist" in capsys.readouterr().err


def test_predict_config_and_set_give_the_same_rows(saved, tmp_path):
    tmp, _, _ = saved
    (tmp_path / "in.txt").write_text("ACGTACGTAC\nGGGCCCAAAT\nACGTTT\n")
    base = ["predict", "--model", str(tmp / "m"), str(tmp_path / "in.txt")]
    assert main([*base, "--out", str(tmp_path / "a.csv"), "--device", "cpu"]) == 0
    (tmp_path / "p.yaml").write_text("batch_size: 1\nchunk_size: 2\nprecision: 32-true\n")
    assert main([*base, "--out", str(tmp_path / "b.csv"), "--config", str(tmp_path / "p.yaml"),
                 "--set", "device=cpu"]) == 0  # fmt: skip
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert a["id"].tolist() == b["id"].tolist()
    np.testing.assert_allclose(a.iloc[:, 1:4].to_numpy(), b.iloc[:, 1:4].to_numpy(), atol=1e-6)


def test_predict_file_checks_device_and_precision(saved, tmp_path):
    tmp, _, _ = saved
    (tmp_path / "in.txt").write_text("ACGT\n")
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda or cuda:N, got 'tpu'"):
        predict_file(tmp / "m", tmp_path / "in.txt", tmp_path / "o.csv", device="tpu")
    with pytest.raises(ValueError, match="precision must be one of auto, 32-true, bf16-mixed"):
        predict_file(tmp / "m", tmp_path / "in.txt", tmp_path / "o.csv", precision="half")


def test_classifier_pads_to_max_len_only_when_outputs_depend_on_padding():
    aware = FinDNANetwork(ModelConfig.tiny(max_len=40, length_mode="length_aware"))
    fixed = FinDNANetwork(ModelConfig.tiny(max_len=40, length_mode="fixed"))
    assert SequenceClassifier(aware, 2).pad_length is None
    assert SequenceClassifier(aware, 2, pooling="mean").pad_length == 40
    assert SequenceClassifier(fixed, 2).pad_length == 40
    assert SequenceClassifier(aware, 2, pooling="masked_mean", n_cls=10).n_cls == 0


def test_predict_never_writes_onto_its_input_or_an_existing_file(saved, tmp_path, capsys):
    tmp, _, _ = saved
    src = tmp_path / "in.csv"
    pd.DataFrame({"sequence": ["ACGTACGT", "GGGCCCAA"]}).to_csv(src, index=False)
    before = src.read_bytes()
    base = ["predict", "--model", str(tmp / "m"), str(src)]
    assert main([*base, "--out", str(src), "--force"]) == 2
    assert "is an input of this command" in capsys.readouterr().err and src.read_bytes() == before
    out = tmp_path / "pred.csv"
    out.write_text("an earlier result\n")
    assert main([*base, "--out", str(out)]) == 2
    assert "exists; pass --force to replace it" in capsys.readouterr().err
    assert out.read_text() == "an earlier result\n"
    assert main([*base, "--out", str(out), "--force"]) == 0
    assert pd.read_csv(out).shape[0] == 2


def test_predict_keeps_and_scores_the_labels_of_a_table(saved, tmp_path, capsys):
    tmp, task, _ = saved
    seqs, labels = task.test.seqs, task.test.labels
    table = tmp_path / "labelled.csv"
    pd.DataFrame({"id": [f"r{i}" for i in range(len(seqs))], "sequence": seqs,
                  "label": labels}).to_csv(table, index=False)  # fmt: skip
    out = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(tmp / "m"), str(table), "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns[:2]) == ["id", "label"] and frame["label"].tolist() == list(labels)
    probs = frame[["prob_0", "prob_1", "prob_2"]].to_numpy()
    saved_metrics = json.loads((tmp_path / "pred.metrics.json").read_text())["metrics"]
    assert saved_metrics == pytest.approx(compute_metrics(labels, probs), abs=1e-6)
    assert "against the input's labels: accuracy" in capsys.readouterr().out
    # Class names as labels are mapped by the classifier's task.json; others are refused.
    names = tmp_path / "names.csv"
    names.write_text("sequence,label\nACGTACGTAC,1\nGGGCCCAAAT,7\n")
    assert main(["predict", "--model", str(tmp / "m"), str(names), "--out",
                 str(tmp_path / "n.csv")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "names.csv, data row 2" in err and "label '7' is not a class" in err
    assert not (tmp_path / "n.csv").exists()


def test_predict_scores_each_split_of_a_task_table(saved, tmp_path, caplog, capsys):
    """A task table given as it is (a split column with train rows): a warning says the metrics
    over all rows cover training rows, with the counts, and each split is scored apart too, as
    its rows alone would be; a table of test rows alone is neither warned about nor split."""
    tmp, task, _ = saved
    n = len(task.test)
    splits = ["train"] * (n - 4) + ["test", "TEST ", "", "test"]
    frame = pd.DataFrame({"sequence": task.test.seqs, "label": task.test.labels, "split": splits})
    frame.to_csv(tmp_path / "task.csv", index=False)
    argv = ["predict", "--model", str(tmp / "m"), str(tmp_path / "task.csv")]
    with caplog.at_level("WARNING", logger="findna.eval.predict_outputs"):
        assert main([*argv, "--out", str(tmp_path / "a.csv")]) == 0
    said = f"the metrics cover all {n} rows ((empty) 1, test 3, train {n - 4}), not the test rows"
    assert "task.csv has a 'split' column: " + said in caplog.text
    scored = json.loads((tmp_path / "a.metrics.json").read_text())
    assert list(scored["per_split"]) == ["train", "test", "(empty)"]
    probs = pd.read_csv(tmp_path / "a.csv")[["prob_0", "prob_1", "prob_2"]].to_numpy()
    labels = np.asarray(task.test.labels)
    test_rows = np.array([n - 4, n - 3, n - 1])
    assert scored["per_split"]["test"]["rows"] == 3
    # 3 test rows hold 2 of the 3 classes: AUROC is undefined, written as null
    assert scored["per_split"]["test"]["metrics"]["auroc_ovr_macro"] is None
    assert none_to_nan(scored["per_split"]["test"]["metrics"]) == pytest.approx(
        compute_metrics(labels[test_rows], probs[test_rows]), abs=1e-6, nan_ok=True
    )
    assert scored["per_split"]["train"]["metrics"] == pytest.approx(
        compute_metrics(labels[: n - 4], probs[: n - 4]), abs=1e-6
    )
    assert scored["metrics"] == pytest.approx(compute_metrics(labels, probs), abs=1e-6)
    assert f"  split train ({n - 4} rows): accuracy" in capsys.readouterr().out
    # A split column of another name is named with --split-column (and must exist).
    frame.rename(columns={"split": "fold"}).to_csv(tmp_path / "fold.csv", index=False)
    argv = ["predict", "--model", str(tmp / "m"), str(tmp_path / "fold.csv")]
    assert main([*argv, "--out", str(tmp_path / "f.csv"), "--split-column", "fold"]) == 0
    scored_fold = json.loads((tmp_path / "f.metrics.json").read_text())
    assert scored_fold["per_split"] == scored["per_split"]
    assert main([*argv, "--out", str(tmp_path / "g.csv"), "--split-column", "split"]) == 2
    err = capsys.readouterr().err
    assert "fold.csv: no split column 'split'; the header has ['sequence', 'label', 'fold']" in err
    assert not (tmp_path / "g.csv").exists()
    frame[["sequence"]].to_csv(tmp_path / "bare.csv", index=False)
    argv = ["predict", "--model", str(tmp / "m"), str(tmp_path / "bare.csv")]
    assert main([*argv, "--out", str(tmp_path / "h.csv"), "--split-column", "fold"]) == 2
    assert "has no labels or targets to score" in capsys.readouterr().err
    caplog.clear()
    frame.assign(split="test").to_csv(tmp_path / "test.csv", index=False)
    argv = ["predict", "--model", str(tmp / "m"), str(tmp_path / "test.csv")]
    with caplog.at_level("WARNING", logger="findna.eval.predict_outputs"):
        assert main([*argv, "--out", str(tmp_path / "b.csv")]) == 0
    assert caplog.text == ""
    assert "per_split" not in json.loads((tmp_path / "b.metrics.json").read_text())
    assert "  split " not in capsys.readouterr().out


def test_predict_names_columns_after_the_classes_and_records_what_made_it(saved, tmp_path):
    """Issue 24: prob_<class> and predicted_label from the classifier's class names, the label
    and sequence columns named by the user, and OUT.meta.json as embed writes its metadata."""
    import shutil

    from findna.provenance import file_md5

    tmp, task, _ = saved
    named = tmp_path / "named"
    shutil.copytree(tmp / "m", named)
    meta = json.loads((named / "task.json").read_text())
    (named / "task.json").write_text(json.dumps({**meta, "classes": ["enh", "prom", "other"]}))
    table = tmp_path / "in.tsv"
    seqs, labels = task.test.seqs[:6], task.test.labels[:6]
    names = ["enh", "prom", "other"]
    pd.DataFrame({"dna": seqs, "kind": [names[y] for y in labels]}).to_csv(
        table, sep="\t", index=False
    )
    out = tmp_path / "pred.csv"
    argv = ["predict", "--model", str(named), str(table), "--out", str(out)]
    assert main([*argv, "--label-column", "kind", "--sequence-column", "dna"]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == [
        "id", "kind", "prob_enh", "prob_prom", "prob_other", "predicted", "predicted_label"
    ]  # fmt: skip
    assert frame["predicted_label"].tolist() == [names[i] for i in frame["predicted"]]
    assert json.loads((tmp_path / "pred.metrics.json").read_text())["rows"] == 6
    made = json.loads((tmp_path / "pred.meta.json").read_text())
    assert made["rows"] == 6 and made["data_checksums"]["input"] == {str(table): file_md5(table)}
    assert made["config"]["classifier"]["classes"] == names
    assert made["config"]["predict"]["sequence_column"] == "dna"
    # what ran is recorded beside what was asked (tests pin auto to float32 on a CPU)
    ran = made["config"]["predict"]
    assert (ran["precision_requested"], ran["precision"]) == ("auto", "32-true")
    assert "FINDNA_CPU_PRECISION" in ran["precision_reason"]
    assert len(made["checkpoint_id"]) == 64 and made["findna_version"]


def test_predict_column_errors_name_the_column(saved, tmp_path, capsys):
    tmp, _, _ = saved
    table = tmp_path / "in.csv"
    table.write_text("sequence,label\nACGTACGTAC,1\n")
    argv = ["predict", "--model", str(tmp / "m"), str(table), "--out", str(tmp_path / "o.csv")]
    assert main([*argv, "--label-column", "kind"]) == 2
    assert "no label column 'kind'; the header has ['sequence', 'label']" in capsys.readouterr().err
    assert main([*argv, "--sequence-column", "dna"]) == 2
    assert "no sequence column 'dna'" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()
