"""A resumed benchmark redoes the results made on other rows or splits than its tasks have now
(a registered task's protocol changed, a user edited a table) instead of mixing them silently
with new ones: every results.jsonl line logs the task's fingerprint; older lines are judged by
their split sizes."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
from gc_sequences import gc_biased_sequence

import findna.eval.benchmark as bm
from findna.data.tasks import TaskSpec, load_task
from findna.eval.benchmark import BenchmarkConfig, run_benchmark
from findna.eval.features import FeatureConfig
from findna.eval.probe import ProbeConfig
from findna.model.config import ModelConfig

EVERY_RUN = [("synthetic/t0", 0), ("synthetic/t0", 1), ("synthetic/t1", 0), ("synthetic/t1", 1)]


def _table(path, seed):
    rng = np.random.default_rng(seed)
    seqs = [gc_biased_sequence(rng) for _ in range(100)]
    labels = [int(sum(c in "GC" for c in s) > len(s) / 2) for s in seqs]
    pd.DataFrame({"sequence": seqs, "label": labels}).to_csv(path, index=False)


def _spec(path, name, protocol="resplit_70_10_20"):
    return TaskSpec(
        name, "toy", {"all": str(path)}, "table", num_classes=2, metric="mcc",
        protocol=protocol, max_len=24,
    )  # fmt: skip


@pytest.fixture
def bench(tmp_path, monkeypatch):
    """Two 100-row tables, a probe benchmark of a tiny scratch network on them, and the list of
    (task, seed) runs each call of ``run`` computed."""
    for t in (0, 1):
        _table(tmp_path / f"t{t}.csv", t)
    cfg = BenchmarkConfig(
        models=["scratch"],
        mode="probe",
        seeds=[0, 1],
        out_dir=str(tmp_path / "bench"),
        scratch_model=ModelConfig.tiny(hidden=8, n_layers=1, max_len=64),
        probe=ProbeConfig(epochs=2, lrs=(0.01,), features=FeatureConfig(batch_size=64)),
    )
    calls = []
    real = bm.run_seed

    def counting(task, source, method, seed, **kw):
        calls.append((task.name, seed))
        return real(task, source, method, seed, **kw)

    monkeypatch.setattr(bm, "run_seed", counting)

    def run(protocol="resplit_70_10_20"):
        calls.clear()
        specs = [_spec(tmp_path / f"t{t}.csv", f"synthetic/t{t}", protocol) for t in (0, 1)]
        run_benchmark(cfg, tasks=specs, root=tmp_path)
        return sorted(calls)

    return run


def test_a_task_fingerprint_follows_its_rows_labels_and_split(tmp_path):
    _table(tmp_path / "t.csv", 0)
    spec = _spec(tmp_path / "t.csv", "synthetic/t")
    first = load_task(spec, 0).fingerprint()
    assert load_task(spec, 0).fingerprint() == first and len(first) == 64
    assert load_task(spec, 1).fingerprint() != first  # another split seed, other splits
    frame = pd.read_csv(tmp_path / "t.csv")
    frame.loc[3, "label"] = 1 - frame.loc[3, "label"]  # one label flipped
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert load_task(spec, 0).fingerprint() != first


def test_results_on_changed_data_are_redone_with_a_warning(tmp_path, bench, caplog):
    assert bench() == EVERY_RUN
    log_path = tmp_path / "bench" / "results.jsonl"
    assert all(len(json.loads(line)["data_id"]) == 64 for line in log_path.read_text().splitlines())
    assert bench() == []  # same data: all resumed

    frame = pd.read_csv(tmp_path / "t0.csv")  # the user edits one table: one label flipped
    frame.loc[5, "label"] = 1 - frame.loc[5, "label"]
    frame.to_csv(tmp_path / "t0.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="findna.eval.results_log"):
        assert bench() == [("synthetic/t0", 0), ("synthetic/t0", 1)]
    # both seeds' runs read split seed 0 (the benchmark's fixed split_seed)
    assert "2 of the 2 logged results of synthetic/t0 (split seed 0) were made on other rows" in (
        caplog.text
    )
    assert "synthetic/t1" not in caplog.text
    assert len(log_path.read_text().splitlines()) == 6  # the old lines stay, the new ones last
    report = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert len(report["results"]) == 4  # one result per run: the new ones
    assert bench() == []

    # A registered task whose split protocol changes (here: grouped instead of random).
    assert bench(protocol="grouped_70_10_20") == EVERY_RUN


def test_lines_from_before_fingerprints_are_judged_by_their_split_sizes(tmp_path, bench):
    bench()
    log_path = tmp_path / "bench" / "results.jsonl"

    def strip(*fields):  # as findna wrote the lines before these fields existed
        entries = [json.loads(line) for line in log_path.read_text().splitlines()]
        for entry in entries:
            entry.pop("data_id", None)
            for name in fields:
                entry["result"].pop(name, None)
        log_path.write_text("".join(json.dumps(e) + "\n" for e in entries))

    strip()
    assert bench() == []  # the same split sizes: kept
    frame = pd.read_csv(tmp_path / "t1.csv")
    frame.iloc[:-3].to_csv(tmp_path / "t1.csv", index=False)  # 3 rows fewer: other sizes
    assert bench() == [("synthetic/t1", 0), ("synthetic/t1", 1)]
    strip("split_sizes")  # nothing to tell by: redone
    assert bench() == EVERY_RUN
