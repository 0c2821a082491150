"""What lies under the data root: each task's data files, and the text of ``findna data list``
and ``findna data info``.

``format_listing`` is fast (it counts lines, it encodes nothing); ``format_info`` loads one task
with its split protocol, or summarises one genome with :func:`findna.data.genome.genome_summary`.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from findna.data.near_duplicates import NEAR_RULE, near_duplicate_leaks
from findna.data.root import data_root
from findna.data.splits import PROTOCOLS
from findna.data.tasks import TASKS, TaskData, TaskSpec, load_task, task_paths, task_root
from findna.data.user_layouts import UserTaskOptions
from findna.data.user_tasks import is_task_path, resolve_task

GENOME_DIR = "genomes"


def task_files(spec: TaskSpec, root: str | Path | None = None) -> list[Path]:
    """The data paths of a task: its ``files`` (files or class folders), its ``class_files``
    and its genome, resolved against ``root``.

    Args:
        spec: the task.
        root: the data root relative paths are resolved against; None uses
            :func:`findna.data.root.data_root` (only looked up when some path is relative).
    """
    base = task_root(spec, root)
    return [Path(p) if base is None else base / p for p in task_paths(spec)]


def data_files(spec: TaskSpec, root: str | Path | None) -> list[Path]:
    """Every data file of a task (folders expanded), for provenance checksums.

    Args:
        spec: the task.
        root: the data root the task was loaded with (``TaskData.root``); None: see
            :func:`task_files`.
    """
    out: list[Path] = []
    for p in task_files(spec, root):
        out += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    return list(dict.fromkeys(out))  # one table may hold every split


def is_available(spec: TaskSpec, root: str | Path | None = None) -> bool:
    """Whether every data path of ``spec`` exists under the data root."""
    return all(p.exists() for p in task_files(spec, root))


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


def count_data_rows(path: Path) -> int:
    """Lines after the header line of a text table (plain or gzip), without parsing."""
    opener = gzip.open if path.suffix == ".gz" else open
    lines, last = 0, b"\n"
    with opener(path, "rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"
    return max(lines - 1, 0)


def genome_files(root: Path) -> list[Path]:
    """Files under ``<root>/genomes`` (sorted by name)."""
    folder = root / GENOME_DIR
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def _file_rows(spec: TaskSpec, root: Path, cache: dict[tuple[Path, str], Any]) -> str:
    if spec.format != "table":
        return f"{spec.format} layout"
    parts = []
    for role, rel in spec.files.items():
        path = root / rel
        if not path.is_file():
            parts.append(f"{role} MISSING")
            continue
        if spec.task_value is None:
            n = count_data_rows(path)
        else:
            key = (path, "task")
            if key not in cache:
                sep = "\t" if ".tsv" in path.suffixes else ","
                cache[key] = pd.read_csv(path, sep=sep, usecols=["task"], dtype=str)[
                    "task"
                ].value_counts()
            n = int(cache[key].get(spec.task_value, 0))
        parts.append(f"{role} {n}")
    return ", ".join(parts)


def format_listing(root: str | Path | None = None) -> str:
    """Every genome file (name, size) and every registered task (suite, rows per file, protocol)."""
    root = Path(root) if root is not None else data_root()
    out = [f"data root: {root}", "", f"genomes ({GENOME_DIR}/):"]
    genomes = genome_files(root)
    if genomes:
        out += _table([[p.name, _size(p.stat().st_size)] for p in genomes])
    else:
        out.append("  (none)")
    out += ["", f"tasks ({len(TASKS)}; data rows per source file; `findna data info NAME`):"]
    cache: dict[tuple[Path, str], Any] = {}
    rows = [["name", "suite", "rows per file", "protocol"]]
    rows += [[s.name, s.suite, _file_rows(s, root, cache), s.protocol] for s in TASKS.values()]
    out += _table(rows)
    out += ["", "protocols:"]
    out += _table([[p.name, p.description] for p in PROTOCOLS.values()])
    return "\n".join(out)


def task_stats(data: TaskData) -> dict[str, dict[str, Any]]:
    """Per split: rows, length min/median/max and label counts (index = label 0..C-1), or for a
    regression task ``targets``: (mean, standard deviation) per target, or for a multi-label
    task ``positives``: rows with each label."""
    stats = {}
    for name, part in data.splits().items():
        lengths = part.lengths()
        stats[name] = {
            "rows": len(part),
            "length": (int(lengths.min()), float(np.median(lengths)), int(lengths.max())),
        }
        if part.is_regression:  # per target: mean and standard deviation
            y = part.labels.astype(np.float64)
            stats[name]["targets"] = list(zip(y.mean(0).tolist(), y.std(0).tolist(), strict=True))
        elif part.is_multilabel:  # rows with each label
            stats[name]["positives"] = part.labels.sum(axis=0).tolist()
        elif data.spec.task_type == "per_base":  # bases of each class
            stats[name]["classes"] = part.counts(data.spec.num_classes).tolist()
        else:
            counts = np.bincount(part.labels, minlength=data.spec.num_classes).tolist()
            stats[name]["classes"] = counts
    return stats


FILLED = {
    "val_from_train": "val = a seeded stratified 10% of train, test as given",
    "val_from_dev": "train/val = a seeded stratified 90/10 of dev, test as given",
    "resplit_70_10_20": "all rows pooled, then a seeded stratified 70/10/20 re-split",
    "nested_60_20_20": "all rows pooled, then a seeded 60/20/20 re-split (not stratified)",
    "grouped_70_10_20": "all rows pooled, then a seeded 70/10/20 re-split of whole near-duplicate "
    "groups",
}
"""How each protocol fills the splits a user's task lacks (``task_card``)."""


def _filled(spec: TaskSpec) -> str:
    return _unstratified(spec, FILLED.get(spec.protocol, ""))


def _protocol_text(spec: TaskSpec) -> str:
    """The protocol's description, as it applies to this task's type."""
    text = PROTOCOLS[spec.protocol].description
    return _unstratified(spec, text.replace(_NOT_STRATIFIED, ""))


_NOT_STRATIFIED = " (regression and multi-label: seeded random, not stratified)"


def _unstratified(spec: TaskSpec, text: str) -> str:
    if spec.task_type == "classification":
        return text
    return text.replace("seeded stratified", "seeded random")  # only class labels stratify


def task_card(spec: TaskSpec, seed: int | None = None) -> dict[str, Any]:
    """What a report states about a task: its source, how its splits were made, its labels.

    Args:
        spec: the task.
        seed: the split seed the task was loaded with (``TaskData.seed``), recorded when given.

    Returns:
        ``source`` (a user's path, or ``findna task registry``), ``protocol``, ``splits`` (which
        splits were given and which the protocol filled), ``split_seed`` when given and, when the
        labels were mapped, ``labels`` (class name -> integer label). A regression task adds
        ``task_type``, ``targets`` (target name -> its column, in output order) and, when its
        files carry a published model's predictions, ``peer_predictions`` (their column and
        files: a peer to compare with on the same test rows, never a target or a feature). A
        multi-label task adds ``task_type``, ``targets`` (label name -> its 0/1 column) or, for
        one column listing the labels, ``labels_column`` and ``label_separator`` with
        ``targets`` (the label names, in output order).
    """
    proto = PROTOCOLS[spec.protocol]
    card: dict[str, Any] = {
        "source": spec.origin or "findna task registry",
        "protocol": spec.protocol,
    }
    if seed is not None:
        card["split_seed"] = seed
    if spec.origin is None:
        card["splits"] = _protocol_text(spec)
    else:
        roles = {{"dev": "val"}.get(r, r) for r in spec.files}
        given = [s for s in ("train", "val", "test") if s in roles]
        filled = [s for s in ("train", "val", "test") if s not in given]
        card["splits"] = f"given: {', '.join(given) or 'none'}; " + (
            f"{', '.join(filled)} filled by {proto.name}: {_filled(spec)}"
            if filled
            else "all used as given"
        )
    if spec.classes is not None:
        card["labels"] = {name: i for i, name in enumerate(spec.classes)}
    if spec.task_type == "regression":
        columns = spec.target_columns or spec.targets
        card["task_type"] = "regression"
        card["targets"] = dict(zip(spec.targets, columns, strict=True))
    if spec.task_type == "per_base":  # a class per base (findna.data.per_base)
        card["task_type"] = "per_base"
        if spec.format == "soft_mask":
            card["splits"] = (
                f"{spec.max_len}-bp windows of {spec.genome}, labelled by case (lower = repeat); "
                "100-kb regions (or whole shorter records) shuffled by the split seed, 70/10/20 "
                "of the windows by region, no region in two splits (findna.data.soft_mask)"
            )
        elif spec.origin is None or "filled" in card["splits"]:
            card["splits"] += " (per-base rows: split at random, by row)"
    if spec.task_type == "multilabel":
        card["task_type"] = "multilabel"
        if spec.label_separator is not None:
            card["labels_column"] = spec.label_column
            card["label_separator"] = spec.label_separator
            card["targets"] = list(spec.targets)
            card["empty_cell"] = "a row with no positive label (all 0)"
        else:
            columns = spec.target_columns or spec.targets
            card["targets"] = dict(zip(spec.targets, columns, strict=True))
    if spec.peer_column is not None:
        files = (
            [spec.files[t] for t in spec.targets] if spec.join_column else [*spec.files.values()]
        )
        card["peer_predictions"] = {
            "column": spec.peer_column,
            "files": list(dict.fromkeys(files)),
            "note": "the published model's prediction of each target, matched by sequence "
            "(findna.data.joined.peer_predictions); compare on the same test rows, never train "
            "on it",
        }
    return card


def _outputs(spec: TaskSpec) -> str:
    if spec.task_type == "regression":
        return f"regression, {spec.num_outputs} target(s)"
    if spec.task_type == "multilabel":
        return f"multi-label, {spec.num_outputs} label(s)"
    return f"{spec.num_classes} classes"


def _format_task(data: TaskData) -> str:
    spec = data.spec
    proto = PROTOCOLS[spec.protocol]
    out = [
        f"task {spec.name}: {spec.description}",
        f"  suite {spec.suite}; metric {spec.metric}; {_outputs(spec)}; "
        f"max_len {spec.max_len}; in paper: {'yes' if spec.in_paper else 'no'}",
    ]
    card = task_card(spec, data.seed)
    if spec.origin is not None:
        out.append(f"  source {card['source']}; splits {card['splits']}")
    if "label_separator" in card:
        out.append(
            f"  labels listed in column {card['labels_column']!r}, separated by "
            f"{card['label_separator']!r} (an empty cell: no label): {', '.join(card['targets'])}"
        )
    elif "targets" in card:
        out.append(
            "  targets: " + ", ".join(f"{k} = column {v!r}" for k, v in card["targets"].items())
        )
    if "peer_predictions" in card:
        peer = card["peer_predictions"]
        out.append(
            f"  peer predictions (never a target): column {peer['column']!r} of {peer['files']}"
        )
    if "labels" in card:
        out.append("  labels: " + ", ".join(f"{k} = {v}" for k, v in card["labels"].items()))
    if spec.format == "fasta_classes":
        out.append(f"  class files: {dict(spec.class_files)} (records > {spec.min_length} bp)")
    elif spec.split_column is not None:
        file = next(iter(spec.files.values()))
        out.append(f"  file: {file} (each row's split in column {spec.split_column!r})")
    else:
        out.append("  files: " + ", ".join(f"{k} {v}" for k, v in spec.files.items()))
    if spec.task_value is not None:
        out.append(f"  rows with task == {spec.task_value!r}")
    split_text = card["splits"] if spec.format == "soft_mask" else _protocol_text(spec)
    out.append(f"  protocol {proto.name} (seed {data.seed}): {split_text}")
    last = {
        "regression": "targets mean +- sd",
        "multilabel": "rows with each label",
        "per_base": "bases of each class",
    }.get(spec.task_type, "class balance")
    rows = [["split", "rows", "length min/median/max", last]]
    for name, s in task_stats(data).items():
        lo, med, hi = s["length"]
        per_base = spec.task_type == "per_base"  # shares of bases, not of rows
        total = max(sum(s["classes"]) if per_base else s["rows"], 1)
        cells = [f"{c}: {n} ({100 * n / total:.1f}%)" for c, n in enumerate(s.get("classes", []))]
        if "targets" in s:  # regression: mean +- sd per target
            pairs = zip(spec.targets, s["targets"], strict=True)
            cells += [f"{t}: {m:.3g} +- {sd:.3g}" for t, (m, sd) in pairs]
        if "positives" in s:  # multi-label: rows with each label
            pairs = zip(spec.targets, s["positives"], strict=True)
            cells += [f"{t}: {n} ({100 * n / total:.1f}%)" for t, n in pairs]
        balance = "  ".join(cells)
        rows.append([name, str(s["rows"]), f"{lo}/{med:g}/{hi}", balance])
    out += _table(rows)
    shared = ", ".join(f"{k} {v}" for k, v in data.shared.items())
    out.append(f"  exact-duplicate sequences shared across splits (kept, not dropped): {shared}")
    leaks = near_duplicate_leaks({n: p.seqs for n, p in data.splits().items()})
    found = (
        "not checked (too many bases)"
        if leaks is None
        else ", ".join(f"{k} {hit}/{of}" for k, (hit, of) in leaks.items())
    )
    out.append(f"  rows with a near-duplicate in an earlier split ({NEAR_RULE}): {found}")
    return "\n".join(out)


def _format_genome(summary: dict[str, Any]) -> str:
    out = [f"genome {summary.get('path', '')}"]
    for key, value in summary.items():
        if key == "path":
            continue
        if key.endswith("_fraction") and isinstance(value, float):
            value = f"{100 * value:.2f}%"
        elif isinstance(value, int):
            value = f"{value:,}"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        out.append(f"  {key}: {value}")
    return "\n".join(out)


def find_genome(name: str, root: Path) -> Path | None:
    """A genome file by name, by name without its suffixes, or by path; None if none matches."""
    for p in genome_files(root):
        if name in (p.name, p.name.split(".")[0]):
            return p
    path = Path(name)
    return path if path.exists() and name not in TASKS else None


def format_info(
    name: str,
    root: str | Path | None = None,
    seed: int = 0,
    options: UserTaskOptions | None = None,
) -> str:
    """Split counts, lengths, class balance, duplicates and metric of a task, or a genome summary.

    Args:
        name: a registered task name, the path of a user's task (a folder, a table or a task
            YAML; see :mod:`findna.data.user_tasks`), or a genome (file name, name without
            suffix, or the path of a FASTA file).
        root: data root; None uses :func:`findna.data.root.data_root`.
        seed: split seed for seeded protocols.
        options: ``--label-column`` and the like, for a user's task.
    """
    if name in TASKS:
        root = Path(root) if root is not None else data_root()
        return _format_task(load_task(name, seed=seed, root=root))
    if Path(name).exists() and is_task_path(Path(name)):
        return _format_task(load_task(resolve_task(name, options), seed=seed))
    root = Path(root) if root is not None else data_root()
    genome = find_genome(name, root)
    if genome is not None:
        from findna.data.genome import genome_summary

        return _format_genome(genome_summary(genome))
    try:
        resolve_task(name, options)
    except ValueError as err:
        names = [p.name for p in genome_files(root)]
        raise ValueError(f"{err} Genomes: {names}") from None
    raise AssertionError("unreachable")
