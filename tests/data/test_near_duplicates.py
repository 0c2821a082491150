"""Near-duplicate groups and the grouped_70_10_20 split protocol (findna.data.near_duplicates)."""

import numpy as np
import pytest

from findna.data.near_duplicates import grouped_split_indices, similarity_groups
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
