"""A study's settings and folders: :class:`StudyConfig`, where each pretraining run lives and
the resolved pretraining config of each (see :mod:`findna.workflows.study`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from findna.config import load_config, preset_path
from findna.data.task_spec import TaskSpec
from findna.eval.probe import ProbeConfig
from findna.eval.suites import resolve_tasks
from findna.model.loading import SCRATCH
from findna.train.config import PretrainConfig

VALIDATION_SUITE = ",".join(resolve_tasks("emp") + resolve_tasks("gb"))
"""The 7 shared EMP marks and the 2 GenomicBenchmarks tasks (``findna data list``)."""


@dataclass
class StudyConfig:
    """A study: variants x pretraining seeds, probed on a validation suite.

    Attributes:
        preset: the pretraining preset every variant starts from (a name such as ``tiny`` or a
            YAML path). (Not ``base``: a top-level ``base`` key makes a YAML preset inherit from
            another file.)
        variants: variant name -> ``key=value`` overrides of the base (``[]`` = the base as is).
            Names become folder and table names (letters, digits, ``-``, ``_``, ``.``).
        overrides: ``key=value`` overrides applied to every variant before its own (e.g. a
            shorter ``optim.max_steps`` for a quick study).
        seeds: pretraining seeds (``run.seed``); at least 2 for a claim.
        network: ``teacher`` (the exported model of each run; the student for cm-mnm runs) or
            ``student`` (from the checkpoints).
        suite: the validation suite: a suite name or comma-separated task names.
        probe: the probe of every run (linear head on frozen features, lr chosen on validation).
        probe_seeds: probe seeds per run (head initialisation and batch order).
        scratch: also probe a randomly initialised network of the base architecture.
        baseline: the variant the others are compared with (``cm-mnm`` in the issue's design);
            None compares with nothing.
        out_dir: the study folder.
        runs_from: another study's folder whose finished runs (and prepared genome) this study
            probes instead of pretraining its own (None: ``out_dir``). It probes the same runs
            another way (``network``, ``probe.features.pooling``) at the cost of the probes only;
            a variant x seed not finished there is an error, never trained there.
    """

    preset: str = "tiny"
    variants: dict[str, list[str]] = field(
        default_factory=lambda: {"findna": [], "cm-mnm": ["ssl.variant=cm-mnm"]}
    )
    overrides: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    network: str = "teacher"
    suite: str = VALIDATION_SUITE
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    probe_seeds: list[int] = field(default_factory=lambda: [0])
    scratch: bool = True
    baseline: str | None = "cm-mnm"
    out_dir: str = "runs/study"
    runs_from: str | None = None

    def __post_init__(self) -> None:
        if not self.variants:
            raise ValueError("study.variants is empty: name at least one variant")
        for name, sets in self.variants.items():
            if not name or not all(c.isalnum() or c in "-_." for c in name) or name == SCRATCH:
                raise ValueError(
                    f"variant name {name!r}: use letters, digits, '-', '_' or '.' (and not "
                    f"{SCRATCH!r}, which names the random baseline)"
                )
            if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
                raise ValueError(f"variant {name}: give a list of key=value strings, got {sets!r}")
        for name, seeds in (("seeds", self.seeds), ("probe_seeds", self.probe_seeds)):
            if not seeds or len(set(seeds)) != len(seeds):
                raise ValueError(f"study.{name} must list distinct seeds, got {seeds}")
        if self.network not in ("teacher", "student"):
            raise ValueError(f"study.network must be teacher or student, got {self.network!r}")
        if self.baseline is not None and self.baseline not in self.variants:
            raise ValueError(
                f"study.baseline {self.baseline!r} is not a variant ({', '.join(self.variants)})"
            )


def run_name(variant: str, seed: int) -> str:
    """The model name of one pretraining run in the probe benchmark: ``variant@s<seed>``."""
    return f"{variant}@s{seed}"


def runs_root(cfg: StudyConfig) -> Path:
    """The folder holding the study's ``runs/`` and prepared ``genome/``: ``runs_from`` when
    set, else ``out_dir``."""
    return Path(cfg.runs_from or cfg.out_dir)


def run_dir(cfg: StudyConfig, variant: str, seed: int) -> Path:
    """The folder of one pretraining run: ``ROOT/runs/<variant>/seed<k>`` (:func:`runs_root`)."""
    return runs_root(cfg) / "runs" / variant / f"seed{seed}"


def pretrain_config(cfg: StudyConfig, variant: str, seed: int) -> PretrainConfig:
    """The resolved config of one run: base <- study overrides <- variant <- seed and folder."""
    sets = [
        f"data.prepared_dir={runs_root(cfg) / 'genome'}",  # one prepared genome for every run
        *cfg.overrides,
        *cfg.variants[variant],
        f"run.seed={seed}",
        f"run.out_dir={run_dir(cfg, variant, seed)}",
    ]
    return load_config(PretrainConfig, preset_path("pretrain", cfg.preset), sets)


def _run_configs(cfg: StudyConfig) -> dict[tuple[str, int], PretrainConfig]:
    """Every run's pretraining config, by (variant, seed); an error names the study key."""
    try:
        load_config(PretrainConfig, preset_path("pretrain", cfg.preset), cfg.overrides)
    except (ValueError, FileNotFoundError) as err:
        raise type(err)(
            f"study overrides: {str(err).removeprefix('--set ')}. Fix the study's overrides (or "
            "its preset); nothing was pretrained."
        ) from None
    runs = {}
    for variant in cfg.variants:
        for seed in cfg.seeds:
            try:
                runs[variant, seed] = pretrain_config(cfg, variant, seed)
            except (ValueError, FileNotFoundError) as err:
                raise type(err)(
                    f"study variant {variant!r} (seed {seed}): {str(err).removeprefix('--set ')}"
                    f". Fix variants.{variant} in the study; nothing was pretrained."
                ) from None
    return runs


def _check_suite(
    cfg: StudyConfig, tasks: Sequence[str | TaskSpec] | None, root: str | Path | None
) -> None:
    """The probes' tasks resolve and their data is there (every path of each task)."""
    from findna.data.catalog import task_files
    from findna.data.user_tasks import resolve_task

    for task in tasks or resolve_tasks(cfg.suite, root):
        spec = resolve_task(task) if isinstance(task, str) else task
        missing = [p for p in task_files(spec, root) if not p.exists()]
        if missing:
            raise FileNotFoundError(
                f"study suite: task {spec.name}: {missing[0]} does not exist, so the runs could "
                "not be probed; nothing was pretrained. Put the task's data there (`findna data "
                "list` shows which tasks have theirs) or choose another suite."
            )


def check_study(
    cfg: StudyConfig,
    tasks: Sequence[str | TaskSpec] | None = None,
    root: str | Path | None = None,
) -> dict[tuple[str, int], PretrainConfig]:
    """Check the whole study before its first run: every variant x seed's pretraining config
    (keys, types, values) and genome, the finished runs of ``runs_from``, and the probes' tasks
    and their data; a typo in the last variant costs seconds, not the first runs.

    Args:
        cfg: the study. tasks, root: as :func:`findna.workflows.study.run_study` takes them.

    Returns:
        The pretraining config of each (variant, seed).

    Raises:
        ValueError, FileNotFoundError: naming the variant (or ``overrides``, ``runs_from``, the
            suite's task) and the key.
    """
    from findna.train.datamodule import resolve_genome

    runs = _run_configs(cfg)
    for (variant, seed), run in runs.items():
        if cfg.runs_from and not (run.out_dir / "summary.json").is_file():
            raise ValueError(
                f"runs_from {cfg.runs_from}: no finished run of {variant} seed {seed} in "
                f"{run.out_dir}; finish that study first, or drop runs_from to pretrain the runs "
                "in this study's own folder"
            )
    checked: set[str] = set()
    for (variant, _), run in runs.items():
        if cfg.runs_from or run.data.genome in checked:  # another study's runs need no genome
            continue
        checked.add(run.data.genome)
        try:
            resolve_genome(run.data, run.out_dir, prepare=False)
        except (ValueError, FileNotFoundError) as err:
            raise type(err)(f"study variant {variant!r}: {err}") from None
    _check_suite(cfg, tasks, root)
    return runs


def load_study_config(path: str | Path | None, overrides: Sequence[str] = ()) -> StudyConfig:
    """Defaults <- the study YAML (a path, or a shipped name such as ``tiny_objectives``) <-
    ``--set`` overrides."""
    return load_config(StudyConfig, None if path is None else preset_path("study", path), overrides)


__all__ = [
    "VALIDATION_SUITE",
    "StudyConfig",
    "check_study",
    "load_study_config",
    "pretrain_config",
    "run_dir",
    "run_name",
    "runs_root",
]
