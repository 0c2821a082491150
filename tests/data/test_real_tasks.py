"""Every registered task loaded from the real data, with counts checked against its README."""

import numpy as np
import pytest

from findna.data.catalog import format_listing
from findna.data.tasks import TASKS, load_task

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def loaded(shared_data):
    return {name: load_task(name, seed=0, root=shared_data) for name in TASKS}


def sizes(data):
    return len(data.train), len(data.val), len(data.test)


def test_val_never_intersects_test_and_splits_partition_rows(loaded):
    for name, data in loaded.items():
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            ids_a, ids_b = set(data.splits()[a].ids), set(data.splits()[b].ids)
            assert not ids_a & ids_b, f"{name}: {a} and {b} share rows"
        for part in data.splits().values():
            assert len(set(part.ids)) == len(part), name
            if data.spec.task_type == "regression":  # (N, T) float targets, all finite
                assert part.labels.shape == (len(part), data.spec.num_outputs), name
                assert np.isfinite(part.labels).all(), name
            else:
                assert part.labels.min() >= 0 and part.labels.max() < data.spec.num_classes


def test_gue_counts(loaded):
    assert sizes(loaded["gue/prom/prom_300_tata"]) == (4904, 613, 613)
    assert sizes(loaded["gue/prom/prom_core_all"]) == (47356, 5920, 5920)
    assert sizes(loaded["gue/tf/0"]) == (32378, 1000, 1000)
    # no train file: 90/10 of dev, test untouched
    assert sizes(loaded["gue/EMP/H3"]) == (1347, 150, 1497)
    assert sizes(loaded["gue/mouse/1"]) == (6070, 675, 6745)
    splice = loaded["gue/splice/reconstructed"]
    assert sum(sizes(splice)[:2]) == 4562 and len(splice.test) == 4562
    assert set(np.unique(splice.test.labels)) == {0, 1, 2}
    assert loaded["gue/tf/4"].shared == {"train&val": 346, "train&test": 0, "val&test": 0}
    assert loaded["gue/prom/prom_core_all"].shared["train&test"] == 42
    for m in ("H3", "H3K36me3", "H3K4me1", "H3K4me2", "H3K79me3", "H3K9ac", "H4"):
        data = loaded[f"gue/EMP/{m}"]
        assert data.spec.metric == "mcc" and data.test.ids[0] == "test.csv:1"
        assert set(data.test.lengths()) <= {290, 449, 500}


def test_genomic_benchmarks_counts(loaded):
    cohn = loaded["gb/human_enhancers_cohn"]
    assert sum(sizes(cohn)) == 6948
    labels = np.concatenate([p.labels for p in cohn.splits().values()])
    assert np.bincount(labels).tolist() == [3474, 3474]
    assert np.bincount(cohn.test.labels).tolist() == [695, 695]  # stratified 20%
    nontata = loaded["gb/human_nontata_promoters"]
    labels = np.concatenate([p.labels for p in nontata.splits().values()])
    assert np.bincount(labels).tolist() == [4119, 4915]
    assert set(nontata.train.lengths()) == {251}


def test_toy_nt_and_dnabert_counts(loaded):
    reg = loaded["toy/human_ensembl_regulatory"]
    labels = np.concatenate([p.labels for p in reg.splits().values()])
    assert np.bincount(labels).tolist() == [500, 500, 500]
    lengths = np.concatenate([p.lengths() for p in reg.splits().values()])
    assert (lengths.min(), lengths.max()) == (113, 801)
    nt = [d for n, d in loaded.items() if n.startswith("nt/")]
    assert len(nt) == 18 and sum(sum(sizes(d)) for d in nt) == 1500
    assert np.unique(loaded["nt/splice_sites_all"].train.labels).tolist() == [0, 1, 2]
    dnabert = loaded["dnabert/dev_6mer"]
    assert sum(sizes(dnabert)) == 1000
    for part in dnabert.splits().values():
        assert set(part.lengths()) == {101}
        assert set("".join(part.seqs)) <= set("ACGTN")


def test_listing_counts_match_loaded_rows(shared_data):
    text = format_listing(shared_data)
    assert "hg19_chrX_1-70Mb.fa.gz" in text and "19.8 MB" in text
    assert "MISSING" not in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("gue/tf/4 "))
    assert "train 19000, dev 1000, test 1000" in line
