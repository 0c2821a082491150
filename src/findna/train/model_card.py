"""The model card (``README.md``) of an exported network, from its checkpoint and run folder.

What it states and where it comes from:

- pretraining data: the genome files with sha256 and size, from the prepared genome's
  ``index.json`` (``data.prepared_dir``, else ``RUN/genome``, else a prepared ``data.genome``);
  when none is found (the run folder moved without it) the configured paths, marked unverified;
- steps and the resolved config: the checkpoint (``global_step``, ``findna.config``);
- held-out MNM accuracy: the metrics the run passes at export, else ``RUN/summary.json``;
- benchmark results: not included. Benchmarks run after export (``findna benchmark``) and their
  reports live in their own folders; the card says so rather than guess.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from findna.data.genome import INDEX_FILE
from findna.model.hf.card import (
    NOT_CLINICAL,
    Card,
    architecture_table,
    licence_section,
    model_ref_line,
    padding_kwargs,
    snippet,
)
from findna.model.network import FinDNANetwork


def run_folder(ckpt_path: str | Path) -> Path | None:
    """``RUN`` for ``RUN/checkpoints/NAME.ckpt``, else None."""
    path = Path(ckpt_path).resolve()
    return path.parent.parent if path.parent.name == "checkpoints" else None


def genome_sources(data: Mapping[str, Any], run_dir: Path | None) -> list[dict[str, Any]] | None:
    """The source files (name, sha256, size) of the prepared genome a run trained on, or None."""
    candidates = [data.get("prepared_dir"), run_dir / "genome" if run_dir else None]
    candidates += [p.strip() for p in str(data.get("genome", "")).split(",")]
    for folder in (Path(c) for c in candidates if c):
        index = folder / INDEX_FILE
        if index.is_file():
            try:
                return list(json.loads(index.read_text()).get("sources", []))
            except (json.JSONDecodeError, AttributeError):
                continue
    return None


def run_metrics(run_dir: Path | None) -> dict[str, Any]:
    """``RUN/summary.json``, or {} when there is none."""
    path = run_dir / "summary.json" if run_dir else None
    if path is None or not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError, ValueError):
        return {}


def _data_section(data: Mapping[str, Any], sources: list[dict[str, Any]] | None) -> str:
    windows = data.get("windows", {})
    if sources:
        rows = "".join(f"| {s['name']} | `{s['sha256']}` | {s['size']:,} |\n" for s in sources)
        files = "| genome file | sha256 | bytes |\n|---|---|---|\n" + rows
    else:
        files = (
            f"`{data.get('genome')}` (checksums not recorded: the prepared genome index was not "
            "found beside the checkpoint at export time)\n"
        )
    held = windows.get("holdout_region") or ", ".join(windows.get("holdout_records", ())) or "none"
    return (
        files + f"\nTraining windows: {windows.get('num_windows')} windows of "
        f"{windows.get('window_length')} bp (seed {windows.get('seed')}); held out for "
        f"validation: {held} ({data.get('val_windows')} windows)."
    )


def _eval_section(metrics: Mapping[str, Any]) -> str:
    acc, base = metrics.get("val/mnm_acc"), metrics.get("val/base_freq_acc")
    if not metrics:
        line = "Held-out MNM accuracy: not recorded (no summary.json beside the checkpoint)."
    elif acc is None:
        line = "Held-out MNM accuracy: not measured (validation was off for this run)."
    else:
        line = f"Held-out MNM accuracy (masked positions of the held-out windows): {acc:.4f}"
        line += f" (base-frequency baseline {base:.4f})." if base is not None else "."
    return (
        line + "\n\nBenchmark results: not included. Benchmarks run after export "
        "(`findna benchmark`) and are reported in their own folders; they are not known when "
        "this card is written."
    )


def _usage(net: FinDNANetwork, model_ref: str) -> str:
    seqs = ["ACGTTGCAACGTTGCA", "GATTACA"]
    hf = snippet(
        [
            model_ref_line(model_ref),
            "import torch",
            "from transformers import AutoModelForMaskedLM, AutoTokenizer",
            "",
            "# With findna installed, findna.model.hf.register() makes trust_remote_code unneeded.",
            "tokenizer = AutoTokenizer.from_pretrained(MODEL, trust_remote_code=True)",
            "model = AutoModelForMaskedLM.from_pretrained(MODEL, trust_remote_code=True).eval()",
            f'batch = tokenizer({seqs!r}, {padding_kwargs(net)}, return_tensors="pt")',
            "with torch.no_grad():",
            "    out = model(**batch, output_hidden_states=True)",
            "embeddings = out.hidden_states[-1]  # (2, L, d) per-token embeddings",
            "probs = out.logits.softmax(-1)  # (2, L, 5) over A, C, G, T, N",
            "print(embeddings.shape, probs.shape)",
        ]
    )
    native = snippet(
        [
            model_ref_line(model_ref),
            "from findna import api",
            "",
            f"features = api.embed(MODEL, {seqs!r})  # (2, d): mean over each sequence's tokens",
            "print(features.shape)",
        ]
    )
    return "With transformers (findna not needed):\n\n" + hf + "\nWith findna:\n\n" + native


def export_card(
    ckpt: Mapping[str, Any],
    ckpt_path: str | Path,
    net: FinDNANetwork,
    which: str,
    model_ref: str,
    metrics: Mapping[str, Any] | None = None,
) -> str:
    """README.md of an export of ``net`` (the ``which`` network of ``ckpt``)."""
    run_dir = run_folder(ckpt_path)
    config = ckpt["findna"]["config"]
    data, variant = config.get("data", {}), config.get("ssl", {}).get("variant", "findna")
    metrics = dict(metrics) if metrics is not None else run_metrics(run_dir)
    steps = metrics.get("global_step", ckpt.get("global_step"))
    sources = genome_sources(data, run_dir)
    trained_on = ", ".join(s["name"] for s in sources) if sources else str(data.get("genome"))
    objective = "MNM + self-distillation" if variant == "findna" else "masked nucleotide modelling"
    config_text = yaml.safe_dump(config, sort_keys=False)
    model = architecture_table(net) + (
        "\nInput: one-hot A, C, G, T, N; padding, the mask token and CLS tokens are all-zero rows "
        "(`[PAD]`, `[MASK]`, `[CLS]` in the tokenizer)."
    )
    training = (
        f"{steps} optimiser steps (world size {ckpt['findna'].get('world_size', 1)}). The "
        "resolved config:\n\n<details><summary>config.yaml</summary>\n\n"
        f"```yaml\n{config_text}```\n\n</details>"
    )
    intended_use = (
        "Research on DNA sequence representations: embeddings for probes, a starting point for "
        "fine-tuning (`findna finetune`), masked-nucleotide prediction. " + NOT_CLINICAL
    )
    limitations = (
        f"Trained on {trained_on} only (the findna demo: hg19 chrX 1-70 Mb), so other "
        "chromosomes, genomes and species are untested. Inputs hold at most "
        f"{net.config.max_len} tokens; a `fixed`-mode ChordMixer gives outputs that depend on the "
        "padded length, so pad to `max_len` as the snippet does. The training windows are a small "
        "sample; quality is far below published models."
    )
    card = Card(
        title=f"FinDNA {net.config.backbone} ({which} of run `{run_dir.name if run_dir else '?'}`)",
        lead=(
            f"A DNA sequence model pretrained by findna ({objective}, `ssl.variant: {variant}`) "
            f"for {steps} steps on {trained_on}. It gives per-token embeddings and, from its "
            "masked-nucleotide (MNM) head, per-token logits over A, C, G, T, N."
        ),
        sections=[
            ("Model", model),
            ("Pretraining data", _data_section(data, sources)),
            ("Training", training),
            ("Evaluation", _eval_section(metrics)),
            ("Intended use", intended_use),
            ("Limitations", limitations),
            ("Usage", _usage(net, model_ref)),
            ("Licence", licence_section()),
        ],
    )
    return card.render()


__all__ = ["export_card", "genome_sources", "run_folder", "run_metrics"]
