"""``findna pretrain``: set up the run directory and Lightning Trainer, fit, and export.

Run directory layout::

    OUT/config.yaml             the resolved config (also inside every checkpoint)
    OUT/genome/                 the prepared genome, when the input was FASTA
    OUT/checkpoints/last.ckpt   the newest periodic checkpoint (the resume point; see
                                ``findna.train.resume`` when it is damaged)
    OUT/checkpoints/final.ckpt  written when the run completes
    OUT/logs/metrics.csv        CSV metrics; OUT/logs/tensorboard/ for TensorBoard (both kept
                                whole across resumes: ``findna.train.run_logs``)
    OUT/model/                  the exported teacher: config.json + model.safetensors, the
                                transformers files and a model card (README.md)
    OUT/summary.json            final metrics
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar

from findna.config import config_to_dict, dump_config, load_config
from findna.folders import FolderKind, OutputFolder, check_folder, folder_state, start_folder
from findna.outputs import write_text_atomic
from findna.train.checkpoint import AtomicCheckpointIO, export_checkpoint
from findna.train.config import RUN_SECTIONS, PretrainConfig, run_identity
from findna.train.datamodule import PretrainData, resolve_genome
from findna.train.module import PretrainModule
from findna.train.resume import ResumePoint, find_resume_point, has_checkpoint
from findna.train.run_logs import continue_logs, run_loggers
from findna.train.run_precision import run_precision

log = logging.getLogger(__name__)
CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "summary.json"


@dataclass
class PretrainResult:
    """What a finished run produced (``findna.pretrain`` returns it).

    Attributes:
        out_dir: the run folder (``config.yaml``, ``checkpoints/``, ``logs/``, ``summary.json``).
        final_checkpoint: ``checkpoints/final.ckpt``, the training state at the last step.
        model_dir: the exported network downstream commands load (``out_dir/model``: the
            teacher, or the student of an objective without one); ``findna.load_model(out_dir)``
            loads it too.
        metrics: the last logged value of each scalar metric (``train/loss``, ``val/loss``,
            ...), as in ``summary.json`` (which adds ``global_step``).
        resumed_from: the checkpoint and step a resumed run continued from; None for a new run.
    """

    out_dir: Path
    final_checkpoint: Path
    model_dir: Path
    metrics: dict[str, float]
    resumed_from: ResumePoint | None = None


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is the folder of a findna pretraining run (what ``--force`` may delete)."""
    return (path / CONFIG_FILE).is_file() or (path / "checkpoints").is_dir()


RUN_FOLDER = FolderKind(
    f"findna pretraining run ({CONFIG_FILE} or checkpoints/)",
    "pretrain",
    (CONFIG_FILE, "genome", "checkpoints", "logs", "model", "student", SUMMARY_FILE),
    is_run_dir,
    exists_hint="use --resume to continue that run or --force to overwrite it",
)
"""What a pretraining run writes in its folder (and what ``--force`` may remove there)."""


def _prepare_out_dir(
    cfg: PretrainConfig, resume: bool, force: bool, global_zero: bool
) -> ResumePoint | None:
    """Create or check the run directory; return the checkpoint to resume from (if any).

    Only global rank 0 (``global_zero``, as the Trainer resolved it) checks and creates it: the
    other ranks of a DDP run start later, or at the same time on other nodes, and must not
    mistake rank 0's fresh directory for an old run.
    """
    out = cfg.out_dir
    if resume:  # every rank picks the same file; rank 0 says which and what it skipped
        point = find_resume_point(out, report=global_zero)
        if global_zero:  # locked, and marked unfinished until summary.json is written
            start_folder(out, RUN_FOLDER, resume=True)
        return point
    if not global_zero:
        return None
    # findna/folders: --force removes only what a run writes (the user's notes and probe reports
    # in the run folder stay); an unfinished run without checkpoints is replaced with a warning.
    check_folder(out, RUN_FOLDER, force=force)
    if folder_state(out, RUN_FOLDER) == "incomplete" and has_checkpoint(out) and not force:
        raise FileExistsError(
            f"{out} holds an unfinished findna pretraining run with checkpoints; use --resume to "
            "continue it or --force to replace it"
        )
    start_folder(out, RUN_FOLDER, force=force)
    return None


def load_run_config(run_dir: str | Path, overrides: list[str] = ()) -> PretrainConfig:
    """The config saved in a run directory (for ``--resume``), with optional overrides."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no {CONFIG_FILE}: is it a findna pretrain run?")
    return load_config(PretrainConfig, path, [*overrides, f"run.out_dir={run_dir}"])


def build_trainer(cfg: PretrainConfig, extra_callbacks: Sequence[L.Callback] = ()) -> L.Trainer:
    """The Lightning Trainer for ``cfg``: devices, precision, checkpoints and loggers."""
    out, run = cfg.out_dir, cfg.run
    checkpoints = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="step-{step}",
        auto_insert_metric_name=False,
        every_n_train_steps=run.ckpt_every_n_steps,
        save_top_k=1,
        monitor="step",
        mode="max",
        save_last=True,
        # A run resumed from step-N.ckpt (last.ckpt damaged) must write last.ckpt again, not
        # last-v1.ckpt, which a later resume would not prefer.
        enable_version_counter=False,
    )
    callbacks: list[Any] = [checkpoints, *extra_callbacks]
    if run.progress_bar:
        callbacks.append(TQDMProgressBar(refresh_rate=max(1, run.log_every_n_steps // 2)))
    trainer = L.Trainer(
        accelerator=run.accelerator,
        devices=run.devices,
        num_nodes=run.num_nodes,
        strategy=run.strategy,
        precision=run_precision(cfg).precision,  # auto: by device and CPU, logged
        max_steps=-1,  # set below, once Lightning has resolved the world size
        max_epochs=-1,
        val_check_interval=run.val_every_n_steps,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        gradient_clip_val=cfg.optim.grad_clip or None,
        gradient_clip_algorithm="norm",
        log_every_n_steps=run.log_every_n_steps,
        logger=run_loggers(out),
        callbacks=callbacks,
        enable_progress_bar=run.progress_bar,
        enable_model_summary=False,
        use_distributed_sampler=False,  # StepBatchSampler shards by rank itself
        plugins=[AtomicCheckpointIO()],
        default_root_dir=out,
    )
    trainer.fit_loop.epoch_loop.max_steps = cfg.total_steps(trainer.world_size)
    return trainer


def run_pretrain(
    cfg: PretrainConfig,
    *,
    resume: bool = False,
    force: bool = False,
    extra_callbacks: Sequence[L.Callback] = (),
) -> PretrainResult:
    """Train (or resume) a run; export the teacher as a Hugging Face style directory.

    Args:
        cfg: the resolved config (for ``resume``, the run's own, see ``load_run_config``).
        resume: continue from the newest valid checkpoint in ``OUT/checkpoints``
            (``findna.train.resume``), keeping the logs written so far.
        force: delete an existing, non-empty ``OUT`` first.
        extra_callbacks: more Lightning callbacks (e.g. early stopping or custom logging).
    """
    # The teacher is in eval mode on purpose, and this torch/Lightning pairing warns on every run.
    warnings.filterwarnings("ignore", message=r".*module\(s\) in eval mode.*")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    L.seed_everything(cfg.run.seed, workers=True, verbose=False)
    # Check the inputs before the output folder is touched: --force must not delete a finished
    # run for a typo in data.genome.
    resolve_genome(cfg.data, cfg.out_dir, prepare=False)
    # The Trainer comes before the output folder: building it resolves this process's global
    # rank, which the environment alone does not tell on every launch (Lightning's NODE_RANK on
    # a second node sets no RANK), and only rank 0 may check and create the folder.
    trainer = build_trainer(cfg, extra_callbacks)
    resume_from = _prepare_out_dir(cfg, resume, force, trainer.is_global_zero)
    try:
        return _fit_and_export(cfg, trainer, resume_from, resume)
    except BaseException:
        if trainer.is_global_zero:  # unfinished, and unlocked: this process may try again
            OutputFolder(cfg.out_dir, RUN_FOLDER, created=False).release()
        raise


def _fit_and_export(
    cfg: PretrainConfig, trainer: L.Trainer, resume_from: ResumePoint | None, resume: bool
) -> PretrainResult:
    """Train in the prepared run folder, export the networks, then mark the run finished."""
    if resume_from is not None:
        continue_logs(trainer.loggers, resume_from.step)
        warnings.filterwarnings("ignore", message=r"Checkpoint directory .* is not empty")
    out = cfg.out_dir
    for logger in trainer.loggers:  # logs/hparams.yaml: what auto precision resolved to, and why
        logger.log_hyperparams(run_precision(cfg).record())
    data = PretrainData(cfg, out)
    module = PretrainModule(cfg)
    if trainer.is_global_zero and not resume:
        dump_config(cfg, out / CONFIG_FILE)
    trainer.fit(module, datamodule=data, ckpt_path=resume_from.path if resume_from else None)
    final = out / "checkpoints" / "final.ckpt"
    trainer.save_checkpoint(final)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    model_dir = out / "model"
    if trainer.is_global_zero:
        summary = {"global_step": trainer.global_step, **metrics}
        which = "teacher" if cfg.ssl.has_ema_network else "student"
        export_checkpoint(final, model_dir, which, force=True, metrics=summary)
        if cfg.run.export_student and cfg.ssl.has_ema_network:
            export_checkpoint(final, out / "student", "student", force=True, metrics=summary)
        # Written last, atomically: a run with summary.json is finished (ensure_pretrained
        # reuses it), so a crash while writing must leave no half of one.
        write_text_atomic(out / SUMMARY_FILE, json.dumps(summary, indent=2))
        OutputFolder(out, RUN_FOLDER, created=False).finish()  # the manifest: complete
    trainer.strategy.barrier()
    return PretrainResult(out, final, model_dir, metrics, resume_from)


def ensure_pretrained(cfg: PretrainConfig) -> float:
    """Run, resume or reuse the run in ``cfg.run.out_dir``; return the seconds spent now.

    A finished run (``summary.json`` present) is reused, an interrupted one (a checkpoint)
    continues from its newest valid checkpoint, anything else starts afresh. Workflows that
    pretrain several runs (the demo, studies) call this so that starting them again finishes
    what is missing.

    Raises:
        ValueError: the finished run was made with other settings (data, model, views, ssl,
            optim or the seed); choose another output folder or delete that run.
    """
    out = cfg.out_dir
    if (out / SUMMARY_FILE).is_file():
        saved_cfg = load_run_config(out)
        saved, current = run_identity(config_to_dict(saved_cfg)), run_identity(config_to_dict(cfg))
        differ = [k for k in RUN_SECTIONS if saved[k] != current[k]]
        if saved_cfg.run.seed != cfg.run.seed:
            differ.append("run.seed")
        if differ:
            raise ValueError(
                f"{out} holds a finished run with other settings ({', '.join(differ)}); use "
                "another output folder, or delete that run to train it again"
            )
        log.info("reusing the finished run %s", out)
        return 0.0
    start = time.perf_counter()
    resume = has_checkpoint(out)
    run_pretrain(cfg, resume=resume, force=not resume)
    return time.perf_counter() - start
