"""``findna bench embed`` at smoke sizes: rows, equal bases, ratios, the JSON and bad input."""

import json
from dataclasses import replace

import pytest

import findna.perf.embed as embed
from findna.cli import main
from findna.perf.embed import bench_embed, embed_markdown, embed_ratios, random_sequences
from findna.perf.peers import PEERS, transformers_available


def test_rows_are_at_equal_bases_and_ratios_divide_throughputs(monkeypatch):
    # the peers' own architectures (and tokenisation), narrowed to keep the test quick
    small = tuple(replace(p, hidden=64, heads=4, ffn=128, vocab=64) for p in PEERS)
    monkeypatch.setattr(embed, "PEERS", small)
    results = bench_embed(
        ["tiny"], "fp32", length=45, batch=2, repeats=1, warmup=0, peer_layers=1, device="cpu"
    )
    assert [r.model for r in results] == ["findna tiny", *(p.name for p in PEERS)]
    assert {(r.length, r.batch, r.dtype) for r in results} == {(45, 2, "fp32")}
    tiny = results[0]
    assert tiny.tokens == 45 and tiny.seqs_per_s == pytest.approx(2 / tiny.seconds)
    assert 0.1e6 < tiny.n_params < 0.2e6  # d = 80, h = 64, 2 x 6 blocks at 45 tokens
    if not transformers_available():
        assert all(r.note.startswith("skipped") for r in results[1:])
        return
    bert, esm = results[1:]
    assert (bert.tokens, esm.tokens) == (10, 8)  # 45 bp at 4.5 and 6 bp per token
    assert bert.note == esm.note == "1 layer(s) only"
    ratios = embed_ratios(results)
    assert [(q["peer"], q["dtype"]) for q in ratios] == [(bert.model, "fp32"), (esm.model, "fp32")]
    assert ratios[0]["x"] == pytest.approx(tiny.seqs_per_s / bert.seqs_per_s)
    text = embed_markdown(results)
    assert f"| findna tiny | {bert.model} | fp32 | {ratios[0]['x']:.2f}x |" in text


def test_the_command_writes_json_with_the_machine(tmp_path, capsys):
    out = tmp_path / "embed.json"
    main(
        ["bench", "embed", "--configs", "tiny", "--dtypes", "fp32,bf16", "--length", "20",
         "--batch", "1", "--repeats", "1", "--warmup", "0", "--no-peers", "--device", "cpu",
         "--json", str(out)]
    )  # fmt: skip
    data = json.loads(out.read_text())
    assert [(r["model"], r["dtype"]) for r in data["results"]] == [
        ("findna tiny", "fp32"),
        ("findna tiny", "bf16"),
    ]
    assert data["ratios"] == [] and "cpu_model" in data["machine"]
    assert "| findna tiny | bf16 |" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dtypes": "fp8"}, "unknown dtype(s) ['fp8']"),
        ({"length": 0}, "bench embed: --length must be >= 1, got 0"),
        ({"batch": 0}, "bench embed: --batch must be >= 1, got 0"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError) as err:
        bench_embed(["tiny"], **{"dtypes": "fp32", **kwargs})
    assert message in str(err.value)


def test_random_sequences_are_seeded_acgt():
    seqs = random_sequences(3, 12, seed=1)
    assert seqs == random_sequences(3, 12, seed=1) != random_sequences(3, 12, seed=2)
    assert all(len(s) == 12 and set(s) <= set("ACGT") for s in seqs)
