"""``findna bench``: speed benchmarks of the pretraining step and of matrix products.

Each ``add_*`` function registers one subcommand; handlers import lazily and hold no logic.
"""

from __future__ import annotations

import argparse

from findna.cli import args as shared


def add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="speed of a pretraining step (model), matmuls (matmul), side by side (compare), "
        "embedding throughput (embed)",
        description="CPU and CUDA speed benchmarks; see docs/performance.md for measured figures.",
    )
    bsub = p.add_subparsers(
        dest="bench_command", required=True, metavar="{model,matmul,compare,embed}"
    )
    m = bsub.add_parser(
        "model",
        help="tokens/s, GFLOP/s vs the matmul peak, rotation and view shares of one step",
    )
    m.add_argument("--configs", default="tiny,paper", help="preset names or YAML paths")
    m.add_argument("--dtypes", default="fp32,bf16", help="fp32 (no autocast), bf16, fp16")
    m.add_argument(
        "--batch", type=int, help="windows per step (default: the config's, at most 250 GFLOP)"
    )
    m.add_argument("--steps", type=int, default=3, help="timed steps after --warmup (median)")
    m.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    m.add_argument("--threads", default="all", help="torch threads, e.g. 2 or 2,1 ('all')")
    m.add_argument("--rotation-repeats", type=int, default=3, help="0 skips the rotation share")
    m.add_argument(
        "--max-other-cpu",
        type=float,
        help="before each case wait (<= 3 min) until other processes use fewer cores than this",
    )
    m.add_argument("--json", help="also write every figure and the machine to this JSON file")
    shared.add_device(m)
    m.add_argument(
        "--rotation",
        default="auto",
        help="rotation impl: auto, reference, gather or padded (findna.model.rotation)",
    )
    m.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the blocks (ChordMixer.compile_blocks)",
    )
    m.set_defaults(handler=_bench_model)
    mm = bsub.add_parser("matmul", help="best-of-N GFLOP/s of large matmuls per dtype")
    mm.add_argument("--dtypes", default="fp32,bf16,fp16")
    mm.add_argument(
        "--shapes",
        default="2048x2048x2048,8080x308x512,8080x512x308,512x8080x308",
        help="MxKxN,... (default: a square GEMM and the paper block's GEMMs at 8x1010 tokens)",
    )
    mm.add_argument("--threads", default="all,1", help="torch threads, e.g. 2,1")
    mm.add_argument(
        "--layouts",
        default="nn",
        help="operand layouts, e.g. nn,nt,tn: t = a transposed view (nt = F.linear's x @ W.T, "
        "nn its input gradient, tn its weight gradient)",
    )
    mm.add_argument("--repeats", type=int, default=5, help="timed calls per case (best counts)")
    mm.add_argument("--min-time", type=float, default=0.5, help="more calls up to these seconds")
    mm.add_argument("--json", help="also write the figures and the machine to this JSON file")
    shared.add_device(mm)
    mm.set_defaults(handler=_bench_matmul)
    c = bsub.add_parser(
        "compare",
        help="side by side: pretraining step, network fwd+bwd, length sweep vs an SDPA "
        "Transformer, peer-class MLMs, kernels per step (issue 10)",
    )
    shared.add_device(c)
    c.add_argument("--cases", default="step,network,peers,sweep,kernels", help="which cases")
    c.add_argument(
        "--variants",
        default="reference,auto",
        help="ChordMixer variants, comma-separated: reference, auto, gather, padded, each "
        "optionally +compile (compile = auto+compile)",
    )
    c.add_argument("--sweep-variants", help="variants of the length sweep (default: auto)")
    c.add_argument("--compile", action="store_true", help="add the 'compile' variant")
    c.add_argument("--dtype", default="bf16", help="fp32 (no autocast), bf16 or fp16 autocast")
    c.add_argument("--batch", type=int, help="windows per step (default 64)")
    c.add_argument("--sweep-lengths", help="e.g. 1024,4096,16384 (the default)")
    c.add_argument("--sweep-tokens", type=int, help="tokens per batch in the sweep (65536)")
    c.add_argument("--repeats", type=int, help="timed calls per case (median; default 10)")
    c.add_argument("--warmup", type=int, help="untimed calls first (default 3)")
    c.add_argument("--kernel-batch", type=int, help="batch of the operator count (default --batch)")
    c.add_argument(
        "--smoke", action="store_true", help="tiny sizes (seconds on a CPU): checks the plumbing"
    )
    c.add_argument("--json", help="also write every figure, ratio and the machine to this file")
    c.set_defaults(handler=_bench_compare)
    e = bsub.add_parser(
        "embed",
        help="sequences/s of the embedding forward (findna embed) beside the peer-class encoders",
    )
    shared.add_device(e)
    e.add_argument("--configs", default="tiny,small,paper", help="preset names or YAML paths")
    e.add_argument("--dtypes", default="fp32,bf16", help="fp32, bf16 or fp16 (autocast)")
    e.add_argument("--length", type=int, default=1000, help="bp per sequence")
    e.add_argument("--batch", type=int, default=8, help="sequences per call")
    e.add_argument("--repeats", type=int, default=3, help="timed calls (median)")
    e.add_argument("--warmup", type=int, default=1, help="untimed calls first")
    e.add_argument("--no-peers", action="store_true", help="findna's networks only")
    e.add_argument("--peer-layers", type=int, help="fewer peer layers (smoke runs)")
    e.add_argument("--json", help="also write every row, ratio and the machine to this file")
    e.set_defaults(handler=_bench_embed)


def _bench_model(args: argparse.Namespace) -> None:
    from findna.perf.report import render_report
    from findna.perf.step import bench_model

    results, matmul = bench_model(
        configs=[c.strip() for c in args.configs.split(",")],
        dtypes=args.dtypes,
        threads=args.threads,
        batch=args.batch,
        steps=args.steps,
        warmup=args.warmup,
        rotation_repeats=args.rotation_repeats,
        max_other_cpu=args.max_other_cpu,
        device=args.device or "auto",
        rotation=args.rotation,
        compile_blocks=args.compile,
    )
    print(render_report(results, matmul, args.json))


def _bench_matmul(args: argparse.Namespace) -> None:
    from findna.perf.machine import bench_matmul
    from findna.perf.report import render_report

    matmul = bench_matmul(
        args.shapes,
        args.dtypes,
        args.threads,
        args.repeats,
        min_total_s=args.min_time,
        device=args.device or "auto",
        layouts=args.layouts,
    )
    print(render_report([], matmul, args.json))


def _bench_compare(args: argparse.Namespace) -> None:
    from findna.perf.compare_cli import compare_command

    compare_command(args)


def _bench_embed(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from findna.perf.embed import bench_embed, embed_json, embed_markdown
    from findna.perf.machine import cpu_description

    results = bench_embed(
        [c.strip() for c in args.configs.split(",")],
        args.dtypes,
        length=args.length,
        batch=args.batch,
        repeats=args.repeats,
        warmup=args.warmup,
        peers=not args.no_peers,
        peer_layers=args.peer_layers,
        device=args.device or "auto",
    )
    machine = cpu_description()
    if args.json:
        data = {"machine": machine, **embed_json(results)}
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
    print(", ".join(f"{k}: {v}" for k, v in machine.items()))
    print(embed_markdown(results))
