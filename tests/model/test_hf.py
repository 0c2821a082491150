"""transformers' Auto classes on findna folders, with findna installed (findna.model.hf.register).

Every output is compared with findna's own network or classifier on the same inputs.
"""

import json
import shutil
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from findna.data.alphabet import decode, encode, one_hot  # noqa: E402
from findna.model.classifier import (  # noqa: E402
    ClassifierInfo,
    SequenceClassifier,
    batch_tensors,
    save_classifier,
)
from findna.model.config import ModelConfig  # noqa: E402
from findna.model.hf import register  # noqa: E402
from findna.model.hf.remote import write_hf_files  # noqa: E402
from findna.model.network import FinDNANetwork  # noqa: E402

SEQS = ["ACGTNACGTAGGCT", "gattaca", "TTTTRYAC"]
CONFIGS = {
    "chordmixer-fixed": ModelConfig.tiny(max_len=40),
    "chordmixer-length-aware": ModelConfig.tiny(max_len=40, length_mode="length_aware"),
    "transformer-sinusoidal": ModelConfig.tiny(
        backbone="transformer", n_layers=2, max_len=40, positional="sinusoidal"
    ),
}


@pytest.fixture(autouse=True, scope="module")
def registered():
    register()


def _export(tmp_path, cfg):
    torch.manual_seed(0)
    net = FinDNANetwork(cfg).eval()
    net.save_pretrained(tmp_path)
    write_hf_files(tmp_path)
    return net


def _findna_inputs(batch):
    x = one_hot(batch["input_ids"].clamp(max=5))
    return x, batch["attention_mask"].sum(-1)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_auto_models_give_findnas_outputs(tmp_path, name):
    net = _export(tmp_path, CONFIGS[name])
    config = transformers.AutoConfig.from_pretrained(tmp_path)
    assert (config.model_type, config.model_config()) == ("findna", net.config)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path)
    batch = tokenizer(SEQS, padding="max_length", max_length=40, return_tensors="pt")
    mlm = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path).eval()
    base = transformers.AutoModel.from_pretrained(tmp_path).eval()
    assert type(base).__name__ == "FinDNAModel" and not hasattr(base, "head")
    with torch.no_grad():
        expected = net(*_findna_inputs(batch))
        out = mlm(**batch, output_hidden_states=True)
        hidden = base(**batch).last_hidden_state
    torch.testing.assert_close(out.logits, expected.logits)
    torch.testing.assert_close(hidden, expected.hidden)
    # Embedding output, then one state per layer; the last is the backbone output.
    assert len(out.hidden_states) == net.config.n_layers + 1
    torch.testing.assert_close(out.hidden_states[-1], expected.hidden)
    torch.testing.assert_close(out.hidden_states[0], net.embed(_findna_inputs(batch)[0]))


def test_masked_lm_loss_is_the_cross_entropy_at_scored_positions(tmp_path):
    net = _export(tmp_path, CONFIGS["chordmixer-fixed"])
    mlm = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path).eval()
    ids = torch.tensor([encode("ACGTACGTAC").tolist()])
    labels = torch.full_like(ids, -100)
    labels[0, [2, 5]] = ids[0, [2, 5]]
    masked = ids.clone()
    masked[0, [2, 5]] = 6  # [MASK]: the all-zero row, as findna's MNM mask token
    with torch.no_grad():
        out = mlm(input_ids=masked, labels=labels)
        logits = net(one_hot(masked.clamp(max=5))).logits
    expected = torch.nn.functional.cross_entropy(logits[0, [2, 5]], ids[0, [2, 5]])
    torch.testing.assert_close(out.loss, expected)


def test_tokenizer_round_trip_and_findna_codes(tmp_path):
    _export(tmp_path, CONFIGS["chordmixer-fixed"])
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert tokenizer.model_max_length == 40
    batch = tokenizer(SEQS, padding=True)
    for seq, ids, mask in zip(SEQS, batch["input_ids"], batch["attention_mask"], strict=True):
        n = sum(mask)
        assert ids[:n] == encode(seq).tolist()  # ids are findna's codes
        assert set(ids[n:]) <= {tokenizer.pad_token_id} and tokenizer.pad_token_id == 5
        assert tokenizer.decode(ids, skip_special_tokens=True) == decode(encode(seq))
    assert tokenizer("AC[MASK]G[CLS]")["input_ids"] == [0, 1, 6, 2, 7]
    with pytest.raises(ValueError, match="invalid character 'X' at position 3"):
        tokenizer("ACXG")


def test_bad_attention_mask_is_refused(tmp_path):
    _export(tmp_path, CONFIGS["chordmixer-fixed"])
    base = transformers.AutoModel.from_pretrained(tmp_path)
    ids = torch.zeros(1, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="right padding"):
        base(input_ids=ids, attention_mask=torch.tensor([[0, 1, 1, 1]]))
    with pytest.raises(ValueError, match=r"input_ids must lie in 0\.\.7"):
        base(input_ids=ids + 9)


def test_a_transformers_save_loads_back_in_findna(tmp_path):
    net = _export(tmp_path / "export", CONFIGS["transformer-sinusoidal"])
    mlm = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "export")
    mlm.save_pretrained(tmp_path / "resaved")
    again = FinDNANetwork.from_pretrained(tmp_path / "resaved").eval()
    x = one_hot(torch.randint(0, 5, (2, 12)))
    with torch.no_grad():
        torch.testing.assert_close(again(x).logits, net(x).logits)


def _classifier(tmp_path, pooling, n_cls, length_mode, head_kind="linear"):
    torch.manual_seed(1)
    cfg = ModelConfig.tiny(hidden=8, n_layers=1, max_len=32, length_mode=length_mode)
    model = SequenceClassifier(FinDNANetwork(cfg), 3, pooling, n_cls, head_kind, 16).eval()
    info = ClassifierInfo(
        "synthetic/three",
        3,
        ["a", "b", "c"],
        pooling,
        n_cls,
        32,
        "macro_f1",
        head_kind=head_kind,
        head_hidden=16,
    )
    save_classifier(model, info, tmp_path)
    return model


@pytest.mark.parametrize(
    "pooling,n_cls,length_mode,head_kind",
    [
        ("mean+cls", 2, "fixed", "linear"),
        ("masked_mean", 0, "length_aware", "mlp"),
        ("cls", 3, "length_aware", "linear"),
    ],
)
def test_sequence_classification_gives_the_classifiers_logits(
    tmp_path, pooling, n_cls, length_mode, head_kind
):
    model = _classifier(tmp_path, pooling, n_cls, length_mode, head_kind)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["id2label"] == {"0": "a", "1": "b", "2": "c"}
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path)
    batch = tokenizer(SEQS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(*batch_tensors(model, [encode(s) for s in SEQS]))
        got = hf(**batch).logits
    torch.testing.assert_close(got, expected)


def test_config_errors_name_the_field(tmp_path):
    _export(tmp_path, CONFIGS["chordmixer-fixed"])
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "length_mode": "circular"}))
    with pytest.raises(ValueError, match="length_mode.*'circular'"):
        transformers.AutoConfig.from_pretrained(tmp_path)


def test_a_transformers_save_of_a_classifier_keeps_its_head(tmp_path):
    model = _classifier(tmp_path / "clf", "mean+cls", 2, "fixed")
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "clf")
    hf.save_pretrained(tmp_path / "resaved")
    assert not (tmp_path / "resaved" / "head.safetensors").exists()
    again = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "resaved")
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "clf")
    batch = tokenizer(SEQS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(*batch_tensors(model, [encode(s) for s in SEQS]))
        torch.testing.assert_close(again.eval()(**batch).logits, expected)


def test_a_legacy_export_gets_the_transformers_files(tmp_path):
    legacy = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"
    shutil.copytree(legacy / "model", tmp_path / "model")
    write_hf_files(tmp_path / "model")
    expected = torch.load(legacy / "expected.pt", weights_only=False)
    x = expected["input"]  # one-hot, all-zero rows for CLS/padding -> codes, PAD = 5
    codes = torch.where(x.sum(-1) == 0, 5, x.argmax(-1))
    assert torch.equal(one_hot(codes), expected["input"])
    mlm = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "model").eval()
    with torch.no_grad():
        torch.testing.assert_close(mlm(input_ids=codes).logits, expected["logits"])


def test_inputs_longer_than_the_network_are_refused(tmp_path):
    _export(tmp_path / "t", CONFIGS["transformer-sinusoidal"])
    mlm = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "t")
    with pytest.raises(ValueError, match="41 tokens but the transformer's position table"):
        mlm(input_ids=torch.zeros(1, 41, dtype=torch.long), output_hidden_states=True)
    _classifier(tmp_path / "c", "mean+cls", 2, "fixed")
    clf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "c")
    with pytest.raises(ValueError, match=r"31 tokens \(\+2 CLS\) is longer than the 32 tokens"):
        clf(input_ids=torch.zeros(1, 31, dtype=torch.long))


@pytest.mark.parametrize("auto", ["AutoModel", "AutoModelForMaskedLM"])
def test_transformers_refuses_an_export_missing_tensors(tmp_path, auto):
    """transformers alone would load it with random tensors and print a report; findna's
    classes refuse it, as findna's own loader does (issue 22)."""
    from safetensors.torch import load_file, save_file

    _export(tmp_path, CONFIGS["chordmixer-fixed"])
    weights = load_file(tmp_path / "model.safetensors")
    dropped = sorted(k for k in weights if k.startswith("backbone."))[:2]
    save_file(
        {k: v for k, v in weights.items() if k not in dropped}, tmp_path / "model.safetensors"
    )
    with pytest.raises(
        ValueError, match=rf"2 tensor\(s\) the network needs are missing .*{dropped[0]}"
    ):
        getattr(transformers, auto).from_pretrained(tmp_path)


def test_exports_and_classifiers_are_readable_as_the_umask_allows(tmp_path):
    """safetensors writes weights readable by their owner only (0600); another user of a shared
    machine could not load an export."""
    import os
    import stat

    from findna.model.classifier import ClassifierInfo, SequenceClassifier, save_classifier

    old = os.umask(0o022)
    try:
        net = _export(tmp_path / "export", CONFIGS["chordmixer-fixed"])
        model = SequenceClassifier(net, 2, "masked_mean", 0, "linear", 8)
        info = ClassifierInfo(
            task="t", num_classes=2, classes=["a", "b"], pooling="masked_mean", n_cls=0,
            max_len=40, metric="mcc", head_kind="linear", head_hidden=8, source_model="x", seed=0,
        )  # fmt: skip
        save_classifier(model, info, tmp_path / "clf")
    finally:
        os.umask(old)
    for path in (
        tmp_path / "export" / "model.safetensors",
        tmp_path / "clf" / "model.safetensors",
        tmp_path / "clf" / "head.safetensors",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_an_export_gives_findnas_embeddings_through_transformers_whatever_the_padding(tmp_path):
    """Issue 24 bug 1: an export records the length mode findna reads it in (length_aware), so
    AutoModel's masked-mean embeddings equal findna's, padded to the batch or to max_len."""
    import findna
    from findna.train.checkpoint import export_checkpoint

    legacy = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"
    export = export_checkpoint(legacy / "run" / "checkpoints" / "final.ckpt", tmp_path / "m")
    config = json.loads((export / "config.json").read_text())
    assert config["length_mode"] == "length_aware"
    seqs = ["ACGTTGCAACGGTA", "GATTACA", "TTGACCA" * 3]
    # findna sizes a network for its inputs; a network of the stored length is transformers'.
    expected = findna.embed(findna.load_model(export, max_len=config["max_len"]), seqs)
    tokenizer = transformers.AutoTokenizer.from_pretrained(export)
    model = transformers.AutoModel.from_pretrained(export).eval()
    for padding in (True, "max_length"):
        batch = tokenizer(
            seqs, padding=padding, max_length=tokenizer.model_max_length, return_tensors="pt"
        )
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"][..., None].float()
        got = (hidden * mask).sum(1) / mask.sum(1)
        torch.testing.assert_close(got, torch.from_numpy(expected), rtol=1e-4, atol=1e-5)
