"""model.special_inputs=distinct (issue 21): CLS rows, the mask token and padding get inputs of
their own; the default network is the paper's, and its checkpoints and exports load as before."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork
from findna.model.special_inputs import special_kinds


def _cfg(**changes: object) -> ModelConfig:
    return ModelConfig.tiny(max_len=16, **changes)


def _rows(codes: list[int]) -> torch.Tensor:
    """One-hot rows; code 5 is the all-zero row."""
    x = torch.zeros(len(codes), 5)
    for i, c in enumerate(codes):
        if c < 5:
            x[i, c] = 1.0
    return x


def test_kinds_of_a_padded_batch_by_hand() -> None:
    # Sequence 0: A, mask, C, then 2 CLS, then 2 padding rows; sequence 1: G, T, N, mask, 2 CLS.
    x = torch.stack([_rows([0, 5, 1, 5, 5, 5, 5]), _rows([2, 3, 4, 5, 5, 5, 0])])
    kinds = special_kinds(x, cls_rows=2, lengths=torch.tensor([5, 6]))
    assert kinds.tolist() == [[0, 2, 0, 1, 1, 3, 3], [0, 0, 0, 2, 1, 1, 3]]
    # Without lengths nothing is padding and the last rows are the CLS rows.
    assert special_kinds(x[:1, :5], cls_rows=2).tolist() == [[0, 2, 0, 1, 1]]
    # A real base among the CLS positions is a real base.
    assert special_kinds(_rows([0, 1, 2])[None], cls_rows=2).tolist() == [[0, 0, 0]]


def test_distinct_inputs_separate_the_three_special_rows() -> None:
    torch.manual_seed(0)
    net = FinDNANetwork(_cfg(special_inputs="distinct", cls_rows=2))
    x = _rows([0, 5, 1, 5, 5, 5])[None]
    e = net.embed_inputs(x, torch.tensor([5]))
    mask_row, cls_row, pad_row = e[0, 1], e[0, 3], e[0, 5]
    bias = net.embed.bias
    torch.testing.assert_close(mask_row, bias + net.embed.special[1])
    torch.testing.assert_close(cls_row, bias + net.embed.special[0])
    torch.testing.assert_close(pad_row, bias + net.embed.special[2])
    assert not torch.allclose(mask_row, cls_row)
    torch.testing.assert_close(e[0, 0], net.embed.weight[:, 0] + bias)  # A: as before
    # A gradient through the CLS rows alone reaches the CLS vector, not the mask token's.
    e[0, 3].sum().backward()
    grad = net.embed.special.grad
    assert grad is not None and grad[0].abs().sum() > 0 and grad[1:].abs().sum() == 0
    paper = FinDNANetwork(_cfg())
    z = paper.embed_inputs(x)
    assert torch.equal(z[0, 1], z[0, 3]) and torch.equal(z[0, 1], paper.embed.bias)


def test_the_default_network_is_unchanged_and_old_weights_load(tmp_path) -> None:
    torch.manual_seed(0)
    net = FinDNANetwork(_cfg())
    assert "embed.special" not in net.state_dict()
    net.save_pretrained(tmp_path / "old")
    # An export written before the keys existed: config.json without them.
    cfg_path = tmp_path / "old" / "config.json"
    raw = json.loads(cfg_path.read_text())
    assert raw["special_inputs"] == "zero" and raw["cls_rows"] == 0
    cfg_path.write_text(
        json.dumps({k: v for k, v in raw.items() if k not in ("special_inputs", "cls_rows")})
    )
    back = FinDNANetwork.from_pretrained(tmp_path / "old")
    x = torch.rand(2, 12, 5)
    assert torch.equal(back(x).logits, net(x).logits)


def test_a_distinct_network_round_trips_with_its_config_key(tmp_path) -> None:
    torch.manual_seed(0)
    net = FinDNANetwork(_cfg(special_inputs="distinct", cls_rows=3))
    net.save_pretrained(tmp_path / "d")
    raw = json.loads((tmp_path / "d" / "config.json").read_text())
    assert (raw["special_inputs"], raw["cls_rows"]) == ("distinct", 3)
    assert "embed.special" in load_file(tmp_path / "d" / "model.safetensors")
    back = FinDNANetwork.from_pretrained(tmp_path / "d")
    x = _rows([0, 5, 2, 5, 5, 5])[None]
    assert torch.equal(back(x).logits, net(x).logits)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"special_inputs": "learned"}, "model.special_inputs='learned' is not supported"),
        ({"cls_rows": 2}, "model.cls_rows=2 is read only with model.special_inputs=distinct"),
        ({"special_inputs": "distinct", "cls_rows": -1}, "model.cls_rows must be an integer >= 0"),
    ],
)
def test_bad_special_input_settings_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _cfg(**changes)


def test_transformers_loads_a_distinct_network_with_its_special_vectors(tmp_path) -> None:
    transformers = pytest.importorskip("transformers")
    from findna.data.alphabet import one_hot
    from findna.model.hf import register
    from findna.model.hf.remote import write_hf_files

    register()
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.tiny(max_len=40, special_inputs="distinct", cls_rows=2)).eval()
    net.save_pretrained(tmp_path)
    write_hf_files(tmp_path)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path)
    batch = tokenizer(
        ["ACGTNACG", "GATTACAGATTACA"], padding="max_length", max_length=40, return_tensors="pt"
    )
    base = transformers.AutoModel.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(base.embed.special, net.embed.special)
    x, lengths = one_hot(batch["input_ids"].clamp(max=5)), batch["attention_mask"].sum(-1)
    with torch.no_grad():
        torch.testing.assert_close(base(**batch).last_hidden_state, net(x, lengths).hidden)
        # every layer's states: padding stays padding (not read as mask tokens) on this path too
        states = base(**batch, output_hidden_states=True).hidden_states
        torch.testing.assert_close(states[-1], net(x, lengths).hidden)
