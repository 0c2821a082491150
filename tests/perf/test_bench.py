"""Smoke tests of ``findna bench`` on a micro config: structure, FLOP formula, shares in [0, 1]."""

import json
import math
import os
import sys
import time

import pytest
import torch

from findna.cli import main
from findna.data.windows import WindowConfig
from findna.model.config import ModelConfig
from findna.perf.machine import (
    MatmulResult,
    bench_matmul,
    best_seconds,
    parse_dtypes,
    parse_shapes,
    parse_threads,
    peak_gflops,
    wait_for_quiet,
    watch_load,
)
from findna.perf.report import render_report
from findna.perf.step import (
    PHASES,
    bench_step,
    default_batch,
    forward_flops,
    resolve_preset,
    step_flops,
)
from findna.ssl.config import SSLConfig
from findna.ssl.views import ViewConfig
from findna.train.config import DataConfig, PretrainConfig


def _micro(variant: str = "findna") -> PretrainConfig:
    windows = WindowConfig(window_length=30, holdout_region="X:1-100")
    return PretrainConfig(
        data=DataConfig(windows=windows, val_windows=0),
        model=ModelConfig(track_size=4, hidden=8, n_layers=1, max_len=32),
        views=ViewConfig(n_cls=2),
        ssl=SSLConfig(n_cls=2, variant=variant),
    )


def test_flops_formula_matches_spec_section_9():
    # Spec 9: the paper network at L=1010 is ~25.5 GFLOPs forward per sequence (blocks only).
    paper = ModelConfig.paper()
    blocks = 4 * 1010 * 308 * 512 * 40
    io = 1010 * (2 * 5 * 308 + 2 * 308 * 5)
    assert forward_flops(paper, 1, 1010) == blocks + io
    assert forward_flops(paper, 1, 1010) / 1e9 == pytest.approx(25.5, abs=0.1)
    assert step_flops(paper, 2, 1010) == 4 * forward_flops(paper, 2, 1010)
    assert step_flops(paper, 2, 1010, teacher=False) == 3 * forward_flops(paper, 2, 1010)


def test_default_batch_caps_the_paper_step():
    paper = PretrainConfig()
    assert default_batch(paper) == 2  # 2 x ~102 GFLOP <= 250 GFLOP < 3 x ~102
    micro = _micro()
    assert default_batch(micro) == micro.optim.batch_size


def test_resolve_preset_names_and_errors(tmp_path):
    assert resolve_preset("paper").model == ModelConfig.paper()
    assert resolve_preset("tiny").data.windows.window_length == 256
    with pytest.raises(FileNotFoundError, match="configs/pretrain/nope.yaml"):
        resolve_preset("nope")


def test_bench_step_structure_and_shares():
    cfg = _micro()
    matmul = [MatmulResult(64, 64, 64, "fp32", 1, 1e-3, 0.5, 0.0, None)]
    r = bench_step(cfg, "micro", "fp32", batch=3, steps=2, warmup=1, threads=1, matmul=matmul)
    assert (r.batch, r.window, r.tokens, r.steps) == (3, 30, 32, 2)
    assert set(r.phases) == set(PHASES) and all(t > 0 for t in r.phases.values())
    assert r.step_s == pytest.approx(sum(r.phases.values()))
    assert len(r.step_times) == 2
    assert r.tokens_per_s == pytest.approx(3 * 32 / r.step_s)
    assert r.gflop_per_step == pytest.approx(step_flops(cfg.model, 3, 32) / 1e9)
    assert r.gflops == pytest.approx(r.gflop_per_step / r.step_s)
    assert r.peak_gflops == 0.5 and r.peak_share == pytest.approx(r.gflops / 0.5)
    for share in (r.views_share, r.rotation_share, r.rotation_direct_share):
        assert 0.0 <= share <= 1.0
    # d = (5 blocks + 1) x 4 = 24, h = 8: embed 5*24+24, 5 blocks of 24*8+8+8*24+24, head 24*5+5.
    assert r.n_params == 144 + 5 * 416 + 125


def test_bench_step_bf16_and_mnm_only_variant_without_rotation():
    r = bench_step(
        _micro("cm-mnm"), "micro", "bf16", batch=2, steps=1, threads=1, rotation_repeats=0
    )
    assert r.rotation_share is None and r.peak_share is None
    assert r.gflop_per_step == pytest.approx(step_flops(_micro().model, 2, 32, teacher=False) / 1e9)
    assert 0.0 <= r.views_share <= 1.0


def test_bench_step_leaves_global_state_alone():
    threads = torch.get_num_threads()
    rng = torch.get_rng_state()
    bench_step(_micro(), "micro", "fp32", batch=1, steps=1, warmup=0, threads=1, rotation_repeats=1)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), rng)


def test_bench_step_rejects_bad_arguments():
    with pytest.raises(ValueError, match="dtype 'int8'"):
        bench_step(_micro(), "micro", "int8")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        bench_step(_micro(), "micro", steps=0)
    with pytest.raises(ValueError, match="rotation impl 'fast'"):
        bench_step(_micro(), "micro", rotation="fast")


def test_bench_step_sets_the_rotation_of_its_own_networks(monkeypatch):
    # The rotation reaches student and teacher as an argument; nothing process-wide changes.
    import findna.perf.step as step

    seen = []
    real = step.set_rotation

    def spy(model, rotation):
        real(model, rotation)
        seen.extend(net.rotation for net in (model.student, model.teacher))

    monkeypatch.setattr(step, "set_rotation", spy)
    r = bench_step(_micro(), "micro", batch=1, steps=1, warmup=0, threads=1, rotation="gather")
    assert seen == ["gather", "gather"] and r.rotation == "gather"
    from findna.model.network import FinDNANetwork

    assert FinDNANetwork(_micro().model).rotation == "auto"


def test_matmul_rates_and_peak():
    res = bench_matmul([(32, 16, 8)], "fp32,bf16", "1", repeats=2, min_total_s=0.0)
    assert [(r.m, r.k, r.n, r.dtype, r.threads) for r in res] == [
        (32, 16, 8, "fp32", 1),
        (32, 16, 8, "bf16", 1),
    ]
    for r in res:
        assert r.gflops == pytest.approx(2 * 32 * 16 * 8 / r.seconds / 1e9)
    assert peak_gflops(res, "bf16", 1) == res[1].gflops
    assert peak_gflops(res, "bf16", 2) is None


def test_parsers():
    assert parse_dtypes("fp32, bf16") == ["fp32", "bf16"]
    assert parse_threads("2,1,2") == [2, 1]
    with pytest.raises(ValueError, match="unknown dtype"):
        parse_dtypes("fp8")
    with pytest.raises(ValueError, match="thread counts"):
        parse_threads("0")
    assert parse_shapes("2048x2048x2048, 8x3X5") == [(2048, 2048, 2048), (8, 3, 5)]
    with pytest.raises(ValueError, match="'8x3' is not MxKxN"):
        parse_shapes("8x3")


def test_report_and_json(tmp_path):
    r = bench_step(_micro(), "micro", "fp32", batch=1, steps=1, warmup=0, threads=1)
    mm = bench_matmul([(16, 16, 16)], "fp32", "1", repeats=1, min_total_s=0.0)
    path = tmp_path / "bench.json"
    text = render_report([r], mm, str(path))
    assert "| micro | fp32 | 1 | 1 x 32 |" in text and "| 1 | 16 x 16 x 16 |" in text
    data = json.loads(path.read_text())
    assert set(data) == {"date", "machine", "steps", "matmul"}
    assert data["steps"][0]["phases"].keys() == set(PHASES)
    assert math.isfinite(data["matmul"][0]["gflops"])


def test_cli_bench_matmul(tmp_path, capsys):
    path = tmp_path / "mm.json"
    argv = ["bench", "matmul", "--dtypes", "fp32,bf16", "--threads", "1", "--repeats", "1"]
    argv += ["--min-time", "0"]
    assert main([*argv, "--shapes", "64x32x16,16x16x16", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| 1 | 64 x 32 x 16 |" in out and "| 1 | 16 x 16 x 16 |" in out
    rows = json.loads(path.read_text())["matmul"]
    assert [(r["m"], r["dtype"]) for r in rows] == [
        (64, "fp32"),
        (64, "bf16"),
        (16, "fp32"),
        (16, "bf16"),
    ]


def test_cli_bench_model_reports_a_user_error(capsys):
    assert main(["bench", "model", "--configs", "nope"]) == 2
    assert "no pretraining preset 'nope'" in capsys.readouterr().err


def test_load_watch_and_wait():
    assert wait_for_quiet(None) is None
    cores = wait_for_quiet(1e6, window_s=0.05)  # any load is below 1e6 cores: one sample
    assert cores is None or cores >= 0.0
    with watch_load() as short:
        sum(range(10_000))
    assert short.load_1min >= 0.0 and short.other_cpu is None  # too short to measure
    with watch_load() as sample:
        time.sleep(0.55)
    if sys.platform == "linux":
        # /proc/stat counts 10 ms ticks: over 0.55 s the estimate can exceed the cores by ~0.04
        assert sample.other_cpu is not None and 0.0 <= sample.other_cpu <= os.cpu_count() + 0.1


def test_best_seconds_runs_until_min_total():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.01)

    best = best_seconds(fn, repeats=1, warmup=1, min_total_s=0.05)
    assert len(calls) >= 1 + 5 and 0.01 <= best < 0.05
