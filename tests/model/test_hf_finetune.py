"""Fine-tuning a findna export through transformers: a fresh head on the pretrained network
(issue 24), trained with transformers' Trainer, saved and loaded again."""

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # transformers' Trainer needs it

from findna.model.config import ModelConfig  # noqa: E402
from findna.model.hf import register  # noqa: E402
from findna.model.hf.modeling_findna import FRESH_HEAD  # noqa: E402
from findna.model.hf.remote import write_hf_files  # noqa: E402
from findna.model.network import FinDNANetwork  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def registered():
    register()


@pytest.fixture
def export(tmp_path):
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.tiny(max_len=40, length_mode="length_aware")).eval()
    net.save_pretrained(tmp_path / "export")
    write_hf_files(tmp_path / "export")
    return tmp_path / "export", net


def _gc_data(n: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """GC-rich (1) versus AT-rich (0) sequences of 20-30 bp."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        p = [0.1, 0.4, 0.4, 0.1] if i % 2 else [0.4, 0.1, 0.1, 0.4]
        seqs.append("".join(rng.choice(list("ACGT"), int(rng.integers(20, 31)), p=p)))
        labels.append(i % 2)
    return seqs, labels


def test_a_pretrained_export_gets_a_fresh_head_on_its_weights(export):
    path, net = export
    torch.manual_seed(1)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path, num_labels=3)
    assert model.config.classifier == FRESH_HEAD and model.config.num_labels == 3
    head = dict(model.classifier.named_parameters())
    assert all(torch.isfinite(p).all() and p.std() > 0 for n, p in head.items() if "weight" in n)
    for name, tensor in net.state_dict().items():  # the encoder is the export's, unchanged
        if not name.startswith("head."):
            torch.testing.assert_close(model.state_dict()[name], tensor, rtol=0, atol=0)
    torch.manual_seed(1)
    again = transformers.AutoModelForSequenceClassification.from_pretrained(path, num_labels=3)
    for name, tensor in again.classifier.state_dict().items():  # seeded by the global RNG
        torch.testing.assert_close(model.classifier.state_dict()[name], tensor, rtol=0, atol=0)


def test_trainer_fine_tunes_an_export_and_the_result_reloads(export, tmp_path):
    path, _ = export
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    seqs, labels = _gc_data(64)
    rows = [
        {**tokenizer(s), "labels": y} for s, y in zip(seqs, labels, strict=True)
    ]  # a list of dicts is a Dataset for Trainer
    torch.manual_seed(0)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"),
        per_device_train_batch_size=16,
        num_train_epochs=6,
        learning_rate=3e-3,
        logging_steps=4,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    collator = transformers.DataCollatorWithPadding(tokenizer)
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=rows, data_collator=collator
    )
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) >= 4 and np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), losses
    model.save_pretrained(tmp_path / "tuned")
    reloaded = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "tuned")
    batch = tokenizer(seqs[:8], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(reloaded.eval()(**batch).logits, model.eval()(**batch).logits)


@pytest.mark.parametrize(
    "num_labels, labels, expected",
    [
        (1, torch.tensor([0.5, -1.0]), "regression"),
        (3, torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]), "multi_label_classification"),
        (3, torch.tensor([2, 0]), "single_label_classification"),
    ],
)
def test_the_loss_follows_the_problem_type(export, num_labels, labels, expected):
    path, _ = export
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=num_labels
    )
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    batch = tokenizer(["ACGTACGTAC", "GGCCGGCCAA"], padding=True, return_tensors="pt")
    out = model(**batch, labels=labels)
    assert model.config.problem_type == expected
    logits = out.logits.float()
    if expected == "regression":
        want = torch.nn.functional.mse_loss(logits.squeeze(-1), labels)
    elif expected == "multi_label_classification":
        want = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    else:
        want = torch.nn.functional.cross_entropy(logits, labels)
    torch.testing.assert_close(out.loss, want)
