"""A user's per-base table through the commands (issue 23): ``findna probe`` and ``findna
benchmark --mode finetune`` with ``--task-type per_base``, and ``findna.finetune``, each routed to
the per-base method (a head per base, :mod:`findna.eval.finetune_methods`)."""

import json
from dataclasses import replace

import numpy as np
import pytest
import yaml

import findna
from findna.cli import main
from findna.data.tasks import TaskSpec
from findna.eval.finetune import Finetune, FinetuneConfig
from findna.eval.finetune_methods import finetune_method
from findna.eval.per_base_finetune import PerBaseFinetune
from findna.eval.task_types import is_per_base
from findna.model.config import ModelConfig

TINY = "{track_size: 4, hidden: 16, n_layers: 1, max_len: 64}"


@pytest.fixture
def gc_table(tmp_path):
    """60 random sequences of 16-30 bp in one table (no split column), labelled 1 on G/C."""
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), int(rng.integers(16, 31)))) for _ in range(60)]
    rows = [f"{s},{''.join('1' if b in 'GC' else '0' for b in s)}" for s in seqs]
    path = tmp_path / "gc.csv"
    path.write_text("dna,bases\n" + "\n".join(rows) + "\n")
    return path


FLAGS = ["--task-type", "per_base", "--label-column", "bases", "--sequence-column", "dna"]


def test_probe_reads_the_per_base_flags(gc_table, tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY.strip("{}").replace(", ", "\n") + "\n")
    args = ["probe", "--task", str(gc_table), *FLAGS, "--model", "scratch"]
    args += ["--scratch-model", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "p")]
    args += ["--set", "epochs=10", "--set", "lrs=[0.01,0.1]", "--set", "batch_size=8"]
    assert main(args) == 0, capsys.readouterr().err
    (result,) = json.loads((tmp_path / "p" / "probe.json").read_text())["results"]
    assert result["primary_metric"] == "mcc" and {"f1_0", "f1_1"} <= set(result["test_metrics"])
    assert result["test_metrics"]["mcc"] > 0.9  # the label is the base itself


def test_benchmark_finetunes_a_per_base_table_per_base(gc_table, tmp_path, capsys):
    out = tmp_path / "bench"
    args = ["benchmark", "--suite", str(gc_table), *FLAGS, "--models", "scratch", "--mode"]
    args += ["finetune", "--seeds", "0,1", "--set", "finetune.epochs=1"]
    args += ["--set", "finetune.batch_size=8", "--set", f"scratch_model={TINY}"]
    args += ["--set", "finetune.precision=32-true", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())["results"]
    assert sorted(r["seed"] for r in results) == [0, 1]
    for r in results:  # PerBaseFinetune's record: one epoch, scored base by base
        assert r["mode"] == "finetune" and r["primary_metric"] == "mcc"
        assert r["hyperparameters"]["selected_epoch"] == 1
        assert len(r["hyperparameters"]["val_by_epoch"]) == 1
        assert {"f1_0", "f1_1", "macro_f1"} <= set(r["test_metrics"])
    assert yaml.safe_load((out / "config.yaml").read_text())["task_type"] == "per_base"


def test_finetune_command_shows_a_progress_bar_for_a_per_base_task(gc_table, tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY.strip("{}").replace(", ", "\n") + "\n")
    args = ["finetune", "--task", str(gc_table), *FLAGS, "--model", "scratch", "--no-save"]
    args += ["--scratch-model", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "f")]
    args += ["--set", "epochs=2", "--set", "batch_size=8", "--set", "precision=32-true"]
    assert main(args) == 0
    err = capsys.readouterr().err
    # 42 training rows in batches of 8: 6 steps per epoch, 12 in all, then each epoch's val MCC.
    assert "fine-tune seed 0" in err and "12/12" in err and "val_mcc=" in err


def test_api_finetune_routes_a_per_base_task(gc_table, tmp_path):
    opts = {"task_type": "per-base", "label_column": "bases", "sequence_column": "dna"}
    data = findna.load_task(str(gc_table), 0, task_options=opts)
    report = findna.finetune(
        data,
        "scratch",
        out=tmp_path / "ft",
        settings={"epochs": 1, "batch_size": 8, "precision": "32-true"},
        scratch=ModelConfig.tiny(max_len=64, track_size=4),
        save_models=False,
    )
    (result,) = report.results
    assert result.primary_metric == "mcc" and result.hyperparameters["val_by_epoch"]
    assert "f1_1" in result.test_metrics


def test_finetune_method_by_type():
    cfg = FinetuneConfig(epochs=1)
    files = {"all": "t.csv"}
    plain = TaskSpec("t", "user", files, "table", 2, "mcc", "resplit_70_10_20", classes=("0", "1"))
    per_base = replace(plain, task_type="per_base")
    assert is_per_base(per_base.task_type) and not is_per_base(plain.task_type)
    assert type(finetune_method(per_base.task_type, cfg)) is PerBaseFinetune
    assert type(finetune_method(plain.task_type, cfg)) is Finetune
