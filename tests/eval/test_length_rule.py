"""The length rule (docs/reliability.md): networks are built for their inputs as probe builds
them; a fine-tuned classifier refuses longer inputs unless asked; score-variants refuses a
classifier's untrained MNM head; predict names the seed folders of a fine-tune report."""

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from findna import api
from findna.cli import main
from findna.data.tasks import TaskSpec, load_task
from findna.eval.features import FeatureConfig, extract_features
from findna.eval.finetune import finetune_task
from findna.eval.finetune_config import finetune_preset
from findna.eval.predict import predict_proba
from findna.model.classifier import load_classifier
from findna.model.config import ModelConfig
from findna.model.inputs import encode_sequences
from findna.model.loading import load_encoder
from findna.model.network import FinDNANetwork

CONFIG = ModelConfig.tiny(max_len=32, hidden=8, n_layers=1)  # 5 blocks per layer


def _dna(rng, n):
    return "".join(rng.choice(list("ACGT"), size=n))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A pretrained network for 32 tokens and a fine-tune report of it (one seed) on a 2-class
    task of 12-30 bp: its classifier ``ft/seed0`` takes at most 30 tokens (masked_mean)."""
    tmp = tmp_path_factory.mktemp("len")
    torch.manual_seed(0)
    FinDNANetwork(CONFIG).save_pretrained(tmp / "pre")
    rng = np.random.default_rng(0)
    seqs = [_dna(rng, int(rng.integers(12, 31))) for _ in range(40)]
    path = tmp / "task.csv"
    pd.DataFrame({"sequence": seqs, "label": np.arange(40) % 2}).to_csv(path, index=False)
    spec = TaskSpec(
        "synthetic/two",
        "toy",
        {"all": str(path)},
        "table",
        num_classes=2,
        metric="mcc",
        protocol="resplit_70_10_20",
        max_len=30,
    )
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = finetune_preset("tiny", epochs=1)
    finetune_task(load_task(spec, 0), tmp / "pre", cfg, [0], tmp / "ft")
    torch.set_num_threads(before)
    return tmp


def _text(path, seqs):
    path.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    return path


def test_predict_refuses_inputs_longer_than_the_classifier(made, tmp_path, capsys):
    clf = made / "ft" / "seed0"
    assert load_classifier(clf)[1].max_len == 30
    fasta = _text(tmp_path / "in.fa", ["ACGT" * 5, "ACGTA" * 12])  # 20 and 60 bp
    out = tmp_path / "p.csv"
    argv = ["predict", "--model", str(clf), str(fasta), "--out", str(out), "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("findna: error:") and err.count("\n") == 1
    for part in (
        "1 of 2 sequence(s)",
        "'s1', is 60 bp",
        "at most 30 tokens (30 bp)",
        "Cut the inputs to 30 bp",
        "--allow-longer",
        "1 untrained block",
    ):
        assert part in err, part
    assert not out.exists()
    with pytest.raises(ValueError, match=r"is 60 bp .* pass allow_longer=True"):
        api.predict(clf, ["ACGTA" * 12], device="cpu")


def test_predict_scores_longer_inputs_when_asked(made, tmp_path, caplog, capsys):
    clf = made / "ft" / "seed0"
    seqs = ["ACGT" * 5, "ACGTA" * 12]
    fasta = _text(tmp_path / "in.fa", seqs)
    out = tmp_path / "p.csv"
    argv = ["predict", "--model", str(clf), str(fasta), "--out", str(out), "--device", "cpu"]
    with caplog.at_level(logging.WARNING):
        assert main([*argv, "--allow-longer"]) == 0
    assert "head was selected on shorter inputs" in caplog.text
    assert "tensors of the extra blocks start fresh" in caplog.text  # the untrained blocks
    frame = pd.read_csv(out)
    assert frame["id"].tolist() == ["s0", "s1"]
    probs = api.predict(clf, seqs, device="cpu", allow_longer=True)
    np.testing.assert_allclose(frame[["prob_0", "prob_1"]].to_numpy(), probs, atol=1e-6)


def test_predict_on_inputs_as_long_as_the_classifier_is_unchanged(made, tmp_path):
    clf = made / "ft" / "seed0"
    seqs = [_dna(np.random.default_rng(1), 30), "ACGTACGTAC"]  # 30 bp: the classifier's length
    model, _ = load_classifier(clf)
    expected = predict_proba(model, encode_sequences(seqs))
    np.testing.assert_allclose(api.predict(clf, seqs, device="cpu"), expected, atol=1e-6)
    out = tmp_path / "p.csv"
    argv = ["predict", "--model", str(clf), str(_text(tmp_path / "in.fa", seqs))]
    assert main([*argv, "--out", str(out), "--device", "cpu"]) == 0
    np.testing.assert_allclose(pd.read_csv(out)[["prob_0", "prob_1"]], expected, atol=1e-6)


def test_predict_on_a_fine_tune_report_folder_names_its_seed_folders(made, tmp_path, capsys):
    fasta = _text(tmp_path / "in.fa", ["ACGTACGT"])
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(made / "ft"), str(fasta), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is a fine-tune report folder, not a classifier" in err
    assert f"--model {made / 'ft' / 'seed0'} (found: seed0)" in err and not out.exists()
    empty = tmp_path / "nosave"
    empty.mkdir()
    (empty / "finetune.json").write_text("{}\n")
    with pytest.raises(ValueError, match="holds no classifier .* without --no-save"):
        api.predict(empty, ["ACGT"])


def test_score_variants_refuses_a_classifier_naming_its_source(made, tmp_path, capsys):
    (tmp_path / "v.tsv").write_text("chrom\tpos\tref\talt\nchrA\t5\tA\tC\n")
    argv = [
        "score-variants",
        str(tmp_path / "v.tsv"),
        "--genome",
        str(tmp_path / "g.fa"),
        "--model",
        str(made / "ft" / "seed0"),
        "--out",
        str(tmp_path / "s.tsv"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{made / 'ft' / 'seed0'} is a fine-tuned classifier (task synthetic/two)" in err
    assert "never the MNM head that score-variants reads" in err
    assert f"--model {made / 'pre'} (weights " in err  # the source of the fine-tune report
    assert not (tmp_path / "s.tsv").exists()


def test_embed_builds_the_network_for_its_inputs(made, tmp_path, caplog):
    seqs = [_dna(np.random.default_rng(2), 60), "ACGTACGT"]  # 60 bp > the 32 tokens stored
    fasta = _text(tmp_path / "in.fa", seqs)
    with caplog.at_level(logging.WARNING, logger="findna.model.loading"):
        assert (
            main(
                [
                    "embed",
                    str(fasta),
                    "--model",
                    str(made / "pre"),
                    "--out",
                    str(tmp_path / "e.npy"),
                ]
            )
            == 0
        )
    assert "built for max_len 60" in caplog.text and "start fresh" in caplog.text
    net, _ = load_encoder(made / "pre", max_len=60)
    expected = extract_features(net, seqs, FeatureConfig())
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), expected, atol=1e-5)
    # An explicit --max-len stays possible, and too short a one is refused before any work.
    argv = ["embed", str(fasta), "--model", str(made / "pre"), "--out", str(tmp_path / "f.npy")]
    assert main([*argv, "--max-len", "40"]) == 2
    assert not (tmp_path / "f.npy").exists()


def test_api_embed_sizes_a_source_and_names_its_own_fix_for_a_network(made):
    seqs = [_dna(np.random.default_rng(3), 300), "ACGT"]
    by_source = api.embed(made / "pre", seqs)
    sized = api.load_model(made / "pre", max_len=300)
    np.testing.assert_allclose(api.embed(sized, seqs), by_source, atol=1e-6)
    built = api.load_model(made / "pre")  # 32 tokens, as stored
    with pytest.raises(ValueError, match=r"findna.load_model\(source, max_len=300\)") as err:
        api.embed(built, seqs)
    assert "--max-len" not in str(err.value) and "300 bp" in str(err.value)
    with pytest.raises(ValueError, match="a built network was given"):
        api.embed(built, ["ACGT"], max_len=40)
    assert api.embed(made / "pre", seqs, max_len=320).shape == by_source.shape


def test_plot_embeddings_builds_the_network_for_the_task(made, tmp_path, caplog):
    rng = np.random.default_rng(4)
    folder = tmp_path / "long_task"
    folder.mkdir()
    for split, n in (("train", 8), ("val", 4), ("test", 6)):
        rows = [f"{_dna(rng, 50)},{i % 2}" for i in range(n)]  # 50 bp > the 32 tokens stored
        (folder / f"{split}.csv").write_text("sequence,label\n" + "\n".join(rows) + "\n")
    png = tmp_path / "map.png"
    with caplog.at_level(logging.WARNING, logger="findna.model.loading"):
        assert (
            main(
                [
                    "plot-embeddings",
                    "--task",
                    str(folder),
                    "--model",
                    str(made / "pre"),
                    "--out",
                    str(png),
                    "--method",
                    "pca",
                ]
            )
            == 0
        )
    assert png.is_file() and "built for max_len 50" in caplog.text
