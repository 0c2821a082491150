"""A task given as genome intervals end to end: `findna data info regions.bed --reference g.fa`
and `findna probe --task regions.bed --reference g.fa` with a tiny scratch network."""

import json
from pathlib import Path

import numpy as np
import pytest

from findna.cli import main

TINY_YAML = "track_size: 4\nhidden: 16\nn_layers: 1\nmax_len: 64\n"


@pytest.fixture
def regions(tmp_path) -> tuple[Path, Path]:
    """A 2-chromosome FASTA (GC-rich first halves, AT-rich second halves) and a BED6 + split +
    label of 40 bp intervals: 'gc' from the first halves, 'at' from the second; chr1 is train,
    chr2 holds val then test."""
    rng = np.random.default_rng(0)
    gc = [0.1, 0.4, 0.4, 0.1]
    at = [0.4, 0.1, 0.1, 0.4]
    chroms = {
        c: "".join(rng.choice(list("ACGT"), 800, p=gc))
        + "".join(rng.choice(list("ACGT"), 800, p=at))
        for c in ("chr1", "chr2")
    }
    fasta = tmp_path / "g.fa"
    fasta.write_text("".join(f">{c}\n{s}\n" for c, s in chroms.items()))
    rows = []
    for c, splits in (("chr1", ["train"] * 20), ("chr2", ["val"] * 8 + ["test"] * 12)):
        for i, split in enumerate(splits):
            half = i % 2  # 0: GC half, 1: AT half
            start = half * 800 + (i // 2) * 40
            strand = "-" if i % 3 == 0 else "+"
            rows.append(
                f"{c}\t{start}\t{start + 40}\tr{i}\t0\t{strand}\t{split}\t{'gc at'.split()[half]}"
            )
    bed = tmp_path / "regions.bed"
    bed.write_text("\n".join(rows) + "\n")
    return bed, fasta


def test_data_info_of_a_bed_task(regions, capsys):
    bed, fasta = regions
    assert main(["data", "info", str(bed), "--reference", str(fasta)]) == 0
    out = capsys.readouterr().out
    assert f"task {bed}: your own data (genome intervals, flank 0, strands, on {fasta}" in out
    assert "labels: at = 0, gc = 1" in out
    assert "protocol official" in out
    assert "length min/median/max" in out and "40/40/40" in out
    assert main(["data", "info", str(bed)]) == 2
    assert "genome intervals need the reference genome" in capsys.readouterr().err


def test_probe_on_a_bed_task(regions, tmp_path, capsys):
    bed, fasta = regions
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(TINY_YAML)
    out = tmp_path / "probe"
    code = main(["probe", "--task", str(bed), "--reference", str(fasta), "--model", "scratch",
                 "--scratch-model", str(tiny), "--set", "head=knn", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "probe.json").read_text())
    result = data["results"][0]
    assert result["task"] == str(bed)
    assert -1.0 <= result["test_metrics"]["mcc"] <= 1.0
    card = data["provenance"]["tasks"][str(bed)]
    assert card["source"] == str(bed) and card["labels"] == {"at": 0, "gc": 1}
    assert card["splits"] == "given: train, val, test; all used as given"
    assert str(fasta) in data["provenance"]["data_checksums"][str(bed)]  # the reference too
    preds = next((out / "predictions").glob("*.csv")).read_text().splitlines()
    assert len(preds) == 13 and "regions.bed:29:chr2:" in preds[1]
