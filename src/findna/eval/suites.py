"""Benchmark suites: named groups of registered tasks, and per-task fine-tuning presets.

Suites (``findna benchmark --suite``):

- ``emp``: the 7 GUE epigenetic-mark tasks of the shared data (the paper's Table 2 tasks);
- ``gb``: the 2 GenomicBenchmarks tasks of the shared data (paper Tables 1 and 3);
- ``gue``: every GUE task (``gue/...``: EMP, promoters, TF binding, splice);
- ``all``: every registered task whose data files exist under the data root;
- any other registry suite name (``toy``, ``nt``, ``dnabert``);
- or a comma-separated list of task names (``gue/EMP/H3,gb/human_enhancers_cohn``).

:data:`FINETUNE_PRESETS` names fine-tuning settings (``FinetuneConfig`` changes; mirrored by
``configs/finetune/<name>.yaml``), and :data:`TASK_PRESETS` maps a task to the preset holding its
per-task settings (spec 5.6), used by ``benchmark`` with ``per_task_presets``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from findna.config import config_from_dict
from findna.data.tasks import TASKS, TaskSpec, get_task, task_paths, task_root

if TYPE_CHECKING:  # imported lazily: findna.eval.finetune and probe import this module
    from findna.eval.finetune import FinetuneConfig

SPECIAL_SUITES = ("emp", "gb", "gue", "all")


def _gb(bs: int, lr: float, epochs: int, warm: float, track: int, drop: tuple, layers: int):
    """One row of the reference's GenomicBenchmarks table (weight decay 0.1 throughout)."""
    return {
        "batch_size": bs, "lr": lr, "weight_decay": 0.1, "epochs": epochs, "warmup_frac": warm,
        "track_size": track, "mlp_dropout": drop[0], "layer_dropout": drop[1], "n_layers": layers,
    }  # fmt: skip


FINETUNE_PRESETS: dict[str, dict[str, Any]] = {
    # The paper's GUE EMP setting (= the dataclass defaults).
    "paper": {},
    # GUE virus (covid, 9 classes): paper bs 256, lr 1e-3, 100 epochs; wd 0.01 from the config.
    "gue_virus": dict(batch_size=256, lr=1e-3, weight_decay=0.01, epochs=100),
    # The reference's config_gb.yaml rows (spec 5.6): batch, lr, epochs, warm-up, track,
    # (mlp, layer) dropout, layers. wd is 0.1 throughout.
    "gb_human_nontata_promoters": _gb(1024, 5e-3, 200, 0.3, 50, (0.0, 0.0), 4),
    "gb_human_enhancers_cohn": _gb(1024, 1e-3, 50, 0.1, 40, (0.3, 0.3), 3),
    "gb_demo_human_or_worm": _gb(1024, 5e-4, 100, 0.3, 50, (0.2, 0.2), 4),
    "gb_dummy_mouse_enhancers_ensembl": _gb(128, 5e-4, 150, 0.3, 24, (0.0, 0.0), 2),
    "gb_demo_coding_vs_intergenomic_seqs": _gb(1024, 5e-4, 30, 0.3, 38, (0.2, 0.1), 2),
    "gb_human_enhancers_ensembl": _gb(512, 1e-3, 80, 0.2, 40, (0.0, 0.0), 3),
    "gb_human_ensembl_regulatory": _gb(512, 1e-4, 50, 0.2, 36, (0.1, 0.1), 4),
    "gb_human_ocr_ensembl": _gb(256, 3e-4, 50, 0.3, 30, (0.3, 0.3), 2),
    # CPU smoke runs and tests.
    "tiny": dict(
        epochs=3,
        batch_size=16,
        eval_batch_size=64,
        lr=3e-3,
        warmup_frac=0.1,
        mlp_dropout=0.0,
        layer_dropout=0.0,
    ),  # fmt: skip
}
"""Preset name -> settings that differ from :class:`FinetuneConfig`'s defaults."""


def finetune_preset(name: str, **changes: Any) -> FinetuneConfig:
    """The preset ``name`` of :data:`FINETUNE_PRESETS`, with optional field changes."""
    from findna.eval.finetune import FinetuneConfig

    if name not in FINETUNE_PRESETS:
        raise ValueError(
            f"unknown fine-tuning preset {name!r}; choose one of {', '.join(FINETUNE_PRESETS)}"
        )
    return config_from_dict(FinetuneConfig, {**FINETUNE_PRESETS[name], **changes}, name)


TASK_PRESETS: dict[str, str] = {
    **{name: "paper" for name, spec in TASKS.items() if spec.suite == "emp"},
    "gb/human_nontata_promoters": "gb_human_nontata_promoters",
    "gb/human_enhancers_cohn": "gb_human_enhancers_cohn",
    "toy/human_ensembl_regulatory": "gb_human_ensembl_regulatory",
    "toy/human_ocr_ensembl": "gb_human_ocr_ensembl",
}
"""Task name -> fine-tuning preset name (tasks not listed keep the benchmark's settings)."""


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
    return out


def is_available(spec: TaskSpec, root: str | Path | None = None) -> bool:
    """Whether every data path of ``spec`` exists under the data root."""
    return all(p.exists() for p in task_files(spec, root))


def registry_suites() -> list[str]:
    """Every suite name usable with ``--suite``."""
    return list(dict.fromkeys([*SPECIAL_SUITES, *(s.suite for s in TASKS.values())]))


def resolve_tasks(text: str, root: str | Path | None = None) -> list[str]:
    """Task names of a suite name or of a comma-separated list of task names.

    Args:
        text: ``emp``, ``gb``, ``gue``, ``all``, another registry suite, or ``name[,name...]``.
        root: data root for ``all`` (None: ``findna.data.root.data_root()``).

    Raises:
        ValueError: an unknown suite or task (with close task names), or an empty selection.
    """
    text = text.strip()
    if text == "all":
        names = [n for n, s in TASKS.items() if is_available(s, root)]
        if not names:
            raise ValueError("suite 'all': no registered task has its data under the data root")
        return names
    if text == "gue":
        return [n for n in TASKS if n.startswith("gue/")]
    if text in {s.suite for s in TASKS.values()}:
        return [n for n, s in TASKS.items() if s.suite == text]
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise ValueError("no tasks given: pass a suite name or comma-separated task names")
    if len(names) == 1 and "/" not in names[0]:
        raise ValueError(
            f"unknown suite {names[0]!r}; choose one of {', '.join(registry_suites())} or pass "
            "comma-separated task names (see `findna data list`)"
        )
    for name in names:
        get_task(name)  # raises with close names
    if len(set(names)) != len(names):
        raise ValueError(f"a task is listed twice in {text!r}")
    return names


__all__ = [
    "FINETUNE_PRESETS",
    "SPECIAL_SUITES",
    "TASK_PRESETS",
    "data_files",
    "finetune_preset",
    "is_available",
    "resolve_tasks",
    "task_files",
]
