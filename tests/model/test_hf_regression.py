"""Regression and multi-label models through transformers (issue 23): a saved findna model loads
with its head and gives `findna predict`'s values (regression: in the targets' units) and
probabilities; a fresh regression or multi-label head on an export trains with `Trainer`."""

import json
import re

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

from findna import api  # noqa: E402
from findna.model.classifier import ClassifierInfo, SequenceClassifier, save_classifier  # noqa: E402
from findna.model.config import ModelConfig  # noqa: E402
from findna.model.hf import register  # noqa: E402
from findna.model.hf.remote import write_hf_files  # noqa: E402
from findna.model.network import FinDNANetwork, model_config_from_json  # noqa: E402

SEQS = ["ACGTTGCAACGTTGCA", "GATTACA", "GGGCCCGCGCATAT", "TTTTAAAACCCGGGTTTA"]


@pytest.fixture(autouse=True, scope="module")
def registered():
    register()


def _saved(tmp_path, task_type, names, **scale):
    torch.manual_seed(0)
    config = ModelConfig.tiny(max_len=24, hidden=8, n_layers=1, length_mode="length_aware")
    model = SequenceClassifier(FinDNANetwork(config), len(names), "mean+cls", n_cls=2)
    info = ClassifierInfo("synthetic/t", len(names), list(names), "mean+cls", 2, 24, "pearson",
                          task_type=task_type, **scale)  # fmt: skip
    return save_classifier(model.eval(), info, tmp_path / task_type)


def test_a_regression_model_gives_findnas_values_in_the_targets_units(tmp_path):
    mean, std = [5.0, -2.0], [3.0, 0.25]
    path = _saved(tmp_path, "regression", ["gc", "length"], target_mean=mean, target_std=std)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path).eval()
    assert model.config.problem_type == "regression" and model.config.num_labels == 2
    assert model.config.id2label == {0: "gc", 1: "length"}
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    batch = tokenizer(SEQS, padding=True, return_tensors="pt")
    with torch.no_grad():
        values = model(**batch).logits.double().numpy()
    want = api.predict(path, SEQS, device="cpu", precision="32-true")
    np.testing.assert_allclose(values, want, rtol=1e-5, atol=1e-5)
    assert np.abs(want - np.array(mean)).max() < 10 * max(std)  # in the targets' units
    labels = torch.tensor(want, dtype=torch.float32)  # the loss is on the same scale
    with torch.no_grad():
        assert float(model(**batch, labels=labels).loss) < 1e-8


def test_a_multi_label_model_gives_findnas_probabilities(tmp_path):
    path = _saved(tmp_path, "multilabel", ["a", "b", "c"])
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path).eval()
    assert model.config.problem_type == "multi_label_classification"
    config = json.loads((path / "config.json").read_text())
    assert config["classifier"]["task_type"] == "multilabel" and "target_mean" not in config[
        "classifier"]  # fmt: skip
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    batch = tokenizer(SEQS, padding=True, return_tensors="pt")
    with torch.no_grad():
        probs = model(**batch).logits.sigmoid().double().numpy()
    want = api.predict(path, SEQS, device="cpu", precision="32-true")
    np.testing.assert_allclose(probs, want, rtol=1e-5, atol=1e-6)


def _gc_rows(tokenizer, problem_type, n=64, seed=0):
    """20-30 bp sequences; targets: GC fraction and length/30 (regression), or GC-rich and
    longer than 25 bp (multi-label)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        p = [0.1, 0.4, 0.4, 0.1] if i % 2 else [0.4, 0.1, 0.1, 0.4]
        s = "".join(rng.choice(list("ACGT"), int(rng.integers(20, 31)), p=p))
        gc = sum(c in "GC" for c in s) / len(s)
        if problem_type == "regression":
            y = [gc * 4, len(s) / 30]
        else:
            y = [float(gc > 0.5), float(len(s) > 25)]
        rows.append({**tokenizer(s), "labels": y})
    return rows


@pytest.mark.parametrize("problem_type", ["regression", "multi_label_classification"])
def test_trainer_fits_a_fresh_regression_or_multi_label_head(tmp_path, problem_type):
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.tiny(max_len=40, length_mode="length_aware")).eval()
    net.save_pretrained(tmp_path / "export")
    write_hf_files(tmp_path / "export")
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "export")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        tmp_path / "export", num_labels=2, problem_type=problem_type
    )
    assert model.config.problem_type == problem_type
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"),
        per_device_train_batch_size=16,
        num_train_epochs=5,
        learning_rate=3e-3,
        logging_steps=4,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=_gc_rows(tokenizer, problem_type),
        data_collator=transformers.DataCollatorWithPadding(tokenizer),
    )
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) >= 4 and np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), losses
    model.save_pretrained(tmp_path / "tuned")
    again = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "tuned")
    assert again.config.problem_type == problem_type
    saved = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert saved["problem_type"] == problem_type
    assert model_config_from_json(saved) == net.config  # findna sets the HF keys aside
    batch = tokenizer(SEQS, padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(**batch).logits, model.eval()(**batch).logits)


def test_the_cards_of_regression_and_multi_label_models_run_and_agree(tmp_path, monkeypatch):
    reg = _saved(tmp_path, "regression", ["gc", "length"], target_mean=[5.0, -2.0],
                 target_std=[3.0, 0.25])  # fmt: skip
    ml = _saved(tmp_path, "multilabel", ["a", "b", "c"])
    monkeypatch.chdir(tmp_path)
    for path, outputs, hf_name in ((reg, "2 targets", "values"), (ml, "3 labels", "probs")):
        card = (path / "README.md").read_text()
        assert f"task `synthetic/t` ({outputs}:" in card
        blocks = re.findall(r"```python\n(.*?)```", card, re.S)
        assert len(blocks) == 2
        hf, ours = {}, {}
        exec(blocks[0], hf)  # transformers, trust_remote_code: the folder's own copy of the code
        exec(blocks[1], ours)  # findna.api.predict
        # The findna snippet runs at precision "auto" (bf16 where the CPU makes it the faster),
        # so the agreement is checked loosely here; the tests above check 1e-5 at 32-true.
        np.testing.assert_allclose(hf[hf_name].double().numpy(), ours["out"], rtol=2e-2, atol=2e-2)
