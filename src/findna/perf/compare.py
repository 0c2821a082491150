"""``findna bench compare``: the side-by-side case set of issue 10, in one process.

Cases (``CompareSizes`` holds the sizes; the defaults are the issue's):

- ``step``: the full pretraining step of a preset (paper: batch 64, 1 kb windows + 10 CLS), as
  ``findna bench model`` times it (views, student fwd+bwd, teacher fwd, clip + AdamW, EMA).
- ``network``: one ``FinDNANetwork`` forward + cross-entropy over every token + backward (the
  fine-tuning cost); no optimiser, like the peer cases.
- ``sweep``: ChordMixer (``max_len = L``, so d and blocks grow with log2 L) against a same-width
  SDPA Transformer (``findna.perf.peers.SDPATransformer``), fwd+bwd at a fixed number of tokens per
  batch.
- ``peers``: DNABERT-2-class and NT-500M-class MLMs at 1 kb (``findna.perf.peers``), fwd+bwd;
  skipped with a note when ``transformers`` is missing.
- ``kernels``: operator / kernel counts of one step per rotation variant (``findna.perf.kernels``).

ChordMixer cases run per *variant*: ``reference`` (slice-copy rotation), ``auto`` (one gather per
block on CUDA; the CPU choice on the CPU), ``gather`` (one gather on every device), ``compile``
(``auto`` + ``ChordMixer.compile_blocks``; the first call's time is reported as ``compile_s``).
Every case is timed with device synchronisation (median of ``repeats`` after ``warmup``); a case
that fails is recorded with its error and the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F

from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork, count_parameters
from findna.perf.device import median_seconds, peak_memory_mib, reset_peak_memory, synchronize
from findna.perf.machine import bench_matmul, peak_gflops
from findna.perf.peers import PEERS, SDPATransformer, build_peer, mlm_batch, transformers_available
from findna.perf.rotation import autocast_for
from findna.perf.step import bench_step, forward_flops, resolve_preset, set_rotation

logger = logging.getLogger(__name__)

CASES = ("step", "network", "sweep", "peers", "kernels")
VARIANTS = ("reference", "auto", "gather", "padded", "compile")
"""``compile`` = ``auto+compile``; any rotation impl may take ``+compile`` (``padded+compile``)."""


def split_variant(variant: str) -> tuple[str, bool]:
    """``"padded+compile"`` -> ``("padded", True)``; ``"compile"`` -> ``("auto", True)``."""
    impl, _, flag = variant.partition("+")
    if impl == "compile":
        return "auto", True
    if impl not in VARIANTS or flag not in ("", "compile"):
        raise ValueError(f"unknown variant {variant!r}: one of {VARIANTS}, optionally +compile")
    return impl, flag == "compile"


@dataclass
class CompareSizes:
    """Sizes of the case set; the defaults are issue 10's (1 kb, batch 64, 65,536-token sweep)."""

    preset: str = "paper"
    batch: int = 64
    sweep_lengths: tuple[int, ...] = (1024, 4096, 16384)
    sweep_tokens: int = 65536
    window: int = 1000
    transformer: tuple[int, int, int, int] = (320, 4, 5, 1280)  # d, layers, heads, ffn
    peer_layers: int | None = None  # None: the full depth
    kernel_batch: int | None = None  # None: ``batch``
    warmup: int = 3
    repeats: int = 10

    @classmethod
    def smoke(cls) -> CompareSizes:
        """Seconds on a CPU: the tiny preset, short sweep, 1-layer peers (tests, dry runs)."""
        return cls("tiny", 2, (64, 128), 256, 100, (32, 1, 2, 64), 1, 1, 1, 1)


@dataclass
class CaseResult:
    """One timed case. ``ms``: median per step; ``us_per_token``: per input token of the batch."""

    group: str
    name: str
    variant: str
    dtype: str
    batch: int
    tokens: int
    ms: float | None = None
    us_per_token: float | None = None
    tflops: float | None = None
    peak_share: float | None = None
    peak_mem_mib: float | None = None
    n_params: int | None = None
    compile_s: float | None = None
    note: str = ""
    error: str | None = None
    extra: dict = field(default_factory=dict)


def _fill(r: CaseResult, seconds: float, flops: float | None, peak: float | None) -> CaseResult:
    r.ms = seconds * 1e3
    r.us_per_token = seconds * 1e6 / (r.batch * r.tokens)
    if flops is not None:
        r.tflops = flops / seconds / 1e12
        r.peak_share = None if peak is None else r.tflops * 1e3 / peak
    return r


def time_train_step(
    r: CaseResult,
    step: Callable[[], object],
    device: torch.device,
    sizes: CompareSizes,
    flops: float | None,
    peak: float | None,
) -> CaseResult:
    """Time ``step`` (its first call separately as ``compile_s`` when compiling), fill ``r``."""
    if r.variant != "-" and split_variant(r.variant)[1]:
        synchronize(device)
        t0 = time.perf_counter()
        step()
        synchronize(device)
        r.compile_s = time.perf_counter() - t0
    reset_peak_memory(device)
    seconds, times = median_seconds(step, device, sizes.repeats, sizes.warmup)
    r.peak_mem_mib = peak_memory_mib(device)
    r.extra["times_ms"] = [round(t * 1e3, 3) for t in times]
    return _fill(r, seconds, flops, peak)


def network_case(
    r: CaseResult,
    cfg: ModelConfig,
    dtype: str,
    device: torch.device,
    sizes: CompareSizes,
    peak: float | None,
) -> CaseResult:
    """FinDNANetwork forward + per-token cross-entropy + backward, in ``r.variant``."""
    r = replace(r, extra={})
    rotation, compile_blocks = split_variant(r.variant)
    net = FinDNANetwork(cfg, rotation=rotation).to(device).train()
    r.n_params = count_parameters(net)
    if compile_blocks and not net.backbone.compile_blocks():
        r.note = "blocks not compilable (dropout or pre-norm): eager"
    x, codes = _one_hot_batch(r.batch, r.tokens, device)

    def step() -> None:
        net.zero_grad(set_to_none=True)
        with autocast_for(dtype, device):
            logits = net(x).logits
        F.cross_entropy(logits.float().flatten(0, 1), codes.flatten()).backward()

    flops = 3 * forward_flops(cfg, r.batch, r.tokens)
    return time_train_step(r, step, device, sizes, flops, peak)


def _one_hot_batch(batch: int, tokens: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    codes = torch.randint(0, 5, (batch, tokens), generator=torch.Generator().manual_seed(0))
    codes = codes.to(device)
    return F.one_hot(codes, 5).float(), codes


def transformer_case(
    r: CaseResult, dtype: str, device: torch.device, sizes: CompareSizes, peak: float | None
) -> CaseResult:
    """The same-width SDPA Transformer, forward + per-token cross-entropy + backward."""
    r = replace(r, extra={})
    d, layers, heads, ffn = sizes.transformer
    net = SDPATransformer(d, layers, heads, ffn).to(device).train()
    r.n_params = count_parameters(net)
    x, codes = _one_hot_batch(r.batch, r.tokens, device)

    def step() -> None:
        net.zero_grad(set_to_none=True)
        with autocast_for(dtype, device):
            logits = net(x)
        F.cross_entropy(logits.float().flatten(0, 1), codes.flatten()).backward()

    flops = 3 * net.forward_flops(r.batch, r.tokens)
    return time_train_step(r, step, device, sizes, flops, peak)


def peer_case(
    spec, dtype: str, device: torch.device, sizes: CompareSizes, peak: float | None
) -> CaseResult:
    tokens = spec.tokens(sizes.window)
    r = CaseResult("peers", spec.name, "-", dtype, sizes.batch, tokens)
    if not transformers_available():
        r.note = "skipped: transformers is not installed (pip install 'findna[bench]')"
        return r
    if sizes.peer_layers is not None:
        spec = replace(spec, layers=sizes.peer_layers)
        r.note = f"{spec.layers} layer(s) only (smoke sizes)"
    model = build_peer(spec, device, max_positions=max(512, tokens + 2))
    r.n_params = count_parameters(model)
    ids, labels = mlm_batch(spec, sizes.batch, tokens, device)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        with autocast_for(dtype, device):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()

    r.extra["attn_implementation"] = str(getattr(model.config, "_attn_implementation", "?"))
    return time_train_step(
        r, step, device, sizes, 3 * spec.forward_flops(sizes.batch, tokens), peak
    )


def step_case(
    variant: str, dtype: str, device: torch.device, sizes: CompareSizes, matmul: list
) -> CaseResult:
    cfg = resolve_preset(sizes.preset)
    rotation, compile_blocks = split_variant(variant)
    s = bench_step(
        cfg,
        sizes.preset,
        dtype,
        sizes.batch,
        sizes.repeats,
        sizes.warmup,
        torch.get_num_threads(),
        matmul,
        rotation_repeats=0,
        device=device,
        rotation=rotation,
        compile_blocks=compile_blocks,
    )
    r = CaseResult("step", f"{sizes.preset} pretraining step", variant, dtype, s.batch, s.tokens)
    r = _fill(r, s.step_s, s.gflop_per_step * 1e9, s.peak_gflops)
    r.n_params, r.peak_mem_mib = s.n_params, s.peak_mem_mib
    if compile_blocks:
        r.compile_s = max(0.0, s.warmup_s - sizes.warmup * s.step_s)
    r.extra = {"phases_ms": {k: round(v * 1e3, 3) for k, v in s.phases.items()}}
    return r


def kernel_counts(variant: str, dtype: str, device: torch.device, sizes: CompareSizes) -> dict:
    """Operator / kernel counts of one pretraining step (after one warm-up step)."""
    from findna.perf.kernels import count_ops
    from findna.perf.step import _timed_step
    from findna.ssl.student_teacher import SelfDistillation

    cfg = resolve_preset(sizes.preset)
    batch = sizes.kernel_batch or sizes.batch
    rotation, compile_blocks = split_variant(variant)
    model = SelfDistillation(cfg.model, cfg.ssl).to(device).train()
    set_rotation(model, rotation)
    if compile_blocks:
        for net in (model.student, model.teacher):
            if net is not None:
                net.backbone.compile_blocks()
    opt = cfg.optim.make_optimizer(model.student_parameters())
    codes = torch.randint(0, 4, (batch, cfg.data.windows.window_length), dtype=torch.uint8)
    codes = codes.to(device)
    _timed_step(model, opt, codes, cfg, 0, dtype)
    counts = count_ops(lambda: _timed_step(model, opt, codes, cfg, 1, dtype), device)
    counts.update(variant=variant, dtype=dtype, batch=batch, preset=sizes.preset)
    return counts


def _guard(label: str, fn: Callable[[], object], fallback: Callable[[str], object]) -> object:
    """``fn()``, or ``fallback(error line)`` when it raises; frees cached CUDA memory after."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - one failing case must not end the run
        logger.exception("case %s failed", label)
        return fallback(f"{type(err).__name__}: {err}".splitlines()[0][:300])
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def run_compare(
    device: torch.device,
    cases: tuple[str, ...] = CASES,
    variants: tuple[str, ...] = ("reference", "auto"),
    dtype: str = "bf16",
    sizes: CompareSizes | None = None,
    sweep_variants: tuple[str, ...] | None = None,
) -> dict:
    """Run the case set; returns ``{"sizes", "dtype", "matmul", "peak_gflops", "cases",
    "kernels"}`` as plain data (``findna.perf.compare_report`` renders it)."""
    sizes = sizes or CompareSizes()
    bad = [c for c in cases if c not in CASES]
    if bad:
        raise ValueError(f"unknown case(s) {bad}: choose from {', '.join(CASES)}")
    sweep_variants = sweep_variants or (("auto",) if "auto" in variants else variants[-1:])
    for v in (*variants, *sweep_variants):
        split_variant(v)
    threads = torch.get_num_threads()
    square = 8192 if device.type == "cuda" else 1024
    matmul = bench_matmul([(square,) * 3], dtype, [threads], device=device)
    peak = peak_gflops(matmul, dtype, threads, device.type)
    pre = resolve_preset(sizes.preset)
    cm, tokens, batch = pre.model, pre.data.windows.window_length + pre.ssl.n_cls, sizes.batch
    plan: list[tuple[CaseResult, Callable[[], CaseResult]]] = []
    if "step" in cases:
        for v in variants:
            stub = CaseResult("step", f"{sizes.preset} pretraining step", v, dtype, batch, tokens)
            plan.append((stub, lambda v=v: step_case(v, dtype, device, sizes, matmul)))
    if "network" in cases:
        name = f"{sizes.preset} network fwd+bwd"
        for v in variants:
            stub = CaseResult("network", name, v, dtype, batch, tokens)
            plan.append((stub, lambda s=stub: network_case(s, cm, dtype, device, sizes, peak)))
    if "peers" in cases:
        for spec in PEERS:
            stub = CaseResult("peers", spec.name, "-", dtype, batch, spec.tokens(sizes.window))
            plan.append((stub, lambda spec=spec: peer_case(spec, dtype, device, sizes, peak)))
    if "sweep" in cases:
        d = sizes.transformer[0]
        for L in sizes.sweep_lengths:
            # d = None: the width tied to L (d and blocks grow with log2 L), not the preset's.
            b, cfg = max(1, sizes.sweep_tokens // L), replace(cm, d_model=None, max_len=L)
            for v in sweep_variants:
                stub = CaseResult("sweep", f"ChordMixer d={cfg.width}", v, dtype, b, L)
                plan.append(
                    (stub, lambda s=stub, c=cfg: network_case(s, c, dtype, device, sizes, peak))
                )
            stub = CaseResult("sweep", f"SDPA Transformer d={d}", "-", dtype, b, L)
            plan.append((stub, lambda s=stub: transformer_case(s, dtype, device, sizes, peak)))
    results = []
    for stub, fn in plan:
        label = f"{stub.group} {stub.name} {stub.variant} L={stub.tokens}"
        logger.info("case %s", label)
        out = _guard(label, fn, lambda e, s=stub: replace(s, error=e))
        logger.info("  -> %s ms", "error" if out.ms is None else f"{out.ms:.2f}")
        results.append(out)
    kernels = []
    if "kernels" in cases:
        kvariants = ["reference"] + [v for v in variants if v not in ("reference", "auto")]
        kvariants += [] if len(kvariants) > 1 else ["gather"]
        for v in kvariants:
            fn = lambda v=v: kernel_counts(v, dtype, device, sizes)  # noqa: E731
            kernels.append(_guard(f"kernels {v}", fn, lambda e, v=v: {"variant": v, "error": e}))
    return {
        "sizes": asdict(sizes),
        "dtype": dtype,
        "matmul": [asdict(m) for m in matmul],
        "peak_gflops": peak,
        "cases": [asdict(r) for r in results],
        "kernels": kernels,
    }
