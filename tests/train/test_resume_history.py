"""Issue 22: ``--resume`` keeps the whole training log and starts from the newest valid checkpoint.

The SIGKILL case (every step of ``metrics.csv`` once, equal to the uninterrupted run) is part of
``test_pretrain.py::test_resume_after_sigkill_matches_the_uninterrupted_run``.
"""

import csv
import logging
from pathlib import Path

import lightning as L
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from findna.cli import main
from findna.config import load_config
from findna.model.loading import read_checkpoint
from findna.train.config import PretrainConfig
from findna.train.pretrain import run_pretrain
from findna.train.resume import find_resume_point, has_checkpoint
from findna.train.run_logs import RunCSVLogger, continue_logs
from micro_pretrain import micro_config


def _fake_checkpoint(path: Path, step: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"findna": {"config": {}}, "state_dict": {}, "global_step": step}, path)
    return path


def _steps(csv_path: Path) -> list[tuple[int, bool]]:
    """(step, is a validation row) of each row of a metrics.csv, in file order."""
    with open(csv_path, newline="") as f:
        return [(int(r["step"]), bool(r.get("val/loss"))) for r in csv.DictReader(f)]


def test_the_resume_point_is_the_highest_step_that_loads(tmp_path, caplog):
    folder = tmp_path / "checkpoints"
    last = _fake_checkpoint(folder / "last.ckpt", 8)
    last.write_bytes(last.read_bytes()[:100])  # a kill or a full disk cut it short
    _fake_checkpoint(folder / "step-8.ckpt", 8)
    _fake_checkpoint(folder / "last-v1.ckpt", 4)  # newer file, older step
    (folder / "last.ckpt.tmp").write_bytes(b"half")
    (folder / "step-12.ckpt.tmp-99999999").write_bytes(b"half")
    with caplog.at_level(logging.INFO, logger="findna.train.resume"):
        point = find_resume_point(tmp_path)
    assert (point.path.name, point.step) == ("step-8.ckpt", 8)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for name in ("last.ckpt is corrupt or truncated", "last.ckpt.tmp is", "step-12.ckpt.tmp-"):
        assert sum(name in w for w in warned) == 1, (name, warned)
    assert f"from {folder / 'step-8.ckpt'} (step 8)" in caplog.text

    _fake_checkpoint(last, 8)  # a valid last.ckpt wins a tie
    assert find_resume_point(tmp_path).path == last


def test_no_valid_checkpoint_names_every_file_skipped(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    assert not has_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError, match="the run saved no checkpoint yet"):
        find_resume_point(tmp_path)
    (folder / "last.ckpt.tmp-123").write_bytes(b"half")
    (folder / "step-4.ckpt").write_bytes(b"not a zip")
    assert has_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        find_resume_point(tmp_path)
    assert "last.ckpt.tmp-123 is the temporary" in str(err.value)
    assert "step-4.ckpt is corrupt or truncated" in str(err.value)
    assert "without --resume" in str(err.value)
    _fake_checkpoint(folder / "step-2.ckpt", 2)  # the case: no last.ckpt, its temporary
    assert find_resume_point(tmp_path).path.name == "step-2.ckpt"


def test_a_resumed_csv_log_keeps_earlier_rows_and_drops_the_rewritten_ones(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    # Steps 1, 3, 5 and a validation row at 5 from the killed run, and a last line cut short.
    (logs / "metrics.csv").write_text(
        "epoch,step,train/loss,val/loss\n0,1,0.9,\n0,3,0.8,\n0,5,0.7,\n0,5,,0.6\n0,7,0.5"
    )
    logger = RunCSVLogger(tmp_path)
    continue_logs([logger], 4)  # resumed from the checkpoint of step 4: it logs steps 4 on
    logger.log_metrics({"train/loss": 0.71, "epoch": 0}, step=5)
    logger.log_metrics({"train/lr": 0.1, "epoch": 0}, step=7)  # a new column: a rewrite
    assert _steps(logs / "metrics.csv") == [(1, False), (3, False), (5, False), (7, False)]
    with open(logs / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["train/loss"] for r in rows] == ["0.9", "0.8", "0.71", ""]
    assert rows[-1]["train/lr"] == "0.1"
    assert sorted(p.name for p in logs.iterdir()) == ["metrics.csv"]  # no temporary left


class _CrashAt(L.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            raise RuntimeError("simulated crash")


def test_resume_from_the_step_checkpoint_when_last_is_damaged(tmp_path, capsys, caplog):
    """Issue 22: a truncated last.ckpt and the temporaries of a failed write stopped --resume
    ("saved no checkpoint yet"); a hand copy made Lightning write last-v1.ckpt."""
    config = micro_config(tmp_path, optim={"max_steps": 8}, run={"val_every_n_steps": 100})
    cfg = load_config(PretrainConfig, config)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_pretrain(cfg, extra_callbacks=[_CrashAt(6)])
    run = tmp_path / "run"
    folder = run / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["last.ckpt", "step-4.ckpt"]
    (folder / "last.ckpt").write_bytes((folder / "last.ckpt").read_bytes()[:1000])
    (folder / "last.ckpt.tmp").write_bytes(b"half")
    # Step 6's row is logged after its batch ends: the crash came first.
    assert _steps(run / "logs" / "metrics.csv") == [(1, False), (3, False)]

    assert main(["pretrain", "--resume", str(run)]) == 0
    out = capsys.readouterr()
    assert f"resumed from {folder / 'step-4.ckpt'} at step 4" in out.out
    assert "last.ckpt is corrupt or truncated" in caplog.text
    assert "last.ckpt.tmp is the temporary of an interrupted write" in caplog.text
    assert read_checkpoint(folder / "last.ckpt")["global_step"] == 8
    assert not list(folder.glob("last-v*"))
    assert find_resume_point(run, report=False).step == 8
    # The log holds every step once: 1 and 3 from before, 5 and 7 written again after step 4.
    assert _steps(run / "logs" / "metrics.csv") == [(1, False), (3, False), (5, False), (7, False)]
    # TensorBoard keeps both event files and shows each step once (purge_step hides the rest).
    tensorboard = run / "logs" / "tensorboard"
    assert len(list(tensorboard.glob("events.out.tfevents.*"))) == 2
    events = EventAccumulator(str(tensorboard))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [1, 3, 5, 7]
