"""Model cards (``README.md``) that findna writes into exports and classifier folders.

They replace the stock card of ``huggingface_hub`` ("[More Information Needed]"). A card is a
YAML front matter (Hub metadata) and Markdown sections; its usage snippets are runnable Python
blocks (tests execute them against the folder, from the folder above it). The export card (run
data, config, held-out accuracy) is assembled in :mod:`findna.train.model_card`; this module has
the parts every card shares and the classifier card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from findna.model.network import FinDNANetwork, count_parameters
from findna.version import __version__

LICENSE = "mit"
"""The licence of findna (pyproject.toml)."""

NOT_CLINICAL = (
    "Research use only: not validated for clinical or diagnostic use, and not a substitute for "
    "laboratory or expert judgement."
)


@dataclass
class Card:
    """A model card: Hub metadata, a title, a lead paragraph and titled Markdown sections."""

    title: str
    lead: str
    sections: list[tuple[str, str]] = field(default_factory=list)
    pipeline_tag: str = "fill-mask"
    tags: Sequence[str] = ("dna", "genomics", "chordmixer", "self-distillation", "findna")

    def render(self) -> str:
        """The README.md text."""
        tags = "".join(f"- {t}\n" for t in self.tags)
        head = (
            f"---\nlibrary_name: findna\nlicense: {LICENSE}\npipeline_tag: {self.pipeline_tag}\n"
            f"tags:\n{tags}---\n\n# {self.title}\n\n{self.lead}\n"
        )
        body = "".join(f"\n## {name}\n\n{text.strip()}\n" for name, text in self.sections)
        return head + body


def architecture_table(net: FinDNANetwork) -> str:
    """Markdown table of the network's shape and size."""
    cfg = net.config
    rows = [("backbone", cfg.backbone), ("width d", cfg.width), ("layers", cfg.n_layers)]
    if cfg.backbone == "chordmixer":
        rows += [
            ("blocks per layer", cfg.n_blocks_per_layer),
            ("track size", cfg.track_size),
            ("length mode", cfg.length_mode),
        ]
    else:
        rows += [("heads", cfg.n_heads), ("positions", cfg.positional)]
    rows += [
        ("MLP hidden", cfg.hidden),
        ("max_len (tokens, CLS included)", cfg.max_len),
        ("parameters", f"{count_parameters(net):,}"),
    ]
    return "| | |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)


def padding_kwargs(net: FinDNANetwork) -> str:
    """Tokenizer padding arguments that reproduce findna's batching for this network."""
    if net.config.backbone == "chordmixer" and net.config.length_mode == "fixed":
        # A fixed-mode ChordMixer rotates modulo the padded length; findna pads to max_len.
        return 'padding="max_length", max_length=tokenizer.model_max_length'
    return "padding=True"


def snippet(lines: Sequence[str]) -> str:
    """A fenced Python block."""
    return "```python\n" + "\n".join(lines) + "\n```\n"


def model_ref_line(model_ref: str) -> str:
    """The first line of every snippet: where the folder is."""
    return f'MODEL = "{model_ref}"  # this folder (run from the folder above it), or its Hub id'


def licence_section() -> str:
    """The licence paragraph."""
    return (
        f"findna is released under the MIT licence (findna {__version__}). The weights "
        "were computed by findna from the data named above; check the terms of that data "
        "before redistributing them."
    )


_KIND_TEXT = {
    "classification": (
        "classes",
        "probs = model.eval()(**batch).logits.softmax(-1)  # (N, classes)",
        "print([model.config.id2label[int(i)] for i in probs.argmax(-1)])",
        "(N, classes), rows sum to 1",
        "classes",
    ),
    "regression": (
        "targets",
        "values = model.eval()(**batch).logits  # (N, targets), in the targets' units",
        "print(values)",
        "(N, targets), in the targets' units",
        "targets",
    ),
    "multilabel": (
        "labels",
        "probs = model.eval()(**batch).logits.sigmoid()  # (N, labels)",
        "print([[model.config.id2label[j] for j in range(len(p)) if p[j] >= 0.5] for p in probs])",
        "(N, labels), each label's probability",
        "labels",
    ),
    "per_base": (
        "classes",
        "probs = model.eval()(**batch).logits.softmax(-1)  # (N, L, classes)",
        "print([''.join(model.config.id2label[int(i)] for i in row[:n]) for row, n in "
        "zip(probs.argmax(-1), batch['attention_mask'].sum(-1))])",
        "N arrays (L_i, classes): each base's class probabilities",
        "class of each base",
    ),
}
"""Per task type: the outputs' noun, the transformers snippet's read and print lines, the
findna snippet's note and what the model predicts."""


def classifier_card(
    net: FinDNANetwork, info: Mapping[str, Any], model_ref: str, seqs: Sequence[str] = ()
) -> str:
    """The card of a fine-tuned classifier (``task.json`` fields in ``info``)."""
    seqs = list(seqs) or ["ACGTTGCAACGTTGCA", "GATTACA"]
    classes = ", ".join(f"`{c}`" for c in info["classes"])
    kind = info.get("task_type", "classification")
    outputs, read, show, api_note, verb = _KIND_TEXT[kind]
    kind_word = "" if kind == "classification" else f"{kind.replace('_', '-')} "
    auto = "AutoModelForTokenClassification" if kind == "per_base" else None
    auto = auto or "AutoModelForSequenceClassification"
    from_pretrained = "from_pretrained(MODEL, trust_remote_code=True)"
    usage_tf = snippet(
        [
            model_ref_line(model_ref),
            "import torch",
            f"from transformers import {auto}, AutoTokenizer",
            "",
            "# With findna installed, findna.model.hf.register() makes trust_remote_code unneeded.",
            f"tokenizer = AutoTokenizer.{from_pretrained}",
            f"model = {auto}.{from_pretrained}",
            f'batch = tokenizer({seqs!r}, padding=True, return_tensors="pt")',
            "with torch.no_grad():",
            f"    {read}",
            show,
        ]
    )
    usage_findna = snippet(
        [
            model_ref_line(model_ref),
            "from findna import api",
            "",
            f"out = api.predict(MODEL, {seqs!r})  # {api_note}",
            "print(out)",
        ]
    )
    card = Card(
        title=f"findna classifier: {info['task']}",
        lead=(
            f"A findna network fine-tuned on the {kind_word}task `{info['task']}` "
            f"({info['num_classes']} {outputs}: {classes}), from "
            f"`{info.get('source_model') or 'unknown'}`, seed "
            f"{info.get('seed', 0)}, findna {info.get('findna_version', __version__)}."
        ),
        pipeline_tag="token-classification" if kind == "per_base" else "text-classification",
        sections=[
            (
                "Model",
                architecture_table(net)
                + (
                    (
                        f"\nA {info['head_kind']} head on every token state (a class per base, "
                        "no pooling, no CLS rows). The "
                    )
                    if kind == "per_base"
                    else f"\nPooling `{info['pooling']}` over the token states ({info['n_cls']} "
                    f"CLS rows appended after each sequence), then a {info['head_kind']} head. The "
                )
                + (
                    f"primary metric of the task is `{info['metric']}`. Its test scores are in the "
                    "fine-tuning report (`findna finetune` writes them beside this folder); they "
                    "are not copied here."
                ),
            ),
            (
                "Intended use",
                (
                    f"Predicting the {verb} of `{info['task']}` for DNA sequences like its "
                    f"training data, at most {info['max_len'] - info['n_cls']} bp. {NOT_CLINICAL}"
                ),
            ),
            (
                "Limitations",
                (
                    "Valid only for sequences from the distribution of the task's data; longer "
                    "inputs are refused. The encoder inherits the limits of its pretraining data "
                    "(see the model card of the pretrained source)."
                ),
            ),
            (
                "Usage",
                "With transformers (findna not needed):\n\n"
                + usage_tf
                + "\nWith findna:\n\n"
                + usage_findna,
            ),
            ("Licence", licence_section()),
        ],
    )
    return card.render()


__all__ = [
    "NOT_CLINICAL",
    "Card",
    "architecture_table",
    "classifier_card",
    "licence_section",
    "model_ref_line",
    "padding_kwargs",
    "snippet",
]
