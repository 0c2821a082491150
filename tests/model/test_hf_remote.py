"""Exported folders on a machine without findna (trust_remote_code), and their model cards.

The child processes run with findna made unimportable (a ``sys.meta_path`` finder refuses it,
since the venv also has findna installed in editable mode) and in isolated mode (``-I``: no
PYTHONPATH, no current directory on ``sys.path``); their outputs are compared here with
findna's own network and classifier.
"""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import findna
from findna.data.alphabet import encode, one_hot
from findna.model.classifier import (
    ClassifierInfo,
    SequenceClassifier,
    batch_tensors,
    load_classifier,
    save_classifier,
)
from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork
from findna.train.checkpoint import export_checkpoint

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"
SEQS = ["ACGTNACGTAGGCT", "gattaca", "TTTTRYAC"]

BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {blocked!r}:
            raise ImportError(name + " is blocked in this test")
sys.meta_path.insert(0, Block())
"""

CHILD = (
    BLOCK.format(blocked="findna")
    + """
import os, re
from pathlib import Path
import torch
import transformers as tf
try:
    import findna
    raise SystemExit("findna is importable in the child")
except ImportError:
    pass
export, clf, out, seqs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
kw = dict(trust_remote_code=True)
tok = tf.AutoTokenizer.from_pretrained(export, **kw)
batch = tok(seqs, padding="max_length", max_length=tok.model_max_length, return_tensors="pt")
with torch.no_grad():
    mlm = tf.AutoModelForMaskedLM.from_pretrained(export, **kw).eval()
    mlm = mlm(**batch, output_hidden_states=True)
    base = tf.AutoModel.from_pretrained(export, **kw).eval()(**batch)
    clf_model = tf.AutoModelForSequenceClassification.from_pretrained(clf, **kw).eval()
    clf_tok = tf.AutoTokenizer.from_pretrained(clf, **kw)
    logits = clf_model(**clf_tok(seqs, padding=True, return_tensors="pt")).logits
torch.save({"ids": batch["input_ids"], "mask": batch["attention_mask"], "logits": mlm.logits,
            "states": mlm.hidden_states, "hidden": base.last_hidden_state, "clf": logits}, out)
# The transformers snippet of each card runs too, from the folder above the model folder.
for folder in (export, clf):
    text = (folder / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\\n(.*?)```", text, re.S) if "transformers" in b]
    assert blocks, folder
    os.chdir(folder.parent)
    exec(blocks[0], {})
assert not [m for m in sys.modules if m.split(".")[0] == "findna"]
print("CHILD OK", type(clf_model).__module__)
"""
)


def _python_blocks(card: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", card, re.S)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A findna export (of the legacy run's teacher) and a saved classifier."""
    tmp = tmp_path_factory.mktemp("hf")
    export = export_checkpoint(LEGACY / "run" / "checkpoints" / "final.ckpt", tmp / "model")
    torch.manual_seed(1)
    cfg = ModelConfig.tiny(hidden=8, n_layers=1, max_len=32)
    clf = SequenceClassifier(FinDNANetwork(cfg), 2, "mean+cls", 2).eval()
    info = ClassifierInfo("synthetic/two", 2, ["no", "yes"], "mean+cls", 2, 32, "mcc")
    save_classifier(clf, info, tmp / "classifier")
    return export, tmp / "classifier"


def test_trust_remote_code_without_findna_gives_findnas_outputs(folders, tmp_path):
    pytest.importorskip("transformers")
    export, clf_dir = folders
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "HF_"))}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    out = tmp_path / "out.pt"
    done = subprocess.run(
        [sys.executable, "-I", "-c", CHILD, str(export), str(clf_dir), str(out), *SEQS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CHILD OK transformers_modules." in done.stdout
    got = torch.load(out)
    net = FinDNANetwork.from_pretrained(export).eval()
    with torch.no_grad():
        expected = net(one_hot(got["ids"].clamp(max=5)), got["mask"].sum(-1))
        clf, _ = load_classifier(clf_dir)
        expected_clf = clf(*batch_tensors(clf, [encode(s) for s in SEQS]))
    torch.testing.assert_close(got["logits"], expected.logits)
    torch.testing.assert_close(got["hidden"], expected.hidden)
    torch.testing.assert_close(got["states"][-1], expected.hidden)
    torch.testing.assert_close(got["clf"], expected_clf)


def test_export_card_is_filled_in_and_its_findna_snippet_runs(folders, monkeypatch, capsys):
    export, _ = folders
    card = (export / "README.md").read_text()
    assert "More Information Needed" not in card
    assert "license: mit" in card and "not validated for clinical" in card
    assert "2 optimiser steps" in card and "```yaml\ndata:" in card
    # The legacy run's prepared genome, when it is still on this machine, gives sha256s.
    assert re.search(r"\| g\.fa \| `[0-9a-f]{64}` \|", card) or "checksums not recorded" in card
    assert "Held-out MNM accuracy: not recorded" in card  # the fixture has no summary.json
    blocks = _python_blocks(card)
    assert len(blocks) == 2 and 'MODEL = "model"' in blocks[0]
    monkeypatch.chdir(export.parent)
    exec(next(b for b in blocks if "from findna import api" in b), {})
    assert "(2, 28)" in capsys.readouterr().out


def test_classifier_card_snippet_runs(folders, monkeypatch, capsys):
    _, clf_dir = folders
    card = (clf_dir / "README.md").read_text()
    assert "More Information Needed" not in card and "synthetic/two" in card
    monkeypatch.chdir(clf_dir.parent)
    exec(next(b for b in _python_blocks(card) if "from findna import api" in b), {})
    assert "[[" in capsys.readouterr().out  # the (N, 2) probabilities


def test_held_out_accuracy_comes_from_the_run_metrics(tmp_path):
    metrics = {"global_step": 7, "val/mnm_acc": 0.4321, "val/base_freq_acc": 0.3}
    out = export_checkpoint(
        LEGACY / "run" / "checkpoints" / "final.ckpt", tmp_path / "m", metrics=metrics
    )
    card = (out / "README.md").read_text()
    assert "0.4321 (base-frequency baseline 0.3000)" in card and "7 optimiser steps" in card


NO_TRANSFORMERS = (
    BLOCK.format(blocked="transformers")
    + """
from pathlib import Path
import torch
import findna.train.model_card
from findna.model.classifier import ClassifierInfo, SequenceClassifier
from findna.model.classifier import load_classifier, save_classifier
from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork
net = FinDNANetwork(ModelConfig.tiny(hidden=8, n_layers=1, max_len=32))
info = ClassifierInfo("synthetic/two", 2, ["no", "yes"], "masked_mean", 0, 32, "mcc")
out = save_classifier(SequenceClassifier(net, 2), info, Path(sys.argv[1]) / "clf")
load_classifier(out)
assert (out / "modeling_findna.py").is_file() and (out / "README.md").is_file()
assert "transformers" not in sys.modules
print("NO TRANSFORMERS OK")
"""
)


def test_saving_and_loading_work_without_transformers(tmp_path):
    # Exports go through findna.train, which imports Lightning, whose torchmetrics imports
    # transformers whenever it is installed; the files they write are those checked here.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", NO_TRANSFORMERS, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "NO TRANSFORMERS OK" in done.stdout


TRANSFORMERS_USERS = {
    "findna.model.hf",  # register(), inside the function
    "findna.model.hf.configuration_findna",
    "findna.model.hf.modeling_findna",
    "findna.model.hf.modeling_findna_token",
    "findna.model.hf.tokenization_findna",
    "findna.perf.peers",  # findna bench compare, inside functions
}


def test_only_the_hf_modules_import_transformers():
    src = Path(findna.__file__).parent
    users, importers_of_hf = set(), set()
    for path in src.rglob("*.py"):
        parts = path.relative_to(src.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(n.split(".")[0] == "transformers" for n in names):
                users.add(module)
            if any(n.endswith("_findna") for n in names) and not module.startswith(
                "findna.model.hf"
            ):
                importers_of_hf.add(module)
    assert users == TRANSFORMERS_USERS
    assert not importers_of_hf, "these import the transformers classes: " + str(importers_of_hf)
