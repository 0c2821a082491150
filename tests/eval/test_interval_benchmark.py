"""`findna benchmark --suite regions.bed --reference g.fa` (issue 23): a task given as genome
intervals in a benchmark, with a tiny scratch network and a kNN probe; ``reference`` reaches
``UserTaskOptions`` and the settings hash only when set."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from findna.cli import main
from findna.eval import benchmark as bm
from findna.eval.benchmark_config import BenchmarkConfig

SCRATCH = "scratch_model={track_size: 4, hidden: 16, n_layers: 1, max_len: 64}"


@pytest.fixture
def regions(tmp_path) -> tuple[Path, Path]:
    """A 1-chromosome FASTA (GC-rich first half, AT-rich second half) and a BED6 + split +
    label of 30 bp intervals: 'gc' from the first half, 'at' from the second; 10 train, 4 val,
    6 test."""
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 400, p=[0.1, 0.4, 0.4, 0.1])) + "".join(
        rng.choice(list("ACGT"), 400, p=[0.4, 0.1, 0.1, 0.4])
    )
    fasta = tmp_path / "g.fa"
    fasta.write_text(f">chr1\n{seq}\n")
    rows = []
    for i, split in enumerate(["train"] * 10 + ["val"] * 4 + ["test"] * 6):
        half = i % 2
        start = half * 400 + (i // 2) * 30
        label = "gc" if half == 0 else "at"
        rows.append(f"chr1\t{start}\t{start + 30}\tr{i}\t0\t+\t{split}\t{label}")
    bed = tmp_path / "regions.bed"
    bed.write_text("\n".join(rows) + "\n")
    return bed, fasta


def test_benchmark_of_a_bed_task_with_a_reference(regions, tmp_path, capsys):
    bed, fasta = regions
    out = tmp_path / "bench"
    args = ["benchmark", "--suite", str(bed), "--reference", str(fasta), "--models", "scratch"]
    args += ["--seeds", "0", "--set", "probe.head=knn", "--set", SCRATCH, "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    data = json.loads((out / "results.json").read_text())
    (result,) = data["results"]
    assert result["task"] == str(bed) and result["primary_metric"] == "mcc"
    assert -1.0 <= result["test_metrics"]["mcc"] <= 1.0
    card = data["provenance"]["tasks"][str(bed)]
    assert card["labels"] == {"at": 0, "gc": 1}
    assert yaml.safe_load((out / "config.yaml").read_text())["reference"] == str(fasta)
    # without the reference the BED cannot be read, and the error says what to add
    assert main([*args[:3], *args[5:-1], str(tmp_path / "none")]) == 2
    assert "genome intervals need the reference genome" in capsys.readouterr().err


def test_the_reference_enters_the_settings_hash_only_when_set():
    plain = BenchmarkConfig(suite="emp", models=["scratch"])
    assert bm._columns(plain).reference is None and bm._columns(plain).given() == {}
    with_ref = BenchmarkConfig(suite="emp", models=["scratch"], reference="g.fa")
    assert bm._columns(with_ref).reference == "g.fa"
    assert bm._columns(with_ref).given() == {"reference": "g.fa"}
    # unset, nothing is keyed (the hash of tests/eval/test_benchmark.py's old benchmark holds)
    assert bm._settings_hash(plain, None) != bm._settings_hash(with_ref, None)
