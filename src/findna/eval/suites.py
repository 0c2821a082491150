"""Benchmark suites: named groups of registered tasks, and the fine-tuning preset of each task.

Suites (``findna benchmark --suite``):

- ``emp``: the 7 GUE epigenetic-mark tasks of the shared data (the paper's Table 2 tasks);
- ``gb``: the 2 GenomicBenchmarks tasks of the shared data (paper Tables 1 and 3);
- ``gue``: every GUE task (``gue/...``: EMP, promoters, TF binding, splice);
- ``all``: every registered task whose data files exist under the data root;
- any other registry suite name (``toy``, ``nt``, ``dnabert``);
- or a comma-separated list of task names (``gue/EMP/H3,gb/human_enhancers_cohn``), where any
  item may instead be the path of a user's own task (a folder, a table or a task YAML; see
  :mod:`findna.data.user_tasks`).

:data:`TASK_PRESETS` maps a task to the fine-tuning preset (``configs/finetune/<name>.yaml``,
read by :func:`findna.eval.finetune.finetune_preset`) holding its per-task settings: the
GenomicBenchmarks rows of docs/method.md §5.6, and ``paper`` (§5.3) for the EMP tasks,
used by ``benchmark`` with ``per_task_presets``.
"""

from __future__ import annotations

from pathlib import Path

from findna.data.catalog import is_available
from findna.data.tasks import TASKS, get_task

SPECIAL_SUITES = ("emp", "gb", "gue", "all")


TASK_PRESETS: dict[str, str] = {
    **{name: "paper" for name, spec in TASKS.items() if spec.suite == "emp"},
    "gb/human_nontata_promoters": "gb_human_nontata_promoters",
    "gb/human_enhancers_cohn": "gb_human_enhancers_cohn",
    "toy/human_ensembl_regulatory": "gb_human_ensembl_regulatory",
    "toy/human_ocr_ensembl": "gb_human_ocr_ensembl",
}
"""Task name -> fine-tuning preset name (tasks not listed keep the benchmark's settings)."""


def registry_suites() -> list[str]:
    """Every suite name usable with ``--suite``."""
    return list(dict.fromkeys([*SPECIAL_SUITES, *(s.suite for s in TASKS.values())]))


def resolve_tasks(text: str, root: str | Path | None = None) -> list[str]:
    """Task names of a suite name or of a comma-separated list of task names or paths.

    Args:
        text: ``emp``, ``gb``, ``gue``, ``all``, another registry suite, or ``name[,name...]``
            (a name may be the path of a user's task; it is returned as given).
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
    one = names[0]
    if len(names) == 1 and "/" not in one and one not in TASKS and not Path(one).exists():
        raise ValueError(
            f"unknown suite {one!r}; choose one of {', '.join(registry_suites())} or pass "
            "comma-separated task names (see `findna data list`) or paths of your own data"
        )
    for name in names:
        if not Path(name).exists():
            get_task(name)  # raises with close names; a user's path is read by resolve_task
    if len(set(names)) != len(names):
        raise ValueError(f"a task is listed twice in {text!r}")
    return names


__all__ = ["SPECIAL_SUITES", "TASK_PRESETS", "registry_suites", "resolve_tasks"]
