"""End-to-end pretraining on a synthetic genome: files, export, guards, resume and DDP."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from findna.cli import main
from findna.config import load_config
from findna.model.loading import network_from_checkpoint, read_checkpoint
from findna.model.network import FinDNANetwork
from findna.train.config import PretrainConfig
from micro_pretrain import micro_config


def assert_follows_one_process(distributed: dict, single: dict) -> None:
    """A distributed run's final checkpoint against one process with the same global batch."""
    # The centre is averaged across ranks, so it equals the single-process centre.
    torch.testing.assert_close(
        distributed["state_dict"]["model.distill.center"],
        single["state_dict"]["model.distill.center"],
        rtol=1e-4,
        atol=1e-5,
    )
    # Gradients are averaged over ranks; the only difference from one process is that MNM is
    # a mean per rank rather than over the global batch, so weights agree closely, not exactly.
    for key, value in single["state_dict"].items():
        if key.startswith("model.student."):
            got = distributed["state_dict"][key]
            torch.testing.assert_close(got, value, rtol=1e-2, atol=2e-3, msg=key)


def test_pretrain_writes_run_files_and_a_loadable_export(tmp_path):
    config = micro_config(tmp_path)
    assert main(["pretrain", "--config", str(config)]) == 0
    run = tmp_path / "run"
    for name in (
        "config.yaml",
        "checkpoints/last.ckpt",
        "checkpoints/final.ckpt",
        "logs/metrics.csv",
        "model/config.json",
        "model/model.safetensors",
        "summary.json",
    ):
        assert (run / name).is_file(), name
    assert load_config(PretrainConfig, run / "config.yaml") == load_config(PretrainConfig, config)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["global_step"] == 12
    assert 0.0 <= summary["val/mnm_acc"] <= 1.0
    # The export's model card: steps, held-out accuracy, the prepared genome's checksum.
    card = (run / "model" / "README.md").read_text()
    assert f"windows): {summary['val/mnm_acc']:.4f}" in card
    assert "12 optimiser steps" in card and "More Information Needed" not in card
    index = json.loads((tmp_path / "prepared" / "index.json").read_text())
    assert f"| g.fa | `{index['sources'][0]['sha256']}` |" in card

    ckpt = read_checkpoint(run / "checkpoints" / "final.ckpt")
    assert ckpt["findna"]["config"]["optim"]["max_steps"] == 12
    teacher = network_from_checkpoint(ckpt, "teacher")
    loaded = FinDNANetwork.from_pretrained(run / "model")
    x = torch.nn.functional.one_hot(torch.randint(0, 5, (2, 34)), 5).float()
    assert torch.equal(loaded(x).logits, teacher(x).logits)

    assert main(["plot-run", str(run)]) == 0
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_static_views_run(tmp_path):
    config = micro_config(tmp_path, optim={"max_steps": 3}, data={"static_views": True})
    assert main(["pretrain", "--config", str(config)]) == 0
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "final.ckpt")["global_step"] == 3


def test_existing_run_dir_is_not_overwritten_without_force(tmp_path, capsys):
    config = micro_config(tmp_path, optim={"max_steps": 2})
    assert main(["pretrain", "--config", str(config)]) == 0
    assert main(["pretrain", "--config", str(config)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["pretrain", "--config", str(config), "--force"]) == 0


def test_force_checks_inputs_first_and_deletes_only_runs(tmp_path, capsys):
    """Issue 12: --force with a typo in the genome kept nothing of the old run; it also deleted
    folders that were not findna runs."""
    config = micro_config(tmp_path, optim={"max_steps": 2})
    assert main(["pretrain", "--config", str(config)]) == 0
    run = tmp_path / "run"
    before = sorted(p.relative_to(run).as_posix() for p in run.rglob("*"))
    typo = ["--set", f"data.genome={tmp_path / 'typo.fa'}", "--force"]
    assert main(["pretrain", "--config", str(config), *typo]) == 2
    assert "typo.fa does not exist" in capsys.readouterr().err
    assert sorted(p.relative_to(run).as_posix() for p in run.rglob("*")) == before

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.txt").write_text("keep me")
    args = ["pretrain", "--config", str(config), "--out", str(victim), "--force"]
    assert main(args) == 2
    assert "does not hold a findna pretraining run" in capsys.readouterr().err
    assert (victim / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.lr=-1", "optim.lr must be positive"),
        ("optim.lrr=1", "unknown key"),
        ("model.max_len=20", "smaller than the input length window"),
        ("ssl.n_cls=0", "n_cls=0 leaves the contrastive loss"),
        ("run.precision=bf16-true", "is not one of"),
    ],
)
def test_invalid_configs_are_rejected_before_training(tmp_path, capsys, override, message):
    config = micro_config(tmp_path)
    assert main(["pretrain", "--config", str(config), "--set", override]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_genome_shorter_than_a_window_is_rejected(tmp_path, capsys):
    config = micro_config(tmp_path, data={"windows": {"window_length": 7000, "num_windows": 8}})
    code = main(["pretrain", "--config", str(config), "--set", "model.max_len=7002"])
    assert code == 2
    assert "window" in capsys.readouterr().err


def test_corrupt_checkpoint_gives_a_clear_error(tmp_path, capsys):
    config = micro_config(tmp_path, optim={"max_steps": 4})
    assert main(["pretrain", "--config", str(config)]) == 0
    # A damaged last.ckpt alone does not stop a resume (tests/train/test_resume_history.py);
    # when no checkpoint loads, the error names each one.
    for ckpt in (tmp_path / "run" / "checkpoints").glob("*.ckpt"):
        ckpt.write_bytes(ckpt.read_bytes()[:1000])
    assert main(["pretrain", "--resume", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "nothing to resume" in err and "last.ckpt is corrupt or truncated" in err


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import lightning as L
    from findna.config import load_config
    from findna.train.config import PretrainConfig
    from findna.train.pretrain import run_pretrain

    class KillAt(L.Callback):
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == int(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)

    run_pretrain(load_config(PretrainConfig, sys.argv[1]), extra_callbacks=[KillAt()])
    """
)


def _findna(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "findna.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_resume_after_sigkill_matches_the_uninterrupted_run(tmp_path):
    (tmp_path / "a").mkdir()
    full_cfg = micro_config(tmp_path / "a")
    assert main(["pretrain", "--config", str(full_cfg)]) == 0

    (tmp_path / "b").mkdir()
    killed_cfg = micro_config(tmp_path / "b")
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    # Killed at step 7: the last checkpoint is step 4, so steps 5-7 are redone after resuming.
    proc = subprocess.run([sys.executable, str(script), str(killed_cfg), "7"], timeout=300)
    assert proc.returncode == -signal.SIGKILL
    run_b = tmp_path / "b" / "run"
    assert not (run_b / "checkpoints" / "final.ckpt").exists()
    assert read_checkpoint(run_b / "checkpoints" / "last.ckpt")["global_step"] == 4

    resumed = _findna("pretrain", "--resume", str(run_b))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stdout and "at step 4" in resumed.stdout
    # Issue 22: the log keeps the steps before the kill; every row once, as in the full run.
    log_a = pd.read_csv(tmp_path / "a" / "run" / "logs" / "metrics.csv")
    log_b = pd.read_csv(run_b / "logs" / "metrics.csv")
    assert list(log_b["step"]) == list(log_a["step"]) == [1, 3, 5, 5, 7, 9, 11, 11]
    pd.testing.assert_frame_equal(
        log_b.drop(columns="windows_per_s"), log_a.drop(columns="windows_per_s"), rtol=1e-5
    )
    a = load_file(tmp_path / "a" / "run" / "model" / "model.safetensors")
    b = load_file(run_b / "model" / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6, msg=key)
    ca = read_checkpoint(tmp_path / "a" / "run" / "checkpoints" / "final.ckpt")
    cb = read_checkpoint(run_b / "checkpoints" / "final.ckpt")
    torch.testing.assert_close(
        cb["state_dict"]["model.distill.center"], ca["state_dict"]["model.distill.center"]
    )


@pytest.mark.slow
def test_two_process_ddp_follows_one_process_with_twice_the_batch(tmp_path, capsys):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    # The same global batch of 16 and the same view chunks of 8 in both runs.
    one = micro_config(
        tmp_path / "one", optim={"batch_size": 16, "max_steps": 6}, data={"view_chunk": 8}
    )
    two = micro_config(
        tmp_path / "two", optim={"batch_size": 8, "max_steps": 6}, data={"view_chunk": 8}
    )
    assert main(["pretrain", "--config", str(one)]) == 0
    # One thread per rank: two 2-thread processes on 2 cores stall each other at OpenMP barriers.
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "findna.cli",
        "pretrain",
        "--config",
        str(two),
        "--set",
        "run.devices=2",
        "--set",
        "run.strategy=ddp",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ca = read_checkpoint(tmp_path / "one" / "run" / "checkpoints" / "final.ckpt")
    cb = read_checkpoint(tmp_path / "two" / "run" / "checkpoints" / "final.ckpt")
    assert_follows_one_process(cb, ca)
    # Resuming on another number of processes would change the window order: refused.
    run_two = str(tmp_path / "two" / "run")
    assert main(["pretrain", "--resume", run_two, "--set", "run.devices=1"]) == 2
    assert "written by 2 process(es) but this run has 1" in capsys.readouterr().err


def test_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    tmp_path, capsys, monkeypatch
):
    from findna.ssl.student_teacher import SelfDistillation

    forward = SelfDistillation.forward
    calls = {"n": 0}

    def poisoned(self, views, teacher_temp=None):
        out = forward(self, views, teacher_temp)
        calls["n"] += 1
        if calls["n"] == 7:  # the 7th training step (index 6) produces a NaN CL loss
            out.loss_cl = out.loss_cl * float("nan")
        return out

    monkeypatch.setattr(SelfDistillation, "forward", poisoned)
    config = micro_config(tmp_path, run={"val_every_n_steps": 100})
    assert main(["pretrain", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "loss_cl is nan at step 6" in err and "last good checkpoint" in err
    ckpts = tmp_path / "run" / "checkpoints"
    assert read_checkpoint(ckpts / "last.ckpt")["global_step"] == 4
    assert not (ckpts / "final.ckpt").exists()


def test_teacher_ema_follows_the_optimizer_step(tmp_path):
    """After one step the teacher is m0 * init + (1 - m0) * updated student.

    The EMA follows the optimiser step: docs/method.md §7 row 31.
    """
    import lightning as L

    from findna.ssl.student_teacher import SelfDistillation

    # No warm-up, so the single step has a non-zero learning rate.
    config = micro_config(
        tmp_path, optim={"max_steps": 1, "warmup_frac": 0.0}, data={"val_windows": 0}
    )
    assert main(["pretrain", "--config", str(config)]) == 0
    cfg = load_config(PretrainConfig, config)
    L.seed_everything(cfg.run.seed, verbose=False)
    init = SelfDistillation(cfg.model, cfg.ssl).student.state_dict()
    state = read_checkpoint(tmp_path / "run" / "checkpoints" / "final.ckpt")["state_dict"]
    m0 = cfg.ssl.ema_start
    for key, value in init.items():
        student = state[f"model.student.{key}"]
        assert not torch.equal(student, value), key  # the step changed the student
        expected = m0 * value + (1 - m0) * student
        torch.testing.assert_close(state[f"model.teacher.{key}"], expected, msg=key)
