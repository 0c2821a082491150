"""`findna embed`: input formats, ids, .npy/.parquet round trips, streaming, errors, CLI."""

import gzip

import numpy as np
import pandas as pd
import pytest
import torch

from findna.cli import main
from findna.data.alphabet import decode
from findna.eval.embed import embed_file, read_sequences
from findna.eval.embed_io import ids_path, read_embedding_metadata, read_embeddings
from findna.eval.features import FeatureConfig, extract_features
from findna.model.config import ModelConfig
from findna.model.loading import load_encoder
from findna.model.network import FinDNANetwork

SEQS = ["ACGTACGTAA", "GGGCCCAAATTT", "ACGTNNACGT", "TTTTGGGGCCCCAAAA", "ACG", "CATCATCATCAT"]
NAMES = [f"rec{i}" for i in range(len(SEQS))]
CONFIG = ModelConfig.tiny(max_len=32)
DIM = CONFIG.width  # 24


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("m") / "model"
    FinDNANetwork(CONFIG).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def expected(model_dir):
    """The length rule: embed builds the network for its inputs, the longest (16 bp) plus the
    CLS rows (none for masked_mean), as probe does; not the stored 32 tokens."""
    net, _ = load_encoder(model_dir, max_len=16)
    return extract_features(net, SEQS, FeatureConfig())


def _fasta(path):
    path.write_text(
        "".join(
            f">{n} some description\n{s[:5]}\n{s[5:]}\n" for n, s in zip(NAMES, SEQS, strict=True)
        )
    )
    return path


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_fasta_round_trip_streamed_in_small_chunks(tmp_path, model_dir, expected, suffix):
    fasta = _fasta(tmp_path / "in.fa")
    out = tmp_path / f"emb{suffix}"
    result = embed_file(fasta, model_dir, out, chunk_size=4, progress=False)
    assert (result.rows, result.dim) == (6, DIM)
    ids, feats = read_embeddings(out)
    assert ids == NAMES and feats.dtype == np.float32
    np.testing.assert_allclose(feats, expected, atol=1e-5)
    big = embed_file(fasta, model_dir, tmp_path / f"one{suffix}", chunk_size=100, progress=False)
    np.testing.assert_allclose(read_embeddings(big.out)[1], feats, atol=1e-6)
    assert (
        sorted(p.name for p in tmp_path.iterdir() if "partial" in p.name or "tmp" in p.name) == []
    )
    meta = read_embedding_metadata(out)  # what made the features, in either format
    assert meta["model_source"] == str(model_dir) and meta["network"] == "teacher"
    assert meta["features"]["pooling"] == "masked_mean" and meta["dim"] == DIM
    assert meta["model_id"] == result.model_id and meta["findna_version"]


def test_per_token_states_are_each_sequence_alone_through_the_encoder(tmp_path, model_dir):
    import pandas as pd

    from findna.data.alphabet import encode, one_hot

    net, _ = load_encoder(model_dir, max_len=16)  # built for the longest input
    out = tmp_path / "tokens.parquet"
    result = embed_file(_fasta(tmp_path / "in.fa"), model_dir, out, per_token=True,
                        chunk_size=7, cfg=FeatureConfig(batch_size=4), progress=False)  # fmt: skip
    frame = pd.read_parquet(out)
    assert result.rows == len(frame) == sum(map(len, SEQS)) and result.dim == DIM
    assert list(frame.columns[:2]) == ["id", "position"]
    for name, seq in zip(NAMES, SEQS, strict=True):
        rows = frame[frame["id"] == name]
        assert rows["position"].tolist() == list(range(len(seq)))
        with torch.no_grad():  # the sequence alone, unpadded: the definition of its states
            alone = net.encode(one_hot(torch.from_numpy(encode(seq))[None]))[0].numpy()
        np.testing.assert_allclose(rows.drop(columns=["id", "position"]).to_numpy(), alone,
                                   atol=1e-5)  # fmt: skip
    assert read_embedding_metadata(out)["per_token"] is True
    with pytest.raises(ValueError, match="per-token embeddings are a row per token"):
        embed_file(_fasta(tmp_path / "in2.fa"), model_dir, tmp_path / "t.npy", per_token=True)


def test_npy_layout_is_plain_numpy_with_an_id_sidecar(tmp_path, model_dir):
    out = tmp_path / "emb.npy"
    embed_file(_fasta(tmp_path / "in.fasta"), model_dir, out, progress=False)
    assert np.load(out).shape == (6, DIM)
    assert ids_path(out).read_text().splitlines() == NAMES


def test_parquet_layout_is_id_plus_float_columns(tmp_path, model_dir, expected):
    table = tmp_path / "in.csv"
    pd.DataFrame({"name": NAMES, "label": 0, "sequence": SEQS}).to_csv(table, index=False)
    out = tmp_path / "emb.parquet"
    embed_file(table, model_dir, out, chunk_size=4, progress=False)
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["id"] + [f"f{i}" for i in range(DIM)]
    assert frame["id"].tolist() == NAMES and frame["f0"].dtype == np.float32
    np.testing.assert_allclose(frame.drop(columns="id").to_numpy(), expected, atol=1e-5)


def test_tsv_without_id_and_gzipped_text_number_their_rows(tmp_path, model_dir, expected):
    tsv = tmp_path / "in.tsv"
    pd.DataFrame({"seq": SEQS}).to_csv(tsv, sep="\t", index=False)
    ids, feats = read_embeddings(embed_file(tsv, model_dir, tmp_path / "a.npy", progress=False).out)
    assert ids == [f"in.tsv:{i}" for i in range(1, 7)]
    np.testing.assert_allclose(feats, expected, atol=1e-5)
    txt = tmp_path / "in.txt.gz"
    with gzip.open(txt, "wt") as f:
        f.write(f"{SEQS[0]}\n\n{SEQS[1]}\n")
    ids, feats = read_embeddings(embed_file(txt, model_dir, tmp_path / "b.npy", progress=False).out)
    assert ids == ["in.txt.gz:1", "in.txt.gz:3"]
    np.testing.assert_allclose(feats, expected[:2], atol=1e-5)


def test_read_sequences_errors_name_file_and_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,sequence\na,ACGT\nb,ACZT\n")
    with pytest.raises(ValueError, match=r"bad.csv, data row 2 .*invalid character 'Z'"):
        list(read_sequences(bad))
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("id,dna\na,ACGT\n")
    with pytest.raises(ValueError, match="no sequence column"):
        list(read_sequences(nocol))
    with pytest.raises(ValueError, match="unknown input type '.bam'"):
        read_sequences(tmp_path / "reads.bam")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_sequences(tmp_path / "missing.fa")
    assert [i for i, _ in read_sequences(bad, on_invalid="n")] == ["a", "b"]


def _kmers(seq, k=3):
    return " ".join(seq[i : i + k] for i in range(len(seq) - k + 1))


def test_dnabert_kmer_tsv_is_decoded_like_read_table(tmp_path, model_dir, expected):
    from findna.data.readers import read_table

    keep = [i for i, s in enumerate(SEQS) if len(s) > 3]  # every row needs >= 2 k-mers
    seqs = [SEQS[i] for i in keep]
    kmer = tmp_path / "dev_3mer.tsv"
    kmer.write_text(
        "sequence\tlabel\n" + "".join(f"{_kmers(s)} \t{i % 2}\n" for i, s in enumerate(seqs))
    )
    assert read_table(kmer).seqs == seqs  # the finetune reader accepts it ...
    codes = [c for _, c in read_sequences(kmer, table_rows=2)]  # ... and so does embed/predict
    assert [decode(c) for c in codes] == seqs
    ids, feats = read_embeddings(
        embed_file(kmer, model_dir, tmp_path / "k.npy", chunk_size=4, progress=False).out
    )
    assert ids == [f"dev_3mer.tsv:{i}" for i in range(1, len(seqs) + 1)]
    np.testing.assert_allclose(feats, expected[keep], atol=1e-5)


def test_stray_spaces_in_plain_tables(tmp_path):
    ok = tmp_path / "ok.csv"
    ok.write_text("sequence\nACGT \n ACG\n")
    assert [decode(c) for _, c in read_sequences(ok)] == ["ACGT", "ACG"]
    bad = tmp_path / "bad.csv"
    bad.write_text("sequence\nACGT\nAC GT\n")
    with pytest.raises(ValueError, match=r"bad.csv, data row 2 .*sequence contains a space"):
        list(read_sequences(bad))
    late = tmp_path / "late.csv"  # the space only shows up after the first chunk
    late.write_text("sequence\nACGT\nACGT\nAC GT\n")
    with pytest.raises(ValueError, match=r"late.csv, data row 3 .*first rows are plain"):
        list(read_sequences(late, table_rows=2))


def test_embed_refuses_to_overwrite_and_cleans_up_after_errors(tmp_path, model_dir):
    fasta = _fasta(tmp_path / "in.fa")
    out = tmp_path / "emb.npy"
    embed_file(fasta, model_dir, out, progress=False)
    with pytest.raises(FileExistsError, match="--force"):
        embed_file(fasta, model_dir, out, progress=False)
    with pytest.raises(ValueError, match="must end in .npy or .parquet"):
        embed_file(fasta, model_dir, tmp_path / "emb.csv", progress=False)
    bad = tmp_path / "bad.txt"
    bad.write_text("ACGT\nACGT\nAC!T\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 3: invalid character '!'"):
        embed_file(bad, model_dir, tmp_path / "x.parquet", chunk_size=2, progress=False)
    assert not list(tmp_path.glob("x.*"))


def test_cli_embed_and_one_line_errors(tmp_path, model_dir, expected, capsys):
    fasta = _fasta(tmp_path / "in.fa")
    out = tmp_path / "cli.npy"
    assert main(["embed", str(fasta), "--model", str(model_dir), "--out", str(out),
                 "--chunk-size", "2"]) == 0  # fmt: skip
    assert f"6 x {DIM} features" in capsys.readouterr().out
    np.testing.assert_allclose(np.load(out), expected, atol=1e-5)
    code = main(["embed", str(fasta), "--model", str(tmp_path / "nope"), "--out", "x.npy"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("findna: error:") and err.count("\n") == 1
