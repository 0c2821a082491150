"""Near-duplicate groups and the grouped_70_10_20 split protocol (findna.data.near_duplicates)."""

import numpy as np
import pytest

from findna.data.catalog import format_info
from findna.data.near_duplicates import (
    grouped_split_indices,
    kmer_matrix,
    near_duplicate_leaks,
    similarity_groups,
)
from findna.data.readers import LabeledSequences
from findna.data.splits import apply_protocol
from findna.data.tasks import load_task
from findna.data.user_tasks import resolve_task

FLANK = "GGTACCTTAAGCTAGCTAGG"  # a library's constant flank: in every row, so ignored


def _random(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), n))


def _mutate(rng: np.random.Generator, seq: str, k: int) -> str:
    chars = list(seq)
    for i in rng.choice(len(chars), k, replace=False):
        chars[i] = "ACGT"[("ACGT".index(chars[i]) + 1) % 4]
    return "".join(chars)


def families(n_families: int, per_family: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n_families`` random 90 bp promoters, each as ``per_family`` variants 1 mismatch away
    from it (2 from each other), all behind one constant flank; returns the rows and each row's
    family."""
    rng = np.random.default_rng(seed)
    seqs, family = [], []
    for f in range(n_families):
        base = _random(rng, 90)
        for _ in range(per_family):
            seqs.append(FLANK + _mutate(rng, base, 1))
            family.append(f)
    return seqs, np.array(family)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labellings group the rows identically (ids may differ)."""
    return len(set(zip(a.tolist(), b.tolist(), strict=True))) == len(set(a)) == len(set(b))


def test_variants_of_one_promoter_form_one_group_despite_the_shared_flank():
    seqs, family = families(8, 5)
    groups = similarity_groups(seqs)
    assert same_partition(groups, family)
    assert len(set(groups)) == 8


def test_unrelated_rows_and_rows_shorter_than_k_are_groups_of_their_own():
    rng = np.random.default_rng(1)
    seqs = [_random(rng, 100) for _ in range(30)] + ["ACGT", ""]
    assert len(set(similarity_groups(seqs))) == 32
    assert similarity_groups([]).shape == (0,)


def test_identical_rows_share_a_group_even_without_kmers_to_link_them():
    # 3 copies in 4 rows: their 12-mers are in over half the rows, so all are filtered out
    rng = np.random.default_rng(7)
    copy, other = _random(rng, 100), _random(rng, 100)
    assert similarity_groups([copy, other, copy.lower(), copy]).tolist() == [0, 1, 0, 0]
    assert similarity_groups(["ACGT", "acgt", "ACG", "ACGT"]).tolist() == [0, 0, 1, 0]  # < k


def test_one_family_filling_the_table_is_refused_by_the_grouped_split(caplog):
    """200 variants of one promoter: their shared 12-mers are in every row, so the common-k-mer
    filter leaves each row a few variant-specific ones, and the groups would split the family."""
    seqs, _ = families(1, 200, seed=8)
    with caplog.at_level("WARNING"):
        similarity_groups(seqs)
    assert "100% of the 200 rows share most of their 12-mers with more than half" in caplog.text
    pool = LabeledSequences(seqs, np.zeros((200, 1), np.float32), [f"f:{i}" for i in range(200)])
    refused = r"mostly one family of near-copies .*both sides\. Set `protocol: resplit_70_10_20`"
    with pytest.raises(ValueError, match=refused):
        apply_protocol("grouped_70_10_20", {"all": pool}, seed=0)
    # families of a realistic size next to each other pass (test_grouped_protocol_never_...)
    assert similarity_groups(families(30, 4, seed=3)[0]).max() == 29


def test_a_task_names_itself_when_its_grouped_split_fails(tmp_path):
    seqs, _ = families(2, 6, seed=9)  # 2 groups cannot make 3 splits
    (tmp_path / "t.csv").write_text(
        "sequence,y\n" + "".join(f"{s},{i}\n" for i, s in enumerate(seqs))
    )
    (tmp_path / "task.yaml").write_text("path: t.csv\ntargets: [y]\nprotocol: grouped_70_10_20\n")
    with pytest.raises(ValueError, match=r"^task .*task\.yaml: cannot split 12 rows in 2 near"):
        load_task(resolve_task(str(tmp_path / "task.yaml")), seed=0)
    with pytest.raises(ValueError, match="k-mer length k=0: use 1-20"):
        kmer_matrix(seqs, 0, max_rows=2)


def test_groups_are_transitive_and_case_is_ignored():
    rng = np.random.default_rng(2)
    a, x = _random(rng, 100), _random(rng, 100)
    b = a[:60] + x[60:]  # shares 49 of its 89 12-mers with a and 29 with x
    c = x[:40] + x[40:].lower()  # x itself, half in lower case
    seqs = [a, b, c, _random(rng, 100)]
    assert similarity_groups(seqs, min_shared=0.3).tolist() == [0, 0, 0, 1]
    assert similarity_groups(seqs, min_shared=0.5).tolist() == [0, 0, 1, 2]


def test_grouped_split_keeps_groups_whole_is_seeded_and_partitions():
    groups = np.repeat(np.arange(40), 5)  # 40 groups of 5 rows
    parts = grouped_split_indices(groups, (0.7, 0.1, 0.2), seed=0)
    assert [len(p) for p in parts] == [140, 20, 40]  # 28, 4 and 8 groups
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(200))
    owners = [set(groups[p]) for p in parts]
    assert not (owners[0] & owners[1] or owners[0] & owners[2] or owners[1] & owners[2])
    again = grouped_split_indices(groups, (0.7, 0.1, 0.2), seed=0)
    other = grouped_split_indices(groups, (0.7, 0.1, 0.2), seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(parts, again, strict=True))
    assert not np.array_equal(parts[2], other[2])


def test_grouped_split_refuses_fewer_groups_than_parts():
    match = r"12 rows in 2 near-duplicate group\(s\).*largest holds 7"
    with pytest.raises(ValueError, match=match):
        grouped_split_indices(np.array([0] * 7 + [1] * 5), (0.7, 0.1, 0.2), seed=0)


def test_grouped_protocol_never_puts_a_family_on_two_sides():
    seqs, family = families(30, 4, seed=3)
    targets = np.arange(len(seqs), dtype=np.float32)[:, None]
    pool = LabeledSequences(seqs, targets, [f"f:{i}" for i in range(len(seqs))])
    out = apply_protocol("grouped_70_10_20", {"all": pool}, seed=0)
    row = {s: i for i, s in enumerate(seqs)}
    sides = [{family[row[s]] for s in out[k].seqs} for k in ("train", "val", "test")]
    assert [len(s) for s in sides] == [21, 3, 6]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert sum(len(out[k]) for k in out) == 120
    # A random re-split of the same rows puts some family on both sides of train/test.
    plain = apply_protocol("resplit_70_10_20", {"all": pool}, seed=0)
    split = [{family[row[s]] for s in plain[k].seqs} for k in ("train", "test")]
    assert split[0] & split[1]


def test_a_users_task_yaml_can_ask_for_the_grouped_split(tmp_path):
    seqs, family = families(20, 3, seed=4)
    table = tmp_path / "variants.csv"
    lines = [f"{s},{float(i)}" for i, s in enumerate(seqs)]
    table.write_text("sequence,y\n" + "\n".join(lines) + "\n")
    yaml = tmp_path / "task.yaml"
    yaml.write_text("path: variants.csv\ntargets: [y]\nprotocol: grouped_70_10_20\n")
    data = load_task(resolve_task(str(yaml)), seed=0)
    assert data.spec.protocol == "grouped_70_10_20"
    row = {s: i for i, s in enumerate(seqs)}
    sides = [{family[row[s]] for s in part.seqs} for part in data.splits().values()]
    assert [len(s) for s in sides] == [14, 2, 4] and len(set().union(*sides)) == 20


def test_kmer_matrix_by_hand():
    # 3-mers, columns in code order (A0 C1 G2 T3): ACG, CGT, GTA. TAN holds an N and is left
    # out; TAC (across the first two rows' boundary) is never a k-mer; case is ignored.
    seqs = ["ACGTA", "CGTAN", "acg", "AC"]
    matrix = kmer_matrix(seqs, 3, max_rows=2)
    assert matrix.toarray().tolist() == [[1, 1, 1], [0, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert kmer_matrix(seqs, 3, max_rows=1) is None  # every 3-mer is in 2 rows
    assert kmer_matrix(["ACGTACGT"], 3, max_rows=2).toarray().tolist() == [[1, 1, 1, 1]]
    assert kmer_matrix(["AC", "G"], 3, max_rows=2) is None


def test_near_duplicate_leaks_count_later_rows_with_a_relative_earlier():
    seqs, family = families(6, 3, seed=5)
    by_family = [[s for s, f in zip(seqs, family, strict=True) if f == k] for k in range(6)]
    splits = {
        "train": by_family[0] + by_family[1][:1],
        "val": by_family[1][1:] + by_family[2],  # 2 rows with a relative in train
        "test": by_family[2][:1] + by_family[3] + by_family[4][:2],  # 1 with one in val
    }
    assert near_duplicate_leaks(splits) == {
        "val in train": (2, 5),
        "test in train": (0, 6),
        "test in val": (1, 6),
    }


def test_data_info_reports_near_duplicates_across_splits(tmp_path):
    seqs, _ = families(10, 4, seed=6)
    split = ["train"] * 30 + ["val"] * 2 + ["test"] * 8  # family 7 straddles train and val
    rows = [f"{s},{i % 2},{p}" for i, (s, p) in enumerate(zip(seqs, split, strict=True))]
    (tmp_path / "t.csv").write_text("sequence,label,split\n" + "\n".join(rows) + "\n")
    text = format_info(str(tmp_path / "t.csv"))
    assert "near-duplicate in an earlier split (sharing half their 12-mers" in text
    assert "val in train 2/2, test in train 0/8, test in val 0/8" in text


def test_near_duplicate_leaks_leave_tasks_over_the_cap_unchecked(monkeypatch):
    monkeypatch.setattr("findna.data.near_duplicates.MAX_CHECKED_BASES", 100)
    assert near_duplicate_leaks({"train": ["A" * 60], "test": ["A" * 60]}) is None
    assert near_duplicate_leaks({"train": ["A" * 50], "test": ["A" * 50]}) == {
        "test in train": (1, 1)  # the same sequence: a near-duplicate too
    }
