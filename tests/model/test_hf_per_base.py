"""Per-base models through transformers (issue 23): a saved findna per-base model loads with
AutoModelForTokenClassification and its per-token argmax is `findna predict`'s label strings; the
loss skips -100 and findna's -1; a fresh token head on an export trains with `Trainer`."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

transformers = pytest.importorskip("transformers")

from findna.eval.predict import predict_file  # noqa: E402
from findna.model.classifier import (  # noqa: E402
    ClassifierInfo,
    TokenClassifier,
    batch_tensors,
    save_classifier,
)
from findna.model.config import ModelConfig  # noqa: E402
from findna.model.heads import ClassificationHead  # noqa: E402
from findna.model.hf import register  # noqa: E402
from findna.model.hf.remote import write_hf_files  # noqa: E402
from findna.model.inputs import encode_sequences  # noqa: E402
from findna.model.network import FinDNANetwork  # noqa: E402

SEQS = ["ACGTTGCAACGTTGCA", "GATTACA", "GGGCCCGCGCATAT", "TTTTAAAACCCGGGTTTA"]


@pytest.fixture(autouse=True, scope="module")
def registered():
    register()


def _saved(tmp_path, length_mode):
    torch.manual_seed(0)
    config = ModelConfig.tiny(max_len=24, hidden=8, n_layers=1, length_mode=length_mode)
    encoder = FinDNANetwork(config)
    head = ClassificationHead(encoder.config.width, 3)
    model = TokenClassifier(encoder, head).eval()
    x, n = batch_tensors(model, encode_sequences(SEQS))
    with torch.no_grad():  # centred on the mean state: the untrained head predicts every class
        mean = encoder.encode(x, n)[torch.arange(x.shape[1])[None] < n[:, None]].mean(0)
        head.net.weight.normal_(0.0, 3.0)
        head.net.bias.copy_(-head.net.weight @ mean)
    info = ClassifierInfo("synthetic/pb", 3, ["e", "i", "n"], "none", 0, 24, "mcc",
                          task_type="per_base")  # fmt: skip
    return save_classifier(model.eval(), info, tmp_path / length_mode)


@pytest.mark.parametrize("length_mode", ["length_aware", "fixed"])
def test_token_logits_argmax_is_findna_predicts_label_strings(tmp_path, length_mode):
    path = _saved(tmp_path, length_mode)
    model = transformers.AutoModelForTokenClassification.from_pretrained(path).eval()
    assert type(model).__name__ == "FinDNAForTokenClassification"
    assert model.config.id2label == {0: "e", 1: "i", 2: "n"} and model.config.num_labels == 3
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    batch = tokenizer(SEQS, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (4, max(map(len, SEQS)), 3)  # one row per input token, no CLS rows
    got = ["".join(model.config.id2label[int(k)] for k in row[: len(s)])
           for row, s in zip(logits.argmax(-1), SEQS, strict=True)]  # fmt: skip
    (tmp_path / "in.txt").write_text("\n".join(SEQS) + "\n")
    predict_file(path, tmp_path / "in.txt", tmp_path / "p.csv", device="cpu",
                 precision="32-true", per_base_probs_path=tmp_path / "p.npy")  # fmt: skip
    want = pd.read_csv(tmp_path / "p.csv", dtype=str)["predicted_labels"].tolist()
    assert got == want and len(set("".join(want))) > 1  # not a constant prediction
    probs = np.load(tmp_path / "p.npy")
    mine = np.concatenate([logits[i, : len(s)].softmax(-1).numpy() for i, s in enumerate(SEQS)])
    np.testing.assert_allclose(mine, probs, atol=1e-5)


def test_the_loss_skips_minus_100_and_findnas_minus_1(tmp_path):
    path = _saved(tmp_path, "length_aware")
    model = transformers.AutoModelForTokenClassification.from_pretrained(path).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    batch = tokenizer(SEQS[:2], padding=True, return_tensors="pt")
    labels = torch.tensor([[k % 3 for k in range(16)], [2] * 7 + [-100] * 9])
    findna_pad = labels.masked_fill(labels == -100, -1)
    findna_pad[0, 3] = -1  # an unscored base inside a sequence
    labels[0, 3] = -100
    with torch.no_grad():
        out = model(**batch, labels=labels)
        again = model(**batch, labels=findna_pad).loss
    keep = labels != -100
    want = torch.nn.functional.cross_entropy(out.logits[keep], labels[keep])
    torch.testing.assert_close(out.loss, want)
    torch.testing.assert_close(again, want)
    with pytest.raises(ValueError, match=r"labels \(2, 5\) must be \(batch, length\) like "
                       r"input_ids \(2, 16\)"):  # fmt: skip
        model(**batch, labels=labels[:, :5])


def _gc_rows(tokenizer, n=64, seed=0):
    """20-30 bp sequences; a base's label is 1 for G or C, else 0."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        s = "".join(rng.choice(list("ACGT"), int(rng.integers(20, 31))))
        rows.append({**tokenizer(s), "labels": [int(c in "GC") for c in s]})
    return rows


def test_trainer_fits_a_fresh_token_head_on_an_export(tmp_path):
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.tiny(max_len=40, length_mode="length_aware")).eval()
    net.save_pretrained(tmp_path / "export")
    write_hf_files(tmp_path / "export")
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "export")
    model = transformers.AutoModelForTokenClassification.from_pretrained(
        tmp_path / "export", num_labels=2
    )
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"),
        per_device_train_batch_size=16,
        num_train_epochs=4,
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
        train_dataset=_gc_rows(tokenizer),
        data_collator=transformers.DataCollatorForTokenClassification(tokenizer),
    )
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) >= 4 and np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), losses
    model.save_pretrained(tmp_path / "tuned")
    saved = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert saved["classifier"]["task_type"] == "per_base"
    again = transformers.AutoModelForTokenClassification.from_pretrained(tmp_path / "tuned")
    batch = tokenizer(SEQS, padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(**batch).logits, model.eval()(**batch).logits)


CHILD = """
import importlib.abc, os, re, sys
from pathlib import Path
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "findna":
            raise ImportError(name + " is blocked in this test")
sys.meta_path.insert(0, Block())
import torch
import transformers as tf
folder, out, seqs = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
kw = dict(trust_remote_code=True)
model = tf.AutoModelForTokenClassification.from_pretrained(folder, **kw).eval()
batch = tf.AutoTokenizer.from_pretrained(folder, **kw)(seqs, padding=True, return_tensors="pt")
with torch.no_grad():
    torch.save(model(**batch).logits, out)
text = (folder / "README.md").read_text()
block = [b for b in re.findall(r"```python\\n(.*?)```", text, re.S) if "transformers" in b][0]
os.chdir(folder.parent)
exec(block, {})
assert not [m for m in sys.modules if m.split(".")[0] == "findna"]
print("CHILD OK", type(model).__module__)
"""


def test_trust_remote_code_without_findna_gives_the_same_token_logits(tmp_path):
    import os
    import subprocess
    import sys

    path = _saved(tmp_path, "length_aware")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "HF_"))}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-I", "-c", CHILD, str(path), str(tmp_path / "o.pt"), *SEQS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CHILD OK transformers_modules." in done.stdout
    model = transformers.AutoModelForTokenClassification.from_pretrained(path).eval()
    batch = transformers.AutoTokenizer.from_pretrained(path)(
        SEQS, padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        torch.testing.assert_close(torch.load(tmp_path / "o.pt"), model(**batch).logits)
