"""``findna benchmark``: every (task, model, seed) of a suite, probed or fine-tuned, resumably.

``run_benchmark(cfg)`` resolves the suite (:mod:`findna.eval.suites`), parses the model list,
runs the task driver's ``run_seed`` (a probe or fine-tuning) for each (task, model, seed) not
already done, each task checked once (:mod:`findna.eval.task_driver`), and writes
to ``out_dir``::

    config.yaml      the resolved BenchmarkConfig
    results.jsonl    one line per finished (task, model, seed): the resume log
    results.json     BenchmarkReport: per-seed results, mean ± std summary, provenance
    results.md       the comparison table (tasks x models, mean ± std) + per-seed rows
    results.csv      one row per (task, model, mode, seed): val_<metric>, test_<metric> (wide)
    results_summary.csv  mean, std, n per task, model, mode, split and metric (long)
    comparison.png   grouped bars of the primary metric (and comparison.pdf, vector)
    predictions/<task>/<model>/seed<k>.csv  each run's test predictions (row, id, label,
                     prob_<class>...; ``/`` in a task name becomes ``__``, as in ``models/``)

The tables are :mod:`findna.eval.report_tables`. A killed benchmark started again with the same
``out_dir`` skips every entry of ``results.jsonl`` (their predictions are not needed again: a
run's predictions are written before its entry, and entries logged before predictions existed
have none); entries made with other settings or other weights under the same model name
are refused (use another ``out_dir`` or ``--force``), and entries made on other rows or splits
than the task has now (each entry logs the task's fingerprint) are redone, with a warning.
``--force`` removes the files a benchmark writes and keeps any other (:mod:`findna.folders`); two
benchmarks cannot write one folder at once.

Model specs (``--models``, comma-separated): ``[NAME=]SOURCE[:teacher|:student]``. SOURCE is an
HF model directory, a pretraining run directory, a ``.ckpt`` file or ``scratch``. The default
NAME is the run directory's name (``-student`` appended for the student) or ``scratch``.
``scratch`` is the architecture of the first pretrained model (or ``scratch_model``), randomly
initialised per seed. A FinDNA-T (transformer) run is a source like any other.

Ablations (paper Tables 2, 4 and 9) as commands; the YAML presets are in ``configs/``::

    # Table 2: FinDNA vs CM-MNM (masked nucleotide modelling only) vs scratch
    findna pretrain --config configs/pretrain/tiny.yaml --out runs/tiny
    findna pretrain --config configs/pretrain/tiny_cm_mnm.yaml --out runs/tiny_cm_mnm
    findna benchmark --suite emp --mode finetune --config configs/benchmark/emp_finetune.yaml \\
        --models findna=runs/tiny,cm-mnm=runs/tiny_cm_mnm,scratch --out runs/bench/table2

    # Table 9: student versus teacher of one run (the student lives in the checkpoints)
    findna benchmark --suite emp --mode probe \\
        --models teacher=runs/tiny,student=runs/tiny:student --out runs/bench/table9

    # Your own data beside registry tasks (paths: see findna.data.user_tasks); the column
    # flags apply to your tables only
    findna benchmark --suite gue/EMP/H3,my_data/,my_table.csv --models findna=runs/tiny \\
        --label-column class --sequence-column dna

    # Table 4: one pretraining per view pair, then one benchmark over the four runs
    for p in m_noaug m_dit mdt_dit mdt_nr; do
        findna pretrain --config configs/pretrain/ablation_$p.yaml --out runs/ablation_$p
    done
    findna benchmark --suite emp --mode probe --out runs/bench/table4 --models \\
        M=runs/ablation_m_noaug,M+DIT=runs/ablation_m_dit,MDT+DIT=runs/ablation_mdt_dit,MDIT+NR=runs/ablation_mdt_nr
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

from findna.config import config_from_dict, config_to_dict, dump_config
from findna.data.catalog import data_files, task_card
from findna.data.root import data_root
from findna.data.tasks import TASKS, TaskSpec, load_task
from findna.data.user_layouts import UserTaskOptions
from findna.data.user_tasks import resolve_task
from findna.eval.benchmark_config import BenchmarkConfig, load_benchmark_config
from findna.eval.finetune import FinetuneConfig, preset_settings
from findna.eval.finetune_methods import finetune_method
from findna.eval.model_specs import ModelSpec, model_id, parse_models
from findna.eval.peer import peer_results
from findna.eval.plots import plot_comparison
from findna.eval.probe import Probe, ProbeConfig
from findna.eval.report import BenchmarkReport
from findna.eval.report_tables import write_tables
from findna.eval.results_log import ResultLog
from findna.eval.suites import TASK_PRESETS, resolve_tasks
from findna.eval.task_driver import CheckedTask, Method, check_task, run_seed
from findna.folders import FolderKind, start_folder
from findna.model.cls_rows import DEFAULT_N_CLS
from findna.model.config import ModelConfig
from findna.model.loading import load_encoder
from findna.model.pooling import CLS_POOLINGS
from findna.outputs import write_text_atomic
from findna.provenance import Provenance, config_hash

log = logging.getLogger(__name__)


def _settings_hash(cfg: BenchmarkConfig, scratch: ModelConfig | None) -> str:
    """What changes a result besides the model weights (resume refuses a mismatch)."""
    mode_cfg = cfg.probe if cfg.mode == "probe" else cfg.finetune
    settings = config_to_dict(mode_cfg)
    if cfg.mode == "probe" and settings["head_threads"] == ProbeConfig.head_threads:
        # Keyed only when changed, so that benchmarks written before the setting existed resume.
        del settings["head_threads"]
    if cfg.mode == "probe" and settings["depth"] == ProbeConfig.depth:
        del settings["depth"]  # likewise (issue 21's probe.depth)
    if cfg.mode == "probe":
        # Keyed as the feature cache spells it ("32" for 32-true), so that benchmarks written
        # before the precision names were unified still resume.
        settings["features"]["precision"] = cfg.probe.features.value_key()["precision"]
    # n_cls None (the model's count) spelled 10, as before it followed the model, where no CLS
    # rows are read: benchmarks written then resume. With a CLS pooling the count may differ.
    feats = settings["features"] if cfg.mode == "probe" else settings
    if feats["n_cls"] is None and feats["pooling"] not in CLS_POOLINGS:
        feats["n_cls"] = DEFAULT_N_CLS
    return config_hash(
        {
            "mode": cfg.mode,
            cfg.mode: settings,
            "split_seed": cfg.split_seed,
            "per_task_presets": cfg.per_task_presets,
            "scratch": None if scratch is None else config_to_dict(scratch),
            # Only when it changes the data, so that benchmarks written before it resume.
            **({"on_invalid": "n"} if cfg.on_invalid == "n" else {}),
            **({"columns": _columns(cfg).given()} if _columns(cfg).given() else {}),
        }
    )


def _columns(cfg: BenchmarkConfig) -> UserTaskOptions:
    """How the suite's user tables are read: columns, task type, targets or labels, and the
    reference genome of its BED tasks (keyed in the settings hash only when set)."""
    targets = cfg.target_columns
    return UserTaskOptions(
        label_column=cfg.label_column,
        sequence_column=cfg.sequence_column,
        task_type=cfg.task_type,
        target_columns=tuple(targets) if targets is not None else None,
        label_separator=cfg.label_separator,
        reference=cfg.reference,
    )


def _resolve_tasks(cfg: BenchmarkConfig, names: Sequence[str | TaskSpec]) -> list[TaskSpec]:
    """The suite's tasks; the column settings apply to the user's data among them."""
    columns = _columns(cfg)
    own = [t for t in names if isinstance(t, str) and t not in TASKS]
    if columns.given() and not own:
        raise ValueError(
            f"{', '.join(f'{k}={v}' for k, v in columns.given().items())} set, but no task of "
            f"the suite ({', '.join(t if isinstance(t, str) else t.name for t in names)}) is the "
            "path of your own data; registered tasks have columns of their own. Drop the "
            "setting, or add the path of your data to --suite."
        )
    return [
        t if not isinstance(t, str) else resolve_task(t, columns if t in own else None)
        for t in names
    ]


def finetune_settings(cfg: BenchmarkConfig, task: str, which: str) -> FinetuneConfig:
    """The fine-tuning settings of one task: ``cfg.finetune`` (+ its preset) and ``which``."""
    base = config_to_dict(cfg.finetune)
    if cfg.per_task_presets and task in TASK_PRESETS:
        base.update(preset_settings(TASK_PRESETS[task]))
    base["which"] = which
    return config_from_dict(FinetuneConfig, base, f"finetune settings of {task}")


def _method(cfg: BenchmarkConfig, task: str, which: str, task_type: str) -> Method:
    """The benchmark's method for one task and network: a probe (per-base tasks' own inside
    :class:`Probe`), or fine-tuning with the task's settings for its ``task_type``
    (:func:`findna.eval.finetune_methods.finetune_method`)."""
    if cfg.mode == "probe":
        return Probe(dataclasses.replace(cfg.probe, which=which))
    return finetune_method(task_type, finetune_settings(cfg, task, which))


def _scratch_config(cfg: BenchmarkConfig, models: list[ModelSpec]) -> ModelConfig | None:
    if not any(m.is_scratch for m in models):
        return None
    if cfg.scratch_model is not None:
        return cfg.scratch_model
    first = next((m for m in models if not m.is_scratch), None)
    if first is None:
        raise ValueError(
            "scratch copies the architecture of the first pretrained model, and none is given: "
            "add a pretrained model to --models or set scratch_model in the benchmark config"
        )
    net, _ = load_encoder(first.source, which=first.which)
    return net.config


BENCHMARK_FOLDER = FolderKind(
    "findna benchmark",
    "benchmark",
    (
        "config.yaml",
        "results.jsonl",
        "results.json",
        "results.md",
        "results.csv",
        "results_summary.csv",
        "comparison.png",
        "comparison.pdf",
        "predictions",
        "cache",
        "models",
    ),
    lambda p: (p / "results.jsonl").is_file() or (p / "results.json").is_file(),
    exists_hint="run it without --force to resume it, or with --force to start afresh",
)
"""What ``benchmark`` writes in its folder (and what ``--force`` may remove there)."""


def run_benchmark(
    cfg: BenchmarkConfig,
    *,
    tasks: Sequence[str | TaskSpec] | None = None,
    root: str | Path | None = None,
    force: bool = False,
) -> BenchmarkReport:
    """Run (or finish) a benchmark and write its files to ``cfg.out_dir``.

    Args:
        cfg: the benchmark.
        tasks: tasks to run instead of ``cfg.suite`` (names, paths of a user's data, or
            ``TaskSpec`` objects).
        root: data root (None: ``findna.data.root.data_root()``).
        force: discard the results already in ``out_dir`` instead of resuming.

    Returns:
        The report of every requested (task, model, seed).

    Raises:
        ValueError: bad suite/model specs, or ``out_dir`` holds results of other settings.
        FileNotFoundError: a model source or a task's data is missing.
    """
    names = tasks or resolve_tasks(cfg.suite, root)
    specs = _resolve_tasks(cfg, names)
    models = parse_models(cfg.models)
    model_ids = {m.name: model_id(m) for m in models}
    scratch = _scratch_config(cfg, models)
    settings = _settings_hash(cfg, scratch)
    out = Path(cfg.out_dir)
    # findna/folders: one benchmark at a time per folder; --force removes only the files a
    # benchmark writes (the user's files stay); without it the folder is resumed.
    folder = start_folder(out, BENCHMARK_FOLDER, force=force, resume=not force)
    results_log = ResultLog(out / "results.jsonl")
    for key, entry in results_log.entries.items():
        same_weights = model_ids.get(key[1], entry["model_id"]) == entry["model_id"]
        if entry["settings"] != settings or not same_weights:
            folder.release()
            raise ValueError(
                f"{out / 'results.jsonl'} holds a result for {key} made with other settings or "
                "other weights under that model name; use another --out, or --force to discard it"
            )
    dump_config(cfg, out / "config.yaml")
    cache = Path(cfg.cache_dir) if cfg.cache_dir else out / "cache"
    keys = [(s.name, m.name, cfg.mode, seed) for s in specs for m in models for seed in cfg.seeds]
    by_name = {s.name: s for s in specs}
    loaded: dict[tuple[str, int], CheckedTask] = {}  # one task in memory at a time

    def load(task_name: str, split_seed: int) -> CheckedTask:
        if (task_name, split_seed) not in loaded:
            loaded.clear()
            data = load_task(by_name[task_name], split_seed, root=root, on_invalid=cfg.on_invalid)
            loaded[(task_name, split_seed)] = check_task(data)
        return loaded[(task_name, split_seed)]

    done = [k for k in keys if k in results_log.entries]
    redo = results_log.made_on_other_data(done, lambda seed: _split_seed(cfg, seed), load)
    todo = [k for k in keys if k not in results_log.entries or k in redo]
    log.info(
        "benchmark: %d runs, %d already done, %d to do", len(keys), len(keys) - len(todo), len(todo)
    )
    for n, key in enumerate(todo, 1):
        task_name, model_name, _, seed = key
        split_seed = _split_seed(cfg, seed)
        task = load(task_name, split_seed)
        model = next(m for m in models if m.name == model_name)
        log.info("[%d/%d] %s / %s / seed %d", n, len(todo), task_name, model_name, seed)
        where = Path(_task_folder(task_name), model_name, f"seed{seed}")
        save = None
        if cfg.mode == "finetune" and cfg.save_models:
            save = out / "models" / where
        result = run_seed(
            task,
            model.source,
            _method(cfg, task_name, model.which, by_name[task_name].task_type),
            seed,
            scratch_config=scratch,
            model_name=model_name,
            cache_dir=cache,
            save_dir=save,
            predictions=out / "predictions" / where.with_suffix(".csv"),
        )
        results_log.append(key, settings, model_ids[model_name], result, task.data.fingerprint())
    report = write_report(cfg, specs, models, model_ids, results_log, keys, root)
    folder.finish()  # the manifest: complete (a failure leaves it unfinished, to be resumed)
    return report


def _split_seed(cfg: BenchmarkConfig, seed: int) -> int:
    """The seed a run's task is split with: the run's seed unless ``split_seed`` fixes one."""
    return seed if cfg.split_seed is None else cfg.split_seed


def _task_folder(task: str) -> str:
    """A task's folder under ``models/`` and ``predictions/`` (``gue/EMP/H3``: ``gue__EMP__H3``)."""
    return task.replace("/", "__")


def _data_root_or_none() -> Path | None:
    """The data root, or None when there is none (tasks made only of absolute paths need none;
    their files are then named by full path in the provenance)."""
    try:
        return data_root()
    except FileNotFoundError:
        return None


def write_report(
    cfg: BenchmarkConfig,
    specs: Sequence[TaskSpec],
    models: Sequence[ModelSpec],
    model_ids: dict[str, str],
    results_log: ResultLog,
    keys: Sequence[tuple],
    root: str | Path | None,
) -> BenchmarkReport:
    """Write ``results.json``, ``results.md``, ``results.csv``, ``results_summary.csv``,
    ``comparison.png`` and ``comparison.pdf`` of the requested keys."""
    out = Path(cfg.out_dir)
    root_path = Path(root) if root is not None else _data_root_or_none()
    files = {s.name: [p for p in data_files(s, root_path) if p.is_file()] for s in specs}
    plain = config_to_dict(cfg)
    plain["resolved_models"] = [
        {**dataclasses.asdict(m), "checkpoint_id": model_ids[m.name]} for m in models
    ]
    cards = {s.name: task_card(s) for s in specs}
    ids = {m.name: model_ids[m.name] for m in models}
    provenance = Provenance.collect(plain, None, files, root_path, tasks=cards, checkpoints=ids)
    # a published model's predictions in the task's files, scored on the same split seeds' rows
    split_seeds = cfg.seeds if cfg.split_seed is None else [cfg.split_seed]
    peers = peer_results(specs, split_seeds, root, on_invalid=cfg.on_invalid)
    report = BenchmarkReport([*(results_log.result(k) for k in keys), *peers], provenance)
    report.to_json(out / "results.json")
    lines = [
        "# findna benchmark\n",
        "| model | source | network | checkpoint |",
        "|---|---|---|---|",
    ]
    lines += [f"| {m.name} | {m.source} | {m.which} | {model_ids[m.name][:12]} |" for m in models]
    write_text_atomic(
        out / "results.md", "\n".join(lines) + "\n\n" + report.to_markdown(per_seed=True)
    )
    write_tables(report.results, out, "results")
    plot_comparison(report, out / "comparison.png")
    plot_comparison(report, out / "comparison.pdf")  # vector, for papers
    log.info("wrote %s: results.json, .md, .csv, results_summary.csv, comparison.png and .pdf", out)
    return report


__all__ = [
    "BenchmarkConfig",
    "ModelSpec",
    "ResultLog",
    "finetune_settings",
    "load_benchmark_config",
    "parse_models",
    "run_benchmark",
    "write_report",
]
