"""``auto`` precision (findna.precision): each path forced with a fake CPU and a fake timing."""

from __future__ import annotations

import json
import logging

import pytest
import torch
import yaml

from findna.config import load_config
from findna.precision import (
    BF16_MIN_SPEEDUP,
    CPU_PRECISION_ENV,
    CpuInfo,
    bf16_speedup,
    choose_precision,
    machine_key,
    model_shapes,
    read_cpu_info,
    time_linears,
)
from findna.train.config import PretrainConfig
from findna.train.pretrain import run_pretrain
from findna.train.run_precision import run_device_type, run_precision
from micro_pretrain import micro_config


@pytest.fixture(autouse=True)
def _measured_choice(monkeypatch):
    """These tests force each path themselves: the suite-wide fixed CPU choice is lifted."""
    monkeypatch.delenv(CPU_PRECISION_ENV, raising=False)


PLAIN = CpuInfo("Test CPU", frozenset({"avx2", "avx512f"}), "AVX512")
SHAPES = ((64, 8, 4),)


def never(_shapes):
    raise AssertionError("the micro-benchmark must not run here")


def timing(fp32_s: float, bf16_s: float):
    calls = []

    def measure(shapes):
        calls.append(tuple(shapes))
        return fp32_s, bf16_s

    measure.calls = calls
    return measure


@pytest.mark.parametrize("name", ["32-true", "bf16-mixed", "16-mixed"])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_named_precisions_are_kept(name, device, tmp_path):
    choice = choose_precision(name, device, cpu=PLAIN, folder=tmp_path, measure=never)
    assert (choice.requested, choice.precision) == (name, name)
    assert choice.reason == f"{name} was requested"


def test_auto_on_cuda_is_bf16_without_measuring(tmp_path):
    choice = choose_precision("auto", torch.device("cuda", 1), folder=tmp_path, measure=never)
    assert choice.precision == "bf16-mixed"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "cpu",
    [
        CpuInfo("Xeon", frozenset({"avx512f", "amx_bf16", "amx_tile"}), "AVX512"),
        CpuInfo("Xeon", frozenset({"amx_tile"}), "AVX512"),
        CpuInfo("Xeon", frozenset(), "AMX"),
    ],
)
def test_auto_on_an_amx_cpu_is_bf16_without_measuring(cpu, tmp_path):
    choice = choose_precision("auto", "cpu", cpu=cpu, folder=tmp_path, measure=never)
    assert choice.precision == "bf16-mixed"
    assert "with AMX (Xeon)" in choice.reason


def test_auto_without_amx_follows_the_micro_benchmark(tmp_path):
    fast = timing(2.0, 1.0)
    choice = choose_precision("auto", "cpu", SHAPES, cpu=PLAIN, folder=tmp_path, measure=fast)
    assert choice.precision == "bf16-mixed"
    assert "measured 2.00x the float32 speed (>= 1.15x)" in choice.reason
    assert fast.calls == [SHAPES]
    slow = CpuInfo("Other CPU", PLAIN.flags, "AVX2")
    at_limit = BF16_MIN_SPEEDUP * 0.99
    choice = choose_precision(
        "auto", "cpu", SHAPES, cpu=slow, folder=tmp_path, measure=timing(at_limit, 1.0)
    )
    assert choice.precision == "32-true"
    assert f"measured {at_limit:.2f}x the float32 speed (< 1.15x)" in choice.reason


def test_the_cache_file_round_trips(tmp_path):
    first = timing(3.0, 1.5)
    assert bf16_speedup(SHAPES, cpu=PLAIN, folder=tmp_path, measure=first) == 2.0
    (path,) = tmp_path.iterdir()
    assert path.name == f"precision-{machine_key(PLAIN, torch.get_num_threads())}.json"
    data = json.loads(path.read_text())
    assert data["cpu_model"] == "Test CPU" and data["torch"] == torch.__version__
    assert data["shapes"] == {"64x8x4": {"fp32_s": 3.0, "bf16_s": 1.5, "speedup": 2.0}}
    # read back, not measured again; another shape set is measured and added to the same file
    assert bf16_speedup(SHAPES, cpu=PLAIN, folder=tmp_path, measure=never) == 2.0
    assert bf16_speedup(((8, 4, 2),), cpu=PLAIN, folder=tmp_path, measure=timing(1, 2)) == 0.5
    assert set(json.loads(path.read_text())["shapes"]) == {"64x8x4", "8x4x2"}
    # another CPU (flags) is another file
    other = CpuInfo("Test CPU", frozenset({"avx2"}), "AVX2")
    assert bf16_speedup(SHAPES, cpu=other, folder=tmp_path, measure=timing(1, 1)) == 1.0
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize(
    "text", ["{not json", '{"shapes": {"64x8x4": {"speedup": -1}}}', '{"shapes": []}', "[]"]
)
def test_a_corrupt_cache_is_ignored_with_a_warning(text, tmp_path, caplog):
    path = tmp_path / f"precision-{machine_key(PLAIN, torch.get_num_threads())}.json"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="findna.precision"):
        speedup = bf16_speedup(SHAPES, cpu=PLAIN, folder=tmp_path, measure=timing(1.0, 0.5))
    assert speedup == 2.0
    assert f"ignoring the precision cache {path}" in caplog.text
    assert json.loads(path.read_text())["shapes"]["64x8x4"]["speedup"] == 2.0


@pytest.mark.parametrize("fixed", ["32-true", "bf16-mixed"])
def test_the_environment_fixes_auto_on_a_cpu(fixed, monkeypatch, tmp_path):
    monkeypatch.setenv(CPU_PRECISION_ENV, fixed)
    amx = CpuInfo("Xeon", frozenset({"amx_bf16"}), "AMX")
    choice = choose_precision("auto", "cpu", cpu=amx, folder=tmp_path, measure=never)
    assert choice.precision == fixed
    assert choice.reason == f"auto on a CPU: {CPU_PRECISION_ENV}={fixed}"
    assert choose_precision("auto", "cuda").precision == "bf16-mixed"
    monkeypatch.setenv(CPU_PRECISION_ENV, "fp32")
    with pytest.raises(ValueError, match=r"FINDNA_CPU_PRECISION='fp32': use 32-true or bf16-mixed"):
        choose_precision("auto", "cpu", cpu=amx, folder=tmp_path, measure=never)


def test_bad_names_are_refused():
    with pytest.raises(ValueError, match=r"precision must be one of auto, 32-true, .*'bf16'"):
        choose_precision("bf16", "cpu")


def test_model_shapes_cap_the_rows():
    assert model_shapes(80, 64, 32 * 266) == ((2048, 80, 64), (2048, 64, 80))
    assert model_shapes(308, 512, 100) == ((100, 308, 512), (100, 512, 308))


def test_the_real_probe_and_timing_run():
    cpu = read_cpu_info()
    assert cpu.model and cpu.capability
    fp32_s, bf16_s = time_linears(((32, 8, 8),), min_time_s=0.001)
    assert fp32_s > 0 and bf16_s > 0


def _micro_run(tmp_path, precision: str) -> PretrainConfig:
    """A pretraining config of a few seconds on 2 CPU cores, 2 steps."""
    path = micro_config(tmp_path, optim={"max_steps": 2}, run={"precision": precision})
    return load_config(PretrainConfig, path)


def test_pretraining_resolves_auto_at_its_shapes_and_records_it(tmp_path, monkeypatch):
    import findna.precision as precision

    monkeypatch.setenv("FINDNA_CACHE_DIR", str(tmp_path / "cache"))
    measured = timing(1.0, 0.5)
    monkeypatch.setattr(precision, "time_linears", measured)
    monkeypatch.setattr(precision, "read_cpu_info", lambda: PLAIN)
    cfg = _micro_run(tmp_path, "auto")
    assert run_device_type("cpu") == "cpu" and run_device_type("gpu") == "cuda"
    choice = run_precision(cfg)
    assert choice.precision == "bf16-mixed"
    # the two block GEMMs at one step's tokens: 8 windows x (32 bp + 2 CLS)
    assert measured.calls == [model_shapes(cfg.model.width, 16, 8 * 34)]
    run_pretrain(cfg)
    hparams = yaml.safe_load((tmp_path / "run" / "logs" / "hparams.yaml").read_text())
    assert hparams["precision"] == "bf16-mixed" and hparams["precision_requested"] == "auto"
    assert hparams["precision_reason"] == choice.reason
    assert len(measured.calls) == 1  # measured once, then the cache and the memo answer
    forced = run_precision(_micro_run(tmp_path, "32-true"))
    assert (forced.precision, forced.reason) == ("32-true", "32-true was requested")
