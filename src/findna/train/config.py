"""``PretrainConfig``: everything a ``findna pretrain`` run needs, as one validated dataclass.

Sections: ``data`` (genome and windows), ``model`` (one network), ``views`` (augmentations),
``ssl`` (objective), ``optim`` and ``run`` (devices, precision, checkpoints, logging). The
defaults are the paper's settings (docs/method.md §2.8 with the decisions of docs/method.md §7); the
YAML presets in ``configs/pretrain/`` change only what differs (``tiny``, ``small``, ``paper``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from findna.data.window_config import WindowConfig
from findna.model.config import ModelConfig
from findna.ssl.config import SSLConfig
from findna.ssl.view_config import ViewConfig

if TYPE_CHECKING:
    import torch


@dataclass
class DataConfig:
    """Pretraining data.

    Attributes:
        genome: FASTA file(s) (comma-separated) or a directory made by ``findna prepare genome``.
            Relative paths are looked up in the data root (``$FINDNA_DATA``) when they do not
            exist relative to the working directory.
        prepared_dir: where a FASTA is prepared (encoded once) before training; default
            ``<run.out_dir>/genome``. Reused when it already holds the same inputs.
        windows: the training windows (length, count, seed, N threshold, held-out part).
        val_windows: held-out windows for validation (MNM accuracy); 0 disables validation.
            They come only from ``windows.holdout_records`` / ``windows.holdout_region``.
        view_chunk: views are drawn per chunk of this many windows of the global batch with a
            seed of (seed, step, chunk); 0 means the per-rank batch size. Keep it equal across
            runs that must see identical views (e.g. 1 process with batch 2b and 2 with b).
        static_views: draw each window's views once, from a generator seeded by (seed, window
            index), so every epoch sees the same views: the reference code's offline
            augmentation (docs/method.md §7 row 3). Default False: fresh views at every step
            (findna's choice; the paper does not say).
            Slower (views are built window by window).
        num_workers: DataLoader worker processes (windows are a cheap memory-mapped gather).
        on_invalid: characters other than ACGTN/IUPAC/U in a FASTA genome: ``error`` stops with
            the record and position, ``n`` reads them as N (as ``findna prepare --on-invalid n``).
    """

    genome: str = "genomes/hg19_chrX_1-70Mb.fa.gz"
    prepared_dir: str | None = None
    windows: WindowConfig = field(
        default_factory=lambda: WindowConfig(holdout_region="X:60000001-69999930")
    )
    val_windows: int = 1000
    view_chunk: int = 0
    static_views: bool = False
    num_workers: int = 0
    on_invalid: Literal["error", "n"] = "error"

    def __post_init__(self) -> None:
        if self.windows.split != "train":
            raise ValueError(
                "data.windows.split must be 'train' (validation uses the held-out part)"
            )
        if self.val_windows < 0 or self.num_workers < 0 or self.view_chunk < 0:
            raise ValueError("data.val_windows, data.view_chunk and data.num_workers must be >= 0")
        held_out = self.windows.holdout_records or self.windows.holdout_region
        if self.val_windows and not held_out:
            raise ValueError(
                "data.val_windows > 0 needs a held-out part: set data.windows.holdout_region "
                "(e.g. X:60000001-69999930) or data.windows.holdout_records, or val_windows=0"
            )


@dataclass
class OptimConfig:
    """AdamW with a cosine schedule and linear warm-up (docs/method.md §2.7 and §7 row 16).

    The cosine schedule, 30% warm-up and 50 epochs are the paper's; the paper gives no learning
    rate, weight decay, batch size or clipping, so those are the reference code's.

    Attributes:
        batch_size: windows per device per step (the global batch is this x devices x nodes).
        epochs: passes over ``data.windows.num_windows`` (paper 50; reference code 30).
        max_steps: if set, stop after this many optimizer steps instead (schedules use it).
        lr: peak learning rate. weight_decay: AdamW decoupled weight decay.
        betas, eps: AdamW constants (PyTorch defaults).
        warmup_frac: share of the steps spent in linear warm-up (0.3).
        num_cycles: cosine cycles after warm-up (0.5 = decay to 0 once).
        grad_clip: gradient-norm clipping (0.5); 0 disables it.
    """

    batch_size: int = 64
    epochs: int = 50
    max_steps: int | None = None
    lr: float = 3e-4
    weight_decay: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_frac: float = 0.3
    num_cycles: float = 0.5
    grad_clip: float = 0.5

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError("optim.batch_size and optim.epochs must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"optim.max_steps must be >= 1 or null, got {self.max_steps}")
        if self.lr <= 0:
            raise ValueError(f"optim.lr must be positive (paper: 3e-4), got {self.lr}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("optim.weight_decay and optim.grad_clip must be >= 0")
        if not 0.0 <= self.warmup_frac < 1.0:
            raise ValueError(f"optim.warmup_frac must be in [0, 1), got {self.warmup_frac}")

    def make_optimizer(self, params: Iterable[torch.nn.Parameter]) -> torch.optim.AdamW:
        """AdamW with these settings (torch's default implementation: ``foreach`` on CUDA).

        Not the fused kernel: Lightning refuses gradient clipping with a fused optimizer under
        mixed precision (measured on an H100, docs/performance.md), and pretraining clips.
        """
        import torch  # torch only where it is used: reading settings imports none

        return torch.optim.AdamW(
            params,
            lr=self.lr,
            betas=self.betas,
            eps=self.eps,
            weight_decay=self.weight_decay,
        )


@dataclass
class RunConfig:
    """Where and how the run executes.

    Attributes:
        out_dir: run directory (config.yaml, checkpoints/, logs/, the exported model/).
        seed: seeds the initial weights; data and views have their own seeds.
        accelerator: ``auto``, ``cpu``, ``gpu`` (Lightning names).
        devices: devices per node (an int, or ``auto``).
        num_nodes: machines (launched by torchrun, SLURM or Lightning's ``NODE_RANK``
            variables); they must share the file system of ``out_dir`` and the prepared genome.
        strategy: ``auto``, ``ddp``, ``fsdp``... (Lightning names).
        precision: ``auto`` (bf16 autocast on GPUs and on CPUs with AMX or where bf16
            measured faster, else float32: ``findna.precision``), ``32-true``, ``bf16-mixed``
            (autocast), ``16-mixed``.
        ckpt_every_n_steps: periodic checkpoint interval (the last one is kept as last.ckpt).
        val_every_n_steps: validation interval (also run at the end).
        log_every_n_steps: metric logging interval.
        progress_bar: show the progress bar (windows per second included).
        export_student: also export the student next to the teacher at the end.
        diagnostics_every: on the last step of every this many the conflict diagnostics of
            issue 21 are logged (``findna.ssl.diagnostics``: MNM and CL gradient norms and
            cosine, the teacher's spread and offset, the teacher's initial-weight share), at
            the cost of one extra backward per loss on that step (2 in 100 steps: about 1.3%
            of the run); 0 = off. Keep it a multiple of ``log_every_n_steps`` so that each
            reaches ``metrics.csv``.
    """

    out_dir: str = "runs/pretrain"
    seed: int = 42
    accelerator: str = "auto"
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    # No "bf16-true": bf16 weights would stall the EMA teacher (0.004 * delta is below bf16's
    # resolution at momentum >= 0.996).
    precision: Literal["auto", "32-true", "bf16-mixed", "16-mixed"] = "auto"
    ckpt_every_n_steps: int = 500
    val_every_n_steps: int = 500
    log_every_n_steps: int = 10
    progress_bar: bool = True
    export_student: bool = False
    diagnostics_every: int = 100

    def __post_init__(self) -> None:
        if self.diagnostics_every < 0:
            raise ValueError(
                f"run.diagnostics_every must be >= 0 (0 = off), got {self.diagnostics_every}"
            )
        for name in ("num_nodes", "ckpt_every_n_steps", "val_every_n_steps", "log_every_n_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"run.{name} must be >= 1, got {getattr(self, name)}")
        if isinstance(self.devices, str) and self.devices != "auto":
            raise ValueError(f"run.devices must be an integer or 'auto', got {self.devices!r}")


RUN_SECTIONS = ("data", "model", "views", "ssl", "optim")
"""The sections that make two runs the same run (resume and reuse refuse any difference in them;
``run`` only says where and how it executes)."""

_HOW_NOT_WHAT = {"data": ("prepared_dir", "num_workers")}
"""Keys inside RUN_SECTIONS that say where or how, not what: the prepared genome is the same
encoding wherever it is cached, and the windows are the same for any number of loader workers."""


def run_identity(config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a resolved config (``config_to_dict``) that make two runs the same run."""
    identity = {
        k: dict(config[k]) if isinstance(config.get(k), dict) else config.get(k)
        for k in RUN_SECTIONS
    }
    for section, keys in _HOW_NOT_WHAT.items():
        if isinstance(identity[section], dict):
            for key in keys:
                identity[section].pop(key, None)
    return identity


@dataclass
class PretrainConfig:
    """A whole pretraining run; cross-section checks happen here."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    views: ViewConfig = field(default_factory=ViewConfig)
    ssl: SSLConfig = field(default_factory=SSLConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        window = self.data.windows.window_length
        if self.views.n_cls != self.ssl.n_cls:
            raise ValueError(
                f"views.n_cls={self.views.n_cls} differs from ssl.n_cls={self.ssl.n_cls}; "
                "set both to the same K"
            )
        if self.model.max_len < window + self.ssl.n_cls:
            raise ValueError(
                f"model.max_len={self.model.max_len} is smaller than the input length "
                f"window + K = {window} + {self.ssl.n_cls}; raise model.max_len to at least "
                f"{window + self.ssl.n_cls}"
            )
        self._check_levers()
        chunk = self.data.view_chunk or self.optim.batch_size
        if self.optim.batch_size % chunk:
            raise ValueError(
                f"optim.batch_size={self.optim.batch_size} is not a multiple of "
                f"data.view_chunk={self.data.view_chunk}"
            )

    def _check_levers(self) -> None:
        """Cross-section checks of the levers of issue 21."""
        m = self.model
        if m.special_inputs == "distinct" and m.cls_rows != self.ssl.n_cls:
            raise ValueError(
                f"model.special_inputs=distinct marks the last model.cls_rows={m.cls_rows} zero "
                f"rows as CLS, but the views carry ssl.n_cls={self.ssl.n_cls}; set "
                f"model.cls_rows={self.ssl.n_cls}"
            )
        if self.ssl.cl_grad_ratio > 0 and self.run.diagnostics_every == 0:
            raise ValueError(
                f"ssl.cl_grad_ratio={self.ssl.cl_grad_ratio} rescales the CL term from the "
                "gradient norms of the diagnostic steps, but run.diagnostics_every=0 turns them "
                "off; set run.diagnostics_every (e.g. 100)"
            )

    @property
    def out_dir(self) -> Path:
        """The run directory."""
        return Path(self.run.out_dir)

    def steps_per_epoch(self, world_size: int) -> int:
        """Full global batches in one pass over ``data.windows.num_windows``."""
        from findna.train.sampling import steps_per_epoch

        return steps_per_epoch(self.data.windows.num_windows, self.optim.batch_size, world_size)

    def total_steps(self, world_size: int) -> int:
        """Optimizer steps of the run: ``optim.max_steps``, or epochs x full global batches."""
        if self.optim.max_steps is not None:
            return self.optim.max_steps
        return self.optim.epochs * self.steps_per_epoch(world_size)
