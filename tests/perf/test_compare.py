"""``findna bench compare`` and the device plumbing of ``findna bench`` (issue 10), on the CPU."""

import json
from dataclasses import replace

import pytest
import torch

from findna.cli import main
from findna.devices import resolve_device
from findna.model.config import tied_width
from findna.perf.compare import CompareSizes, kernel_counts, run_compare, split_variant
from findna.perf.compare_report import compare_markdown, ratios
from findna.perf.device import median_seconds, peak_memory_mib
from findna.perf.kernels import count_ops
from findna.perf.peers import PEERS, SDPATransformer, transformers_available
from findna.perf.step import resolve_preset

needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")


@needs_no_cuda
def test_cuda_without_cuda_is_a_clear_error(capsys):
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    assert main(["bench", "model", "--device", "cuda", "--configs", "tiny"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("findna: error: device cuda: CUDA is not available")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert main(["bench", "compare", "--device", "cuda", "--smoke"]) == 2


def test_resolve_device_auto_and_errors():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        resolve_device("gpu")
    assert peak_memory_mib(torch.device("cpu")) is None


def test_median_seconds_counts_calls():
    calls = []
    med, times = median_seconds(lambda: calls.append(1), torch.device("cpu"), repeats=3, warmup=2)
    assert len(calls) == 5 and len(times) == 3 and med >= 0


def _smoke(**changes) -> CompareSizes:
    return replace(CompareSizes.smoke(), **changes)


def test_run_compare_smoke_structure_and_ratios():
    data = run_compare(
        torch.device("cpu"),
        ("network", "sweep", "peers"),
        ("reference", "gather"),
        "fp32",
        _smoke(sweep_lengths=(32, 64), sweep_tokens=128),
        sweep_variants=("gather", "padded"),
    )
    cases = data["cases"]
    groups = [(c["group"], c["variant"]) for c in cases]
    assert groups[:2] == [("network", "reference"), ("network", "gather")]
    sweep = [(c["tokens"], c["batch"], c["variant"]) for c in cases if c["group"] == "sweep"]
    assert sweep == [
        (32, 4, "gather"),
        (32, 4, "padded"),
        (32, 4, "-"),
        (64, 2, "gather"),
        (64, 2, "padded"),
        (64, 2, "-"),
    ]
    for c in cases:
        if c["group"] == "peers" and not transformers_available():
            assert c["ms"] is None and "transformers is not installed" in c["note"]
            continue
        assert c["error"] is None and c["ms"] > 0 and c["tflops"] > 0
        assert c["us_per_token"] == pytest.approx(c["ms"] * 1e3 / (c["batch"] * c["tokens"]))
    assert [c["tokens"] for c in cases if c["group"] == "peers"] == [22, 17]  # 100 bp / 4.5, / 6
    data["ratios"] = ratios(data)
    names = [r["ratio"] for r in data["ratios"]]
    assert "sweep (gather): ChordMixer us/token at 64 / at 32" in names
    assert "sweep (padded): ChordMixer us/token at 64 / at 32" in names
    text = compare_markdown(data)
    assert "| network | tiny network fwd+bwd | gather | fp32 | 2 x 266 |" in text


def test_sweep_ties_the_chordmixer_width_to_each_length():
    # The sweep's ChordMixer grows d with log2 L (max_len = L), not the preset's fixed width.
    data = run_compare(
        torch.device("cpu"),
        ("sweep",),
        ("gather",),
        "fp32",
        _smoke(sweep_lengths=(32, 512), sweep_tokens=512),
        sweep_variants=("gather",),
    )
    track = resolve_preset("tiny").model.track_size
    names = [c["name"] for c in data["cases"] if c["variant"] == "gather"]
    assert names == [f"ChordMixer d={tied_width(L, track)}" for L in (32, 512)]
    assert all(c["error"] is None for c in data["cases"])


def test_split_variant():
    assert split_variant("padded+compile") == ("padded", True)
    assert split_variant("compile") == ("auto", True)
    assert split_variant("reference") == ("reference", False)
    for bad in ("fast", "padded+jit"):
        with pytest.raises(ValueError, match="unknown variant"):
            split_variant(bad)


def test_ratios_targets_on_fixed_numbers():
    def case(group, name, variant, ms, tokens=1010, batch=64):
        us = ms * 1e3 / (batch * tokens)
        return {
            "group": group,
            "name": name,
            "variant": variant,
            "ms": ms,
            "tokens": tokens,
            "batch": batch,
            "us_per_token": us,
        }

    data = {
        "cases": [
            case("step", "paper step", "reference", 100.0),
            case("step", "paper step", "auto", 40.0),
            case("network", "paper net", "auto", 20.0),
            case("peers", "DNABERT-2-class BERT", "-", 42.0, 222),
            case("peers", "NT-500M-class ESM", "-", 50.0, 167),
            case("sweep", "ChordMixer d=308", "auto", 10.0, 1024, 64),
            case("sweep", "ChordMixer d=420", "auto", 20.0, 16384, 4),
            case("sweep", "SDPA Transformer d=320", "-", 30.0, 16384, 4),
        ]
    }
    got = {r["ratio"]: (r["value"], r["met"]) for r in ratios(data)}
    assert got["step: reference / auto time (speed-up)"] == (2.5, None)
    assert got["step: fastest (auto) ms per step"] == (40.0, False)
    assert got["DNABERT-2-class BERT / ChordMixer network (auto) time"] == (2.1, True)
    assert got["NT-500M-class ESM / ChordMixer network (auto) time"] == (2.5, False)
    assert got["sweep (auto): ChordMixer us/token at 16384 / at 1024"] == (2.0, False)
    assert got["sweep L=16384: Transformer / ChordMixer (auto) us per token"] == (1.5, True)


def test_kernel_counts_gather_needs_fewer_ops_than_slices(tmp_path):
    x = torch.randn(8, 8)
    counts = count_ops(lambda: (x + 1).relu().view(64).sum(), torch.device("cpu"))
    assert counts["leaf_ops"] == 3 and counts["cuda_kernels"] is None  # add, relu, sum; no view
    # Tracks of 12 channels use slice copies in the reference: 7 blocks (max_len 74), d = 96.
    preset = tmp_path / "wide.yaml"
    preset.write_text(
        "data: {windows: {window_length: 64}, val_windows: 0}\n"
        "model: {track_size: 12, hidden: 16, n_layers: 1, max_len: 74}\n"
    )
    sizes = _smoke(preset=str(preset), kernel_batch=1)
    ref = kernel_counts("reference", "fp32", torch.device("cpu"), sizes)
    fast = kernel_counts("gather", "fp32", torch.device("cpu"), sizes)
    # 7 blocks x 3 rotations (student fwd + bwd, teacher fwd) x (15 slice copies -> 1 gather).
    assert ref["leaf_ops"] - fast["leaf_ops"] >= 7 * 3 * 14


def test_cli_bench_compare_smoke_json(tmp_path, capsys):
    path = tmp_path / "cmp.json"
    argv = ["bench", "compare", "--device", "cpu", "--smoke", "--cases", "network,step"]
    argv += ["--dtype", "fp32", "--variants", "gather", "--json", str(path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| step | tiny pretraining step | gather | fp32 | 2 x 266 |" in out
    data = json.loads(path.read_text())
    assert {"date", "machine", "device", "cases", "ratios", "matmul", "sizes"} <= set(data)
    assert data["device"] == "cpu" and len(data["cases"]) == 2
    assert main(["bench", "compare", "--smoke", "--cases", "nope"]) == 2


def test_sdpa_transformer_and_peer_flops():
    net = SDPATransformer(d=16, n_layers=1, heads=2, ffn=32)
    assert net(torch.randn(2, 9, 5)).shape == (2, 9, 5)
    assert net.forward_flops(2, 9) == 2 * 9 * (8 * 256 + 4 * 9 * 16 + 4 * 16 * 32 + 4 * 5 * 16)
    bert, esm = PEERS
    assert (bert.tokens(1000), esm.tokens(1000)) == (222, 167)
