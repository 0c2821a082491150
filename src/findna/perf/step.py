"""``findna bench model``: speed of one full FinDNA pretraining step, phase by phase.

One step is what ``findna pretrain`` does per batch, without the data loader: build both views
from (B, L) codes with a seeded generator (``build_views``), student forward + teacher forward
(``SelfDistillation``), backward, gradient clipping + AdamW step, EMA teacher update. Mixed
precision is ``torch.autocast(device, dtype)`` around views + forward, as Lightning's
``bf16-mixed`` does; ``fp32`` runs without autocast. On CUDA (``device="cuda"``) every phase
boundary synchronises the device, and the result records the peak of
``torch.cuda.max_memory_allocated`` over the timed steps.

FLOPs are counted analytically (docs/method.md §9; 2 FLOPs per multiply-add, biases, GELU,
losses and the optimiser ignored). For T = L + K tokens per sequence::

    F_fwd  = B * T * (2*5*d + n_blocks * 4*d*h + 2*d*5)          ChordMixer network
    F_step = 3 * F_fwd (student forward + backward) + F_fwd (teacher forward) = 4 * F_fwd

(transformer backbone: n_layers * (8*T*d^2 + 4*T^2*d + 4*T*d*h) per sequence instead of the
blocks term). The achieved rate ``F_step / step time`` is compared with the best matmul rate of
the same dtype and thread count (``findna.perf.machine``).

Rotation share: the student backbone's forward + backward is timed with its real rotation and
with the rotation replaced by the identity (interleaved, median of ``repeats`` pairs); the share
is ``1 - t_identity / t_rotation``. ``rotation_direct_share`` times the rotation op alone (forward
and backward on a (B, T, d) tensor, times the number of blocks) as a cross-check.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from findna.config import load_config
from findna.devices import resolve_device
from findna.model.config import ModelConfig
from findna.model.network import count_parameters
from findna.model.rotation import check_rotation
from findna.perf.device import peak_memory_mib, reset_peak_memory, synchronize
from findna.perf.machine import (
    DTYPES,
    MatmulResult,
    bench_matmul,
    num_threads,
    parse_dtypes,
    parse_threads,
    peak_gflops,
    wait_for_quiet,
    watch_load,
)
from findna.perf.rotation import autocast_for as _autocast
from findna.perf.rotation import rotation_shares
from findna.ssl.student_teacher import SelfDistillation
from findna.ssl.views import build_views
from findna.train.config import PretrainConfig

logger = logging.getLogger(__name__)

PHASES = ("views", "forward", "backward", "optimizer", "ema")
STEP_FLOP_BUDGET = 250e9
"""Default batch: the config's, capped so that one step is at most this many FLOPs (paper: 2)."""


def resolve_preset(name: str) -> PretrainConfig:
    """A pretraining config from a YAML path or a preset name.

    ``name`` may be a YAML file, or a bare name looked up as ``configs/pretrain/<name>.yaml`` in
    the working directory and then in the findna checkout; ``paper`` falls back to the
    ``PretrainConfig`` defaults (which are the paper).
    """
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return load_config(PretrainConfig, path)
    repo = Path(__file__).resolve().parents[3]  # src/findna/perf/step.py -> the checkout
    for root in (Path.cwd(), repo):
        candidate = root / "configs" / "pretrain" / f"{name}.yaml"
        if candidate.is_file():
            return load_config(PretrainConfig, candidate)
    if name == "paper":
        return PretrainConfig()
    raise FileNotFoundError(
        f"no pretraining preset {name!r}: expected configs/pretrain/{name}.yaml (in the working "
        "directory or the findna checkout) or a YAML path"
    )


def forward_flops(model: ModelConfig, batch: int, tokens: int) -> float:
    """Analytic forward FLOPs of one ``FinDNANetwork`` on a (batch, tokens) input."""
    d, h = model.width, model.hidden
    io = 2 * model.in_channels * d + 2 * d * model.out_channels
    if model.backbone == "chordmixer":
        mix = model.n_layers * model.n_blocks_per_layer * 4 * d * h
    else:
        mix = model.n_layers * (8 * d * d + 4 * tokens * d + 4 * d * h)
    return float(batch) * tokens * (io + mix)


def step_flops(model: ModelConfig, batch: int, tokens: int, teacher: bool = True) -> float:
    """``3 * F_fwd`` (student forward + backward) ``+ F_fwd`` (teacher forward, if any)."""
    return (4.0 if teacher else 3.0) * forward_flops(model, batch, tokens)


def default_batch(cfg: PretrainConfig) -> int:
    """The config's batch size, capped at :data:`STEP_FLOP_BUDGET` FLOPs per step."""
    tokens = cfg.data.windows.window_length + cfg.ssl.n_cls
    per_sequence = step_flops(cfg.model, 1, tokens, cfg.ssl.uses_teacher)
    return max(1, min(cfg.optim.batch_size, int(STEP_FLOP_BUDGET // per_sequence)))


@dataclass
class StepResult:
    """Speed of one (config, dtype, threads) case; times in seconds (median over steps).

    Attributes:
        phases: seconds per step of each of :data:`PHASES`.
        step_s: their sum. tokens_per_s: ``batch * tokens / step_s`` (student tokens; the
            teacher processes as many again).
        gflop_per_step, gflops: analytic FLOPs and the achieved rate.
        peak_gflops: best measured matmul rate of the same dtype and threads; peak_share the ratio.
        views_share: ``phases["views"] / step_s``.
        rotation_share: share of the student backbone's forward + backward spent in rotation
            (identity-swap method); rotation_direct_share: the same from timing the op alone.
        load_1min, other_cpu: machine load (see ``findna.perf.machine.LoadSample``).
    """

    config: str
    dtype: str
    threads: int
    batch: int
    window: int
    tokens: int
    n_params: int
    phases: dict[str, float]
    step_s: float
    tokens_per_s: float
    gflop_per_step: float
    gflops: float
    peak_gflops: float | None
    peak_share: float | None
    views_share: float
    rotation_share: float | None
    rotation_direct_share: float | None
    load_1min: float
    other_cpu: float | None
    steps: int = 0
    step_times: list[float] = field(default_factory=list)
    device: str = "cpu"
    peak_mem_mib: float | None = None
    rotation: str = "auto"
    compiled: bool = False
    warmup_s: float = 0.0


def set_rotation(model: SelfDistillation, rotation: str) -> None:
    """Rotate with ``rotation`` in the student and the teacher (if any) of ``model``."""
    for net in (model.student, model.teacher):
        if net is not None:
            net.set_rotation(rotation)


def _timed_step(
    model: SelfDistillation,
    optimizer: torch.optim.Optimizer,
    codes: torch.Tensor,
    cfg: PretrainConfig,
    seed: int,
    dtype: str,
) -> dict[str, float]:
    """One full pretraining step; returns the seconds of each phase (device synchronised)."""
    device = codes.device

    def now() -> float:
        synchronize(device)
        return time.perf_counter()

    marks = [now()]
    gen = torch.Generator(device=codes.device).manual_seed(seed)
    with _autocast(dtype, codes.device):
        views = build_views(codes, cfg.views, generator=gen)
        marks.append(now())
        out = model(views)
        marks.append(now())
    out.loss.backward()
    marks.append(now())
    if cfg.optim.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(list(model.student_parameters()), cfg.optim.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    marks.append(now())
    model.update_teacher(cfg.ssl.ema_start)
    marks.append(now())
    return {p: b - a for p, a, b in zip(PHASES, marks[:-1], marks[1:], strict=True)}


def bench_step(
    cfg: PretrainConfig,
    name: str,
    dtype: str = "fp32",
    batch: int | None = None,
    steps: int = 3,
    warmup: int = 1,
    threads: int = 2,
    matmul: Sequence[MatmulResult] = (),
    rotation_repeats: int = 3,
    seed: int = 0,
    max_other_cpu: float | None = None,
    device: str | torch.device = "cpu",
    rotation: str = "auto",
    compile_blocks: bool = False,
) -> StepResult:
    """Time ``steps`` full pretraining steps (after ``warmup``) of ``cfg`` on ``device``.

    Args:
        cfg: the pretraining config (model, views, ssl, optim are used).
        name: label of the config in the results.
        dtype: ``fp32`` (no autocast), ``bf16`` or ``fp16`` (autocast).
        batch: windows per step; None means :func:`default_batch`.
        steps, warmup: timed and untimed steps.
        threads: ``torch.set_num_threads`` during the measurement.
        matmul: matmul results to take the same-dtype peak from (may be empty).
        rotation_repeats: interleaved pairs for the rotation share (0 skips it).
        seed: seeds weights, codes and views.
        max_other_cpu: if set, first wait (up to 3 min) until other processes use fewer
            cores than this (``findna.perf.machine.wait_for_quiet``).
        device: ``cpu``, ``cuda`` or ``auto``; CUDA timings synchronise the device and the
            result records ``torch.cuda.max_memory_allocated`` over the timed steps.
        rotation: the rotation implementation of student and teacher
            (``findna.model.rotation.ROTATION_IMPLS``).
        compile_blocks: ``ChordMixer.compile_blocks()`` on student and teacher; the warm-up
            steps (``warmup_s``) then include the compile time.

    Returns:
        A :class:`StepResult`.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps must be >= 1 and warmup >= 0, got {steps} and {warmup}")
    batch = default_batch(cfg) if batch is None else batch
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    window = cfg.data.windows.window_length
    tokens = window + cfg.ssl.n_cls
    dev = resolve_device(device)
    check_rotation(rotation)
    wait_for_quiet(max_other_cpu)
    with num_threads(threads), watch_load() as load:
        with torch.random.fork_rng(devices=[]):  # weight init draws from the global RNG
            torch.manual_seed(seed)
            model = SelfDistillation(cfg.model, cfg.ssl).to(dev).train()
        set_rotation(model, rotation)
        compiled = compile_blocks and all(
            net.backbone.compile_blocks()
            for net in (model.student, model.teacher)
            if net is not None and hasattr(net.backbone, "compile_blocks")
        )
        optimizer = cfg.optim.make_optimizer(model.student_parameters())
        gen = torch.Generator().manual_seed(seed)
        codes = torch.randint(0, 4, (batch, window), generator=gen, dtype=torch.uint8).to(dev)
        times = [_timed_step(model, optimizer, codes, cfg, seed + i, dtype) for i in range(warmup)]
        warmup_s = sum(sum(t.values()) for t in times)
        reset_peak_memory(dev)
        times = [
            _timed_step(model, optimizer, codes, cfg, seed + warmup + i, dtype)
            for i in range(steps)
        ]
        peak_mem = peak_memory_mib(dev)
        rot = (None, None)
        if rotation_repeats > 0:
            rot = rotation_shares(model, batch, tokens, dtype, rotation_repeats, seed)
    phases = {p: statistics.median(t[p] for t in times) for p in PHASES}
    step_s = sum(phases.values())
    flops = step_flops(cfg.model, batch, tokens, model.teacher is not None)
    peak = peak_gflops(matmul, dtype, threads, dev.type)
    gflops = flops / step_s / 1e9
    n_params = count_parameters(model.student)
    logger.info("%s %s %d thread(s): %.3f s/step", name, dtype, threads, step_s)
    return StepResult(
        config=name,
        dtype=dtype,
        threads=threads,
        batch=batch,
        window=window,
        tokens=tokens,
        n_params=n_params,
        phases=phases,
        step_s=step_s,
        tokens_per_s=batch * tokens / step_s,
        gflop_per_step=flops / 1e9,
        gflops=gflops,
        peak_gflops=peak,
        peak_share=None if peak is None else gflops / peak,
        views_share=phases["views"] / step_s,
        rotation_share=rot[0],
        rotation_direct_share=rot[1],
        load_1min=load.load_1min,
        other_cpu=load.other_cpu,
        steps=steps,
        step_times=[sum(t.values()) for t in times],
        device=dev.type,
        peak_mem_mib=peak_mem,
        rotation=rotation,
        compiled=compiled,
        warmup_s=warmup_s,
    )


def bench_model(
    configs: Sequence[str] = ("tiny", "paper"),
    dtypes: str | Sequence[str] = ("fp32", "bf16"),
    threads: str | int | Sequence[int] = "all",
    batch: int | None = None,
    steps: int = 3,
    warmup: int = 1,
    rotation_repeats: int = 3,
    max_other_cpu: float | None = None,
    device: str | torch.device = "cpu",
    rotation: str = "auto",
    compile_blocks: bool = False,
) -> tuple[list[StepResult], list[MatmulResult]]:
    """Every (threads, config, dtype) case, with the matmul peaks measured first.

    The peaks come from a 2048^3 matmul (8192^3 on CUDA) and the config's own block GEMMs at
    B*T tokens, on the same device.
    ``dtypes`` and ``threads`` may be comma-separated strings (``"fp32,bf16"``, ``"2,1"``).
    """
    dtypes, threads = parse_dtypes(dtypes), parse_threads(threads)
    cfgs = {name: resolve_preset(name) for name in configs}
    dev = resolve_device(device)
    square = 8192 if dev.type == "cuda" else 2048
    shapes: list[tuple[int, int, int]] = [(square, square, square)]
    for cfg in cfgs.values():
        m = (batch or default_batch(cfg)) * (cfg.data.windows.window_length + cfg.ssl.n_cls)
        d, h = cfg.model.width, cfg.model.hidden
        shapes += [s for s in ((m, d, h), (m, h, d)) if s not in shapes]
    wait_for_quiet(max_other_cpu)
    matmul = bench_matmul(shapes, dtypes, threads, device=dev)
    results = [
        bench_step(
            cfg,
            name,
            dtype,
            batch,
            steps,
            warmup,
            n,
            matmul,
            rotation_repeats,
            max_other_cpu=max_other_cpu,
            device=dev,
            rotation=rotation,
            compile_blocks=compile_blocks,
        )
        for n in threads
        for name, cfg in cfgs.items()
        for dtype in dtypes
    ]
    return results, matmul
