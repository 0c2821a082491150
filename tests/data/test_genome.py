import gzip
import hashlib
import json
import pickle
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from findna import outputs as outputs_mod
from findna.cli import main
from findna.data import fasta as fasta_mod
from findna.data.alphabet import decode
from findna.data.fasta import n_runs
from findna.data.genome import genome_summary, load_genome, prepare_genome

FASTA_A = b">a desc one\nNNACgtac\nGTNN\n>b\nacgtACGTRY\n"  # a: 12 bp, b: 10 bp
FASTA_C = b">c\nGGGGCCCCAT\n"


@pytest.fixture
def inputs(tmp_path):
    a = tmp_path / "a.fa.gz"
    a.write_bytes(gzip.compress(FASTA_A))
    c = tmp_path / "c.fa"
    c.write_bytes(FASTA_C)
    return a, c


def test_round_trip_codes_softmask_and_index(tmp_path, inputs):
    out = tmp_path / "g"
    result = prepare_genome(inputs, out)
    assert not result.skipped
    g = result.genome
    assert g.names == ("a", "b", "c")
    raw = {"a": "NNACgtacGTNN", "b": "acgtACGTRY", "c": "GGGGCCCCAT"}
    for name, seq in raw.items():
        assert decode(g.sequence(name)) == seq.upper().replace("R", "N").replace("Y", "N")
        assert g.softmask(name).tolist() == [ch.islower() for ch in seq]
    assert decode(g.codes) == "NNACGTACGTNN" + "ACGTACGTNN" + "GGGGCCCCAT"
    assert decode(g.sequence("b", 2, 6)) == "GTAC"
    a, b, c = g.records
    assert (a.offset, a.length, b.offset, c.offset) == (0, 12, 12, 22)
    assert a.description == "desc one"
    assert a.n_runs == ((0, 2), (10, 12)) and a.n_count == 4
    assert b.n_runs == ((8, 10),)
    assert a.gc_fraction == pytest.approx(4 / 8)  # ACGTACGT
    assert c.gc_fraction == pytest.approx(8 / 10)
    assert a.softmask_fraction == pytest.approx(4 / 12)
    assert b.softmask_offset == 2  # 12 bits of 'a' take 2 bytes
    totals = g.index["totals"]
    assert totals["length"] == 32 and totals["n_count"] == 6
    assert totals["gc_fraction"] == pytest.approx((4 + 4 + 8) / 26)
    assert totals["softmask_fraction"] == pytest.approx(8 / 32)
    src = g.index["sources"][0]
    assert src["size"] == inputs[0].stat().st_size
    assert src["sha256"] == hashlib.sha256(inputs[0].read_bytes()).hexdigest()
    assert src["md5"] == hashlib.md5(inputs[0].read_bytes()).hexdigest()
    codes_bytes = (out / "codes.u8").read_bytes()
    assert g.index["files"]["codes"]["sha256"] == hashlib.sha256(codes_bytes).hexdigest()


def test_no_softmask_track_when_all_upper_case(tmp_path, inputs):
    g = prepare_genome([inputs[1]], tmp_path / "g").genome
    assert not (tmp_path / "g" / "softmask.bits").exists()
    assert g.index["files"]["softmask"] is None
    assert not g.softmask("c").any()


def test_rerun_is_idempotent_and_force_replaces(tmp_path, inputs, caplog):
    out = tmp_path / "g"
    prepare_genome(inputs, out)
    mtime = (out / "index.json").stat().st_mtime_ns
    with caplog.at_level("INFO"):
        again = prepare_genome(inputs, out)
    assert again.skipped and "up to date" in caplog.text
    assert (out / "index.json").stat().st_mtime_ns == mtime
    with pytest.raises(FileExistsError, match="made from other inputs.*--force"):
        prepare_genome([inputs[1]], out)
    with pytest.raises(FileExistsError):  # the option is part of the identity too
        prepare_genome(inputs, out, on_invalid="n")
    replaced = prepare_genome([inputs[1]], out, force=True)
    assert not replaced.skipped and replaced.genome.names == ("c",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fa.gz", "c.fa", "g"]


def test_foreign_directory_refused_and_empty_directory_used(tmp_path, inputs):
    foreign = tmp_path / "f"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    for force in (False, True):  # --force never deletes what findna did not write
        with pytest.raises(ValueError, match="does not hold a prepared genome.*even with --force"):
            prepare_genome(inputs, foreign, force=force)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    a_file = tmp_path / "table.csv"
    a_file.write_text("keep")
    with pytest.raises(ValueError, match="is a file; give a folder"):
        prepare_genome(inputs, a_file, force=True)
    assert a_file.read_text() == "keep"
    empty = tmp_path / "e"
    empty.mkdir()
    assert prepare_genome(inputs, empty).genome.names == ("a", "b", "c")


def test_failure_leaves_nothing_and_leftover_tmp_is_not_output(tmp_path, inputs):
    bad = tmp_path / "bad.fa"
    bad.write_bytes(b">a\nACGT\n")  # duplicate of record 'a' in the first input
    out = tmp_path / "g"
    with pytest.raises(ValueError, match="record 'a' is also in"):
        prepare_genome([inputs[0], bad], out)
    assert not out.exists()
    assert not list(tmp_path.glob("g.tmp-*"))
    # A crashed run's leftover: a tmp dir with data but no index.json.
    dead = _dead_pid()
    leftover = tmp_path / f"g.tmp-{dead}"
    leftover.mkdir()
    (leftover / "codes.u8").write_bytes(b"\x00" * 4)
    with pytest.raises(FileNotFoundError, match="no index.json"):
        load_genome(leftover)
    assert prepare_genome(inputs, out).genome.names == ("a", "b", "c")
    assert not leftover.exists()  # the killed run's leftover is cleaned up by the next write


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_index_is_written_last(tmp_path, inputs, monkeypatch):
    def crash(tmp, out):  # the rename into place, killed
        assert (Path(tmp) / "index.json").is_file() and not Path(out).exists()
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs_mod.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare_genome(inputs, tmp_path / "g")
    assert not (tmp_path / "g").exists() and not list(tmp_path.glob("g.tmp-*"))


def test_damaged_files_are_detected(tmp_path, inputs):
    out = tmp_path / "g"
    prepare_genome(inputs, out)
    with open(out / "codes.u8", "ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(ValueError, match="size 33 but index.json says 32"):
        load_genome(out)
    (out / "index.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_genome(out)


def test_genome_pickles_by_path(tmp_path, inputs):
    g = prepare_genome(inputs, tmp_path / "g").genome
    payload = pickle.dumps(g)
    assert len(payload) < 500  # not the sequence
    assert decode(pickle.loads(payload).codes) == decode(g.codes)


def test_summary_of_fasta_equals_summary_of_prepared(tmp_path, inputs):
    out = tmp_path / "g"
    prepare_genome([inputs[0]], out)
    from_dir, from_fasta = genome_summary(out), genome_summary(inputs[0])
    from_dir.pop("path"), from_fasta.pop("path")
    assert from_dir == from_fasta
    assert from_dir["records"] == 2 and from_dir["total_bp"] == 22
    assert from_dir["n_fraction"] == pytest.approx(6 / 22)
    assert (from_dir["min_record_bp"], from_dir["max_record_bp"]) == (10, 12)


@pytest.mark.parametrize(
    ("codes", "runs"),
    [([0, 1], []), ([4, 4, 0, 4], [[0, 2], [3, 4]]), ([4], [[0, 1]]), ([], [])],
)
def test_n_runs(codes, runs):
    assert n_runs(np.array(codes, dtype=np.uint8)).tolist() == runs


def test_cli_prepare_genome(tmp_path, inputs, capsys):
    out = tmp_path / "g"
    assert main(["prepare", "genome", *map(str, inputs), "--out", str(out)]) == 0
    assert "3 record(s), 32 bp" in capsys.readouterr().out
    assert main(["prepare", "genome", *map(str, inputs), "--out", str(out)]) == 0
    assert "up to date, nothing to do" in capsys.readouterr().out
    assert main(["prepare", "genome", str(inputs[1]), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    json.loads((out / "index.json").read_text())


@pytest.mark.data
def test_prepare_real_yeast_chromosome(tmp_path, shared_data):
    fasta = shared_data / "genomes" / "sacCer_R64_chrI.fna.gz"
    t0 = time.perf_counter()
    g = prepare_genome([fasta], tmp_path / "y").genome
    assert time.perf_counter() - t0 < 5
    assert len(g.records) == 1 and 200_000 < g.total_length < 260_000
    assert g.records[0].softmask_fraction == pytest.approx(0.129, abs=0.01)  # README: 12.9%
    assert 0.3 < g.records[0].gc_fraction < 0.45


def test_n_runs_across_pieces(monkeypatch):
    monkeypatch.setattr(fasta_mod, "_ENCODE_PIECE", 8)
    codes = np.array([4] * 3 + [0] * 5 + [4] * 10 + [1] * 7 + [4], dtype=np.uint8)
    assert n_runs(codes).tolist() == [[0, 3], [8, 18], [25, 26]]
