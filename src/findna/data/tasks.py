"""The benchmark task registry and :func:`load_task`.

``TASKS`` is a plain dict of :class:`TaskSpec`, one explicit entry per task under
``<data root>/benchmarks`` (paths are relative to the data root; nothing is read at import).
Adding a benchmark means adding one entry; tasks in the layouts that users download themselves
(folders of ``.txt``, interval lists + genome, FASTA per class) are built with :func:`folder_task`,
:func:`coordinate_task` and :func:`fasta_class_task` and passed to :func:`load_task` directly. A
user's own files given as a path (``--task PATH``) become a spec through
:func:`findna.data.user_tasks.resolve_task` (docs/data.md).

Split protocols (see :mod:`findna.data.splits`):

- GUE tasks with train/dev/test: ``official`` (dev = validation).
- GUE tasks without train (EMP marks, prom_300_all, prom_300_notata, splice, mouse/1):
  ``val_from_dev`` (train/val = seeded stratified 90/10 of dev.csv, test.csv untouched).
- The GenomicBenchmarks test-only file human_enhancers_cohn, the toy TSVs, the NT tasks and the
  DNABERT example: ``resplit_70_10_20`` (seeded stratified); human_nontata_promoters, whose
  negatives include overlapping genome windows: ``grouped_70_10_20``.
- Downloaded GenomicBenchmarks train/test: ``val_from_train``; MTcDNA: ``nested_60_20_20``.
- The Vaishnav 2022 expression tasks (regression, :mod:`findna.data.vaishnav`): the native
  promoters ``grouped_70_10_20`` (whole near-duplicate groups, seeded), the random ones
  ``resplit_70_10_20`` (seeded, random; regression is never stratified).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from findna.data.alphabet import OnInvalid
from findna.data.interval_windows import read_interval_sources
from findna.data.intervals import IntervalTaskSpec
from findna.data.joined import read_joined
from findna.data.layouts import read_class_folders, read_coordinate_folder, read_fasta_classes
from findna.data.per_base_tasks import per_base_splits, repeat_tasks
from findna.data.readers import LabeledSequences, read_table
from findna.data.root import data_root
from findna.data.splits import SPLIT_VALUES, apply_protocol, shared_sequences
from findna.data.task_checks import warn_about_lengths
from findna.data.task_spec import Format, TaskSpec
from findna.data.vaishnav import vaishnav_tasks

log = logging.getLogger(__name__)


@dataclass
class TaskData:
    """A task after its split protocol.

    Attributes:
        spec: the task.
        seed: split seed used.
        train, val, test: the three splits.
        shared: distinct exact-duplicate sequences per split pair (``train&val``, ...).
        root: the data root the spec's relative paths were resolved against (None when the
            splits were built by hand); provenance checksums read the files from there.
    """

    spec: TaskSpec
    seed: int
    train: LabeledSequences
    val: LabeledSequences
    test: LabeledSequences
    shared: dict[str, int]
    root: Path | None = None
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    def splits(self) -> dict[str, LabeledSequences]:
        """``{"train": ..., "val": ..., "test": ...}``."""
        return {"train": self.train, "val": self.val, "test": self.test}

    def fingerprint(self) -> str:
        """A SHA-256 of every split's row ids, sequences and labels (hex): two loads give the same
        fingerprint exactly when they hold the same rows with the same labels in the same splits,
        so a result logged with one is a result on these very splits (a registered task whose
        split protocol or files changed since has another). Hashed once per loaded task."""
        if self._fingerprint is not None:
            return self._fingerprint
        digest = hashlib.sha256()
        for name, part in self.splits().items():
            labels = part.labels
            head = f"{name}|{len(part.seqs)}|{labels.dtype.str}|{labels.shape}"
            digest.update(head.encode())
            for column in (part.ids, part.seqs):
                digest.update("\0".join(column).encode())
                digest.update(b"\1")
            digest.update(labels.tobytes())
        self._fingerprint = digest.hexdigest()
        return self._fingerprint


def task_max_len(task: TaskData, cls_tokens: int, override: int | None = None) -> int:
    """Tokens a network for ``task`` is built for.

    Args:
        task: the loaded task.
        cls_tokens: CLS rows appended to every sequence.
        override: an explicit length (``max_len`` of the probe/fine-tuning settings), returned
            as is when given.

    Returns:
        ``override``, else max(the spec's ``max_len``, the longest sequence of any split) plus
        ``cls_tokens``.
    """
    if override is not None:
        return override
    longest = max(int(part.lengths().max()) for part in task.splits().values())
    return max(task.spec.max_len or 0, longest) + cls_tokens


def _table(name: str, files: dict[str, str], max_len: int, description: str, **kw) -> TaskSpec:
    """A ``table`` task; defaults: binary, MCC, stratified 70/10/20 re-split."""
    kw.setdefault("num_classes", 2)
    kw.setdefault("metric", "mcc")
    kw.setdefault("protocol", "resplit_70_10_20")
    suite = kw.pop("suite", name.split("/")[0])
    return TaskSpec(name, suite, files, "table", max_len=max_len, description=description, **kw)


def _gue(sub: str, task: str, roles: tuple[str, ...], max_len: int, desc: str = "", **kw):
    """GUE: MCC as DNABERT-2; ``official`` with a train file, else ``val_from_dev``."""
    files = {r: f"benchmarks/gue/{sub}/{task}/{r}.csv" for r in roles}
    protocol = "official" if "train" in roles else "val_from_dev"
    suite, in_paper = ("emp", True) if sub == "EMP" else ("gue", False)
    desc = desc or f"GUE {sub} {task}"
    return _table(
        f"gue/{sub}/{task}",
        files,
        max_len,
        desc,
        protocol=protocol,
        suite=suite,
        in_paper=in_paper,
        **kw,
    )


_NT_TASKS = {  # task -> (length, classes)
    **{m: (1000, 2) for m in ("H2AFZ", "H3K27ac", "H3K27me3", "H3K36me3", "H3K4me1")},
    **{m: (1000, 2) for m in ("H3K4me2", "H3K4me3", "H3K9ac", "H3K9me3", "H4K20me1")},
    **{"enhancers": (400, 2), "enhancers_types": (400, 3)},
    **{f"promoter_{t}": (300, 2) for t in ("all", "no_tata", "tata")},
    **{f"splice_sites_{t}": (600, 2) for t in ("acceptors", "donors")},
    "splice_sites_all": (600, 3),
}


def _build_registry() -> dict[str, TaskSpec]:
    dev_test, full = ("dev", "test"), ("train", "dev", "test")
    emp = ("H3", "H3K36me3", "H3K4me1", "H3K4me2", "H3K79me3", "H3K9ac", "H4")
    specs = [_gue("EMP", m, dev_test, 500, f"yeast histone mark {m} (paper task)") for m in emp]
    specs += [_gue("prom", f"prom_core_{t}", full, 70) for t in ("all", "notata", "tata")]
    specs += [_gue("prom", "prom_300_tata", full, 300)]
    specs += [_gue("prom", f"prom_300_{t}", dev_test, 300) for t in ("all", "notata")]
    specs += [_gue("tf", str(i), full, 101, f"human TF binding {i}") for i in range(5)]
    specs += [
        _gue("mouse", str(i), dev_test if i == 1 else full, 101, f"mouse TF binding {i}")
        for i in range(5)
    ]
    specs += [
        _gue("splice", "reconstructed", dev_test, 400, "splice donor/acceptor/none", num_classes=3)
    ]
    # human_nontata_promoters' negatives include overlapping genome windows (a third of its rows
    # have a near-copy in another split under a random re-split; docs/data.md): split by group.
    gb = {"human_enhancers_cohn": (500, "resplit_70_10_20")}
    gb["human_nontata_promoters"] = (251, "grouped_70_10_20")
    for name, (length, protocol) in gb.items():
        files = {"test": f"benchmarks/genomic_benchmarks/{name}/test.csv"}
        desc = f"GenomicBenchmarks {name}: official test split only, re-split"
        kw = dict(metric="accuracy", in_paper=True, protocol=protocol)
        specs.append(_table(f"gb/{name}", files, length, desc, **kw))
    for name, length, c in (("human_ensembl_regulatory", 802, 3), ("human_ocr_ensembl", 593, 2)):
        files = {"all": f"benchmarks/toy/{name}/train.tsv"}
        desc = f"subsample of GenomicBenchmarks {name} (variable length)"
        specs.append(_table(f"toy/{name}", files, length, desc, metric="accuracy", num_classes=c))
    nt_file = {"all": "benchmarks/toy/nucleotide_transformer_tasks/train.tsv"}
    for task, (length, c) in _NT_TASKS.items():
        desc = f"Nucleotide Transformer task {task} (toy subsample)"
        specs.append(
            _table(
                f"nt/{task}",
                nt_file,
                length,
                desc,
                num_classes=c,
                task_value=task,
                id_column="name",
            )
        )
    files = {"all": "benchmarks/dnabert_example/dev_6mer.tsv"}
    desc = "DNABERT example, overlapping 6-mers decoded to 101 bp"
    specs.append(_table("dnabert/dev_6mer", files, 101, desc))
    specs += vaishnav_tasks()
    specs += repeat_tasks()  # per-base (findna.data.per_base_tasks)
    return {s.name: s for s in specs}


TASKS: dict[str, TaskSpec] = _build_registry()


def _train_test_folder_task(
    name: str, folder: str | Path, fmt: Format, num_classes: int, **kw
) -> TaskSpec:
    """A GenomicBenchmarks download ``folder/{train,test}/...``: suite ``gb``, metric accuracy,
    protocol ``val_from_train`` unless ``kw`` says otherwise."""
    folder = Path(folder)
    kw.setdefault("metric", "accuracy")
    kw.setdefault("protocol", "val_from_train")
    return TaskSpec(
        name=name,
        suite=kw.pop("suite", "gb"),
        format=fmt,
        files={"train": str(folder / "train"), "test": str(folder / "test")},
        num_classes=num_classes,
        **kw,
    )


def folder_task(name: str, folder: str | Path, num_classes: int = 2, **kw) -> TaskSpec:
    """A downloaded GenomicBenchmarks dataset ``folder/{train,test}/<class>/*.txt``.

    Protocol ``val_from_train`` (validation carved from train; test untouched), metric accuracy.
    """
    return _train_test_folder_task(name, folder, "class_folders", num_classes, **kw)


def coordinate_task(
    name: str, folder: str | Path, genome: str | Path, num_classes: int = 2, **kw
) -> TaskSpec:
    """GenomicBenchmarks interval lists ``folder/{train,test}/<class>.csv.gz`` plus a genome."""
    return _train_test_folder_task(
        name, folder, "coordinates", num_classes, genome=str(genome), **kw
    )


def fasta_class_task(
    name: str, class_files: Mapping[int, tuple[str | Path, ...]], max_len: int, **kw
) -> TaskSpec:
    """One FASTA (or several) per class, e.g. MTcDNA: turtles 0, mice 1 (docs/method.md §5.4).

    Defaults are the reference code's protocol (docs/method.md §5.4): keep records longer than 5000
    bp, first ``max_len`` bases or N-padded, ``nested_60_20_20`` split (pass ``seed=1`` to
    :func:`load_task` for the reference's ``random_state=1``), metric accuracy.
    """
    kw.setdefault("metric", "accuracy")
    kw.setdefault("protocol", "nested_60_20_20")
    files = {int(k): tuple(str(p) for p in v) for k, v in class_files.items()}
    return TaskSpec(
        name=name,
        suite=kw.pop("suite", "mtcdna"),
        format="fasta_classes",
        files={},
        class_files=files,
        max_len=max_len,
        num_classes=kw.pop("num_classes", max(max(files) + 1, 2)),
        **kw,
    )


def get_task(name: str) -> TaskSpec:
    """The registered task called ``name``; a ValueError lists close names otherwise."""
    if name in TASKS:
        return TASKS[name]
    import difflib

    close = difflib.get_close_matches(name, TASKS, n=5, cutoff=0.5)
    hint = f" Did you mean {close}?" if close else ""
    raise ValueError(f"unknown task {name!r}.{hint} Run `findna data list` to see every task.")


def task_paths(spec: TaskSpec) -> list[str]:
    """Every file path a task names (split files, per-class files, genome), as written."""
    paths = [*spec.files.values(), *(p for ps in spec.class_files.values() for p in ps)]
    return paths + ([spec.genome] if spec.genome is not None else [])


def task_root(spec: TaskSpec, root: str | Path | None = None) -> Path | None:
    """The root relative task paths resolve against: ``root``, else the data root, which is
    only looked up when some path is relative (a task of absolute paths needs none)."""
    if root is not None:
        return Path(root)
    if all(Path(p).is_absolute() for p in task_paths(spec)):
        return None
    return data_root()


def _resolve(root: Path | None, p: str) -> Path:
    return Path(p) if root is None else root / p  # an absolute p stays absolute


def read_sources(
    spec: TaskSpec, root: Path | None = None, on_invalid: OnInvalid = "error"
) -> dict[str, LabeledSequences]:
    """Read every source file of ``spec`` (before any split), keyed by file role."""
    root = task_root(spec, root)
    if isinstance(spec, IntervalTaskSpec):  # genome intervals, cut from a reference
        return read_interval_sources(spec, root, on_invalid)
    c = spec.num_classes
    if spec.format == "fasta_classes":
        class_files = {k: [_resolve(root, p) for p in v] for k, v in spec.class_files.items()}
        return {
            "all": read_fasta_classes(
                class_files, max_len=spec.max_len, min_length=spec.min_length, on_invalid=on_invalid
            )
        }
    if spec.join_column is not None:
        return {"all": read_joined(spec, root, on_invalid)}
    columns = spec.target_columns or spec.targets
    multilabel = spec.task_type == "multilabel"
    listed = multilabel and spec.label_separator is not None
    out = {}
    for role, rel in spec.files.items():
        path = _resolve(root, rel)
        if spec.format == "table":
            split_rows = spec.split_column is not None
            out[role] = read_table(
                path,
                sequence_column=spec.sequence_column,
                label_column=spec.label_column,
                task=SPLIT_VALUES[role] if split_rows else spec.task_value,
                task_column=spec.split_column if split_rows else "task",
                id_column=spec.id_column,
                num_classes=c,
                classes=spec.targets if listed else spec.classes,
                on_invalid=on_invalid,
                target_columns=None if spec.task_type == "classification" or listed else columns,
                multilabel=multilabel,
                label_separator=spec.label_separator,
            )
        elif spec.format == "class_folders":
            out[role] = read_class_folders(
                path, classes=spec.classes, num_classes=c, on_invalid=on_invalid
            )
        else:
            out[role] = read_coordinate_folder(
                path,
                _resolve(root, spec.genome),
                classes=spec.classes,
                num_classes=c,
                on_invalid=on_invalid,
            )
    return out


def load_task(
    task: str | TaskSpec,
    seed: int = 0,
    *,
    root: str | Path | None = None,
    on_invalid: OnInvalid = "error",
) -> TaskData:
    """Read a task and apply its split protocol.

    Args:
        task: a registered name (see ``TASKS``) or a :class:`TaskSpec` (for a path to a
            user's files: ``findna.data.user_tasks.resolve_task``).
        seed: seed of every random split (official splits ignore it).
        root: data root for relative paths; None uses :func:`findna.data.root.data_root`.
        on_invalid: ``"error"`` or ``"n"`` for characters outside the DNA alphabet.

    Returns:
        The train/val/test splits and the exact-duplicate sequences shared across them. Shared
        duplicates are reported (and logged as a warning), never dropped.
    """
    spec = get_task(task) if isinstance(task, str) else task
    root = task_root(spec, root)
    if spec.task_type == "per_base":  # label strings or a soft-masked genome
        splits = per_base_splits(spec, root, seed, on_invalid)
    else:
        sources = read_sources(spec, root, on_invalid)
        try:
            splits = apply_protocol(spec.protocol, sources, seed)
        except ValueError as err:
            raise ValueError(f"task {spec.name}: {err}") from None
    for name, part in splits.items():
        if len(part) == 0:
            raise ValueError(f"task {spec.name}: the {name} split is empty; the task is too small")
    cut = spec.format == "fasta_classes"  # records cut or padded to max_len
    warn_about_lengths(spec.name, splits, None if cut else spec.max_len)
    shared = shared_sequences(splits)
    if any(shared.values()):
        log.warning(
            "task %s: exact-duplicate sequences shared across splits (kept): %s",
            spec.name,
            ", ".join(f"{k} {v}" for k, v in shared.items() if v),
        )
    return TaskData(spec, seed, splits["train"], splits["val"], splits["test"], shared, root)
