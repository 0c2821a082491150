"""``findna bench embed``: sequences per second of the embedding forward, findna's networks and
the peer-class encoders side by side in one process, at equal bases.

findna: ``findna.eval.features.extract_features`` (what ``findna embed`` runs: one-hot codes,
the network's forward, masked-mean pooling) on random 1 kb sequences, with a network of each
preset's architecture built for the length (``max_len = length``: the blocks per layer follow
the length, the widths stay the preset's). Peers: the encoder (no MLM head) of the
DNABERT-2-class BERT and NT-500M-class ESM (``findna.perf.peers``, random weights) on as many
sequences of the same length, tokenised at their bp per token. ``bf16`` is autocast over float32
weights, as ``--precision bf16-mixed`` runs it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from findna.devices import resolve_device
from findna.eval.feature_config import FeatureConfig
from findna.eval.features import extract_features
from findna.model.network import FinDNANetwork
from findna.perf.device import synchronize
from findna.perf.machine import parse_dtypes, watch_load
from findna.perf.peers import PEERS, PeerSpec, build_peer, transformers_available
from findna.perf.rotation import autocast_for
from findna.perf.step import resolve_preset

PRECISION_OF = {"fp32": "32-true", "bf16": "bf16-mixed", "fp16": "16-mixed"}


@dataclass
class EmbedResult:
    """One model's embedding throughput at one dtype.

    Attributes:
        model: ``findna <preset>`` or the peer's name.
        dtype: ``fp32``, ``bf16`` or ``fp16`` (autocast).
        batch: sequences per call; ``length``: bp per sequence; ``tokens``: tokens per sequence.
        n_params: parameters of the network (encoder only for the peers).
        seconds: median seconds of one call (``batch`` sequences).
        seqs_per_s: ``batch / seconds``.
        load_1min, other_cpu: machine load around the timed calls (``findna.perf.machine``).
        note: why a row was skipped, or what was reduced.
    """

    model: str
    dtype: str
    batch: int
    length: int
    tokens: int
    n_params: int = 0
    seconds: float | None = None
    seqs_per_s: float | None = None
    load_1min: float | None = None
    other_cpu: float | None = None
    note: str = ""


def _time(fn, device: torch.device, repeats: int, warmup: int) -> tuple[float, float, float | None]:
    """(median seconds, load, other CPU) of ``repeats`` calls of ``fn`` after ``warmup``."""
    for _ in range(warmup):
        fn()
    times = []
    with watch_load() as load:
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times), load.load_1min, load.other_cpu


def random_sequences(n: int, length: int, seed: int = 0) -> list[str]:
    """``n`` random ACGT strings of ``length`` bp from a seeded generator."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("ACGT"))
    return ["".join(letters[rng.integers(0, 4, length)]) for _ in range(n)]


def findna_case(
    name: str, dtype: str, device: torch.device, batch: int, length: int, repeats: int, warmup: int
) -> EmbedResult:
    """``extract_features`` of ``batch`` random sequences with preset ``name``'s architecture."""
    model_cfg = replace(resolve_preset(name).model, max_len=length)
    torch.manual_seed(0)
    net = FinDNANetwork(model_cfg).to(device).eval()
    seqs = random_sequences(batch, length)
    cfg = FeatureConfig(precision=PRECISION_OF[dtype], device=str(device), batch_size=batch)
    r = EmbedResult(f"findna {name}", dtype, batch, length, length)
    r.n_params = sum(p.numel() for p in net.parameters())
    r.seconds, r.load_1min, r.other_cpu = _time(
        lambda: extract_features(net, seqs, cfg), device, repeats, warmup
    )
    r.seqs_per_s = batch / r.seconds
    return r


def peer_embed_case(
    spec: PeerSpec,
    dtype: str,
    device: torch.device,
    batch: int,
    length: int,
    repeats: int,
    warmup: int,
    layers: int | None = None,
) -> EmbedResult:
    """The peer's encoder forward over ``batch`` sequences of ``length`` bp (``layers``: fewer
    layers, for smoke tests)."""
    tokens = spec.tokens(length)
    r = EmbedResult(spec.name, dtype, batch, length, tokens)
    if not transformers_available():
        r.note = "skipped: transformers is not installed (pip install 'findna[bench]')"
        return r
    if layers is not None:
        spec = replace(spec, layers=layers)
        r.note = f"{layers} layer(s) only"
    encoder = build_peer(spec, device, max_positions=max(512, tokens + 2)).base_model.eval()
    r.n_params = sum(p.numel() for p in encoder.parameters())
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, spec.vocab, (batch, tokens), generator=gen).to(device)

    @torch.inference_mode()
    def forward() -> None:
        with autocast_for(dtype, device):
            encoder(input_ids=ids)

    r.seconds, r.load_1min, r.other_cpu = _time(forward, device, repeats, warmup)
    r.seqs_per_s = batch / r.seconds
    return r


def bench_embed(
    configs: Sequence[str] = ("tiny", "small", "paper"),
    dtypes: str | Sequence[str] = ("fp32", "bf16"),
    *,
    length: int = 1000,
    batch: int = 8,
    repeats: int = 3,
    warmup: int = 1,
    peers: bool = True,
    peer_layers: int | None = None,
    device: str | torch.device = "auto",
) -> list[EmbedResult]:
    """Every (model, dtype) row: the presets ``configs`` first, then the peers (when ``peers``).

    Raises:
        ValueError: an unknown dtype, or ``length``, ``batch`` or ``repeats`` below 1.
    """
    dtypes = parse_dtypes(dtypes)
    for label, value in (("length", length), ("batch", batch), ("repeats", repeats)):
        if value < 1:
            raise ValueError(f"bench embed: --{label} must be >= 1, got {value}")
    dev = resolve_device(device)
    out = []
    for dtype in dtypes:
        out += [findna_case(c, dtype, dev, batch, length, repeats, warmup) for c in configs]
        if peers:
            out += [
                peer_embed_case(s, dtype, dev, batch, length, repeats, warmup, peer_layers)
                for s in PEERS
            ]
    return out


def embed_ratios(results: Sequence[EmbedResult]) -> list[dict]:
    """findna's sequences/s over each peer's, per dtype (equal bases: same sequences, same
    length)."""
    rows = []
    for r in results:
        if not r.model.startswith("findna") or not r.seqs_per_s:
            continue
        for p in results:
            if p.model.startswith("findna") or p.dtype != r.dtype or not p.seqs_per_s:
                continue
            rows.append(
                {
                    "findna": r.model,
                    "peer": p.model,
                    "dtype": r.dtype,
                    "x": r.seqs_per_s / p.seqs_per_s,
                }
            )
    return rows


def embed_markdown(results: Sequence[EmbedResult]) -> str:
    """The rows and the ratios as Markdown tables."""
    lines = [
        "| model | dtype | params | bp | tokens/seq | batch | s/call | seqs/s | load 1 min | "
        "other CPU | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        sec = f"{r.seconds:.3f}" if r.seconds else "-"
        rate = f"{r.seqs_per_s:,.1f}" if r.seqs_per_s else "-"
        load = f"{r.load_1min:.2f}" if r.load_1min is not None else "-"
        other = f"{r.other_cpu:.2f}" if r.other_cpu is not None else "n/a"
        lines.append(
            f"| {r.model} | {r.dtype} | {r.n_params / 1e6:.2f}M | {r.length} | {r.tokens} | "
            f"{r.batch} | {sec} | {rate} | {load} | {other} | {r.note} |"
        )
    ratios = embed_ratios(results)
    if ratios:
        lines += [
            "",
            "| findna | peer | dtype | findna seqs/s / peer seqs/s |",
            "|---|---|---|---|",
        ]
        lines += [f"| {q['findna']} | {q['peer']} | {q['dtype']} | {q['x']:.2f}x |" for q in ratios]
    return "\n".join(lines)


def embed_json(results: Sequence[EmbedResult]) -> dict:
    """Every row and ratio, for ``--json``."""
    return {"results": [asdict(r) for r in results], "ratios": embed_ratios(results)}


__all__ = [
    "EmbedResult",
    "bench_embed",
    "embed_json",
    "embed_markdown",
    "embed_ratios",
    "random_sequences",
]
