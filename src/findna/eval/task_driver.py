"""One driver for every downstream method: a task checked once, a seed run, one result, a report.

A *method* fits a model to a task's train split and selects on its validation split: a linear or
MLP probe or kNN on frozen features (:class:`findna.eval.probe.Probe`), or fine-tuning of every
weight (:class:`findna.eval.finetune.Finetune`). The driver does what they all share:

- :func:`check_task`, once per task: the splits can give a meaningful score
  (:func:`findna.data.splits.check_splits`), their sizes, the encoded sequences and the network
  length for a number of CLS rows are computed once and kept;
- :func:`run_seed`, once per (task, model, seed): the method's settings for the model source, the
  fit, and a :class:`SeedResult` with the same fields and timings for every method
  (``load_s``: encoder built and, for probes, features extracted or read, of which
  ``features_s`` extracting; ``train_s``: fitting and selection on validation; ``test_s``: the
  test split scored once);
- :func:`run_task` (``findna probe``/``finetune``): every seed, each saved at once to
  ``<mode>_seeds.json`` with its test predictions (``predictions/seed<k>.csv``), then
  ``<mode>.json``/``.md`` with provenance and the CSV tables ``<mode>.csv`` and
  ``<mode>_summary.csv`` (:mod:`findna.eval.report_tables`).

``findna benchmark`` (:mod:`findna.eval.benchmark`) calls :func:`run_seed` for each entry.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from findna.config import config_to_dict, dump_config
from findna.data.catalog import data_files, task_card
from findna.data.per_base import per_base_sizes
from findna.data.splits import check_splits, split_sizes
from findna.data.tasks import TaskData, task_max_len
from findna.eval.peer import peer_result
from findna.eval.report import BenchmarkReport, SeedResult, report_folder, write_seed_results
from findna.eval.report_tables import write_predictions, write_tables
from findna.eval.task_types import KINDS, is_per_base
from findna.folders import start_folder
from findna.model.config import ModelConfig
from findna.model.inputs import encode_sequences
from findna.model.loading import SCRATCH, default_model_name, load_encoder, resolve_source
from findna.model.network import FinDNANetwork
from findna.outputs import write_text_atomic
from findna.provenance import Provenance

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")


@dataclass
class CheckedTask:
    """A loaded task whose splits passed :func:`check_splits`, with what every seed reads.

    Made by :func:`check_task`; ``max_len`` and ``codes`` are computed on first use and kept.
    """

    data: TaskData
    sizes: dict[str, dict[str, int]]
    _max_lens: dict[tuple[int, int | None], int] = field(default_factory=dict, repr=False)
    _codes: dict[str, list[np.ndarray]] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.data.spec.name

    def labels(self, split: str) -> np.ndarray:
        """The labels of ``split`` (``train``, ``val`` or ``test``)."""
        return self.data.splits()[split].labels

    def max_len(self, cls_tokens: int, override: int | None = None) -> int:
        """Tokens a network for this task is built for (:func:`findna.data.tasks.task_max_len`)."""
        key = (cls_tokens, override)
        if key not in self._max_lens:
            self._max_lens[key] = task_max_len(self.data, cls_tokens, override)
        return self._max_lens[key]

    def codes(self, split: str) -> list[np.ndarray]:
        """The sequences of ``split`` as uint8 codes, encoded once for all splits."""
        if self._codes is None:
            self._codes = {
                name: encode_sequences(part.seqs, f"task {self.name} {name}")
                for name, part in self.data.splits().items()
            }
        return self._codes[split]


def check_task(task: TaskData | CheckedTask) -> CheckedTask:
    """``task`` checked (:func:`findna.data.splits.check_splits`); a checked task as it is."""
    if isinstance(task, CheckedTask):
        return task
    if is_per_base(task.spec.task_type):  # sizes count bases per class
        try:
            return CheckedTask(task, per_base_sizes(task.splits(), task.spec.num_classes))
        except ValueError as err:
            raise ValueError(f"task {task.spec.name}: {err}") from None
    # classes, regression targets or multi-label 0/1 labels: check_splits tells them apart;
    # targets names a regression task's targets or a multi-label task's labels in messages
    targets = task.spec.targets
    try:
        check_splits(task.spec.name, task.splits(), targets)
    except ValueError as err:  # say how the splits were made, and with which seed
        made = task_card(task.spec, task.seed)["splits"]
        raise ValueError(f"{err} (splits: {made}; split seed {task.seed})") from None
    return CheckedTask(task, split_sizes(task.splits(), targets))


@dataclass
class SeedJob:
    """One (task, model source, seed) as a method's ``fit`` sees it.

    Attributes:
        task: the checked task. source: the model source (:func:`load_encoder`).
        seed: seeds fresh weights, heads, dropout and shuffling.
        max_len: the encoder's length in tokens, CLS rows included.
        scratch_config: the architecture of a ``scratch`` source.
        cache_dir: where a probe caches features (None: no cache).
        save_dir: where fine-tuning saves the selected classifier (None: not saved).
        log_dir: where fine-tuning writes per-epoch metrics (None: not written).
        progress: progress bars.
        model_id: the weights' id, set by :meth:`load_encoder`.
    """

    task: CheckedTask
    source: str | Path
    seed: int
    max_len: int
    scratch_config: ModelConfig | None = None
    cache_dir: Path | None = None
    save_dir: Path | None = None
    log_dir: Path | None = None
    progress: bool = False
    model_id: str | None = None

    def load_encoder(self, which: str, length_mode: str) -> FinDNANetwork:
        """The encoder of this job, built for ``max_len`` tokens; records its ``model_id``."""
        net, self.model_id = load_encoder(
            self.source,
            which=which,
            max_len=self.max_len,
            length_mode=length_mode,
            seed=self.seed,
            scratch_config=self.scratch_config,
        )
        return net


@dataclass
class Fit:
    """What a method's ``fit`` returns.

    Attributes:
        val_metrics: the selected model's validation metrics.
        test_metrics: its test metrics (the test split scored once).
        hyperparameters: the method's settings and what selection chose.
        timings: ``load_s``, ``train_s``, ``test_s`` (see the module docstring), and any of
            the method's own (a probe's ``features_s``).
        choice: what selection chose, for the log (e.g. ``"lr 0.003"``).
        test_probs: (N, C) class probabilities of the test split (the ones ``test_metrics``
            were computed from), written by the driver as the seed's predictions; None for a
            method that has none. Never stored in results.
    """

    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    hyperparameters: dict[str, Any]
    timings: dict[str, float]
    choice: str = ""
    test_probs: np.ndarray | None = field(default=None, repr=False)


class Method(Protocol):
    """A downstream method: its settings (``config``), and a fit of one :class:`SeedJob`."""

    mode: str
    """``probe`` or ``finetune``: the results' mode and the report files' stem."""

    @property
    def config(self) -> Any: ...  # the settings dataclass

    @property
    def which(self) -> str: ...  # the network of a run: teacher or student

    @property
    def cls_tokens(self) -> int: ...  # CLS rows appended to every sequence

    @property
    def max_len(self) -> int | None: ...  # an explicit encoder length, else None

    def for_source(self, source: str | Path) -> Method: ...  # settings for one model source

    def fit(self, job: SeedJob) -> Fit: ...


def run_seed(
    task: TaskData | CheckedTask,
    source: str | Path,
    method: Method,
    seed: int,
    *,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    cache_dir: Path | None = None,
    save_dir: str | Path | None = None,
    log_dir: str | Path | None = None,
    progress: bool = False,
    predictions: str | Path | None = None,
) -> SeedResult:
    """``method`` fitted for one model source and seed on ``task``; the test split scored once.

    Args:
        task: the task, checked here unless it is a :class:`CheckedTask` already.
        source: an HF model dir, a pretraining run dir, a ``.ckpt`` file or ``"scratch"``.
        method: :class:`findna.eval.probe.Probe` or :class:`findna.eval.finetune.Finetune`.
        seed: the run's seed (see :class:`SeedJob`).
        scratch_config, cache_dir, save_dir, log_dir, progress: see :class:`SeedJob`.
        model_name: the result's model name (default :func:`default_model_name`).
        predictions: where to write the test predictions as CSV
            (:func:`findna.eval.report_tables.write_predictions`; None: not written).

    Returns:
        A ``SeedResult`` whose hyperparameters hold the method's and ``which``, ``max_len``,
        ``model_id`` and ``split_seed``.
    """
    checked = check_task(task)
    method = method.for_source(source)
    job = SeedJob(
        checked,
        source,
        seed,
        checked.max_len(method.cls_tokens, method.max_len),
        scratch_config,
        cache_dir=cache_dir,
        save_dir=Path(save_dir) if save_dir is not None else None,
        log_dir=Path(log_dir) if log_dir is not None else None,
        progress=progress,
    )
    fit = method.fit(job)
    spec = checked.data.spec
    # the task type's prediction columns and notes (eval/task_types.py); a type without an
    # object there (one whose method writes no test predictions) has neither
    kind = KINDS.get(spec.task_type)
    notes = {}
    if kind is not None:
        names = kind.output_names(spec.classes, spec.targets, spec.num_outputs)
        labels = {s: checked.labels(s) for s in ("val", "test")}
        notes = kind.notes(labels, names)
    if predictions is not None and fit.test_probs is not None and kind is not None:
        write_predictions(predictions, checked.data.test, names, fit.test_probs, kind.columns)
    metric = spec.metric
    log.info(
        "%s seed %d: val %s %.4f, test %.4f (%s)",
        spec.name,
        seed,
        metric,
        fit.val_metrics[metric],
        fit.test_metrics[metric],
        fit.choice,
    )
    common = {
        "which": method.which,
        "max_len": job.max_len,
        "model_id": job.model_id,
        "split_seed": checked.data.seed,
        **notes,  # multi-label: labels_without_both_classes per split
    }
    return SeedResult(
        task=spec.name,
        model=model_name or default_model_name(source),
        mode=method.mode,
        seed=seed,
        primary_metric=metric,
        val_metrics=fit.val_metrics,
        test_metrics=fit.test_metrics,
        hyperparameters={**fit.hyperparameters, **common},
        timings=fit.timings,
        split_sizes=checked.sizes,
    )


def run_task(
    task: TaskData | CheckedTask,
    source: str | Path,
    method: Method,
    seeds: Sequence[int],
    out_dir: str | Path,
    *,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    cache_dir: Path | None = None,
    save_models: bool = False,
    progress: bool = False,
    force: bool = False,
) -> BenchmarkReport:
    """:func:`run_seed` for each seed (``findna probe``/``finetune``), written to ``out_dir``.

    Writes ``config.yaml`` (the method's settings) first, each finished seed at once to
    ``<mode>_seeds.json`` (results only, so a later failure, e.g. while collecting provenance,
    never loses finished runs) and its test predictions to ``predictions/seed<k>.csv``, then
    ``<mode>.json``/``.md`` with provenance and ``<mode>.csv``/``<mode>_summary.csv``. Probes cache
    features in ``cache_dir`` (default ``out_dir/features``); fine-tuning writes each seed's
    per-epoch metrics to ``logs/seed<k>/`` and, with ``save_models``, its classifier to
    ``seed<k>/``. The folder's life cycle is :mod:`findna.folders`: a finished report is
    replaced only with ``force`` (commands check it first, before any work, with
    :func:`~findna.eval.report.check_report_dir`); an unfinished one is replaced with a warning.
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and non-empty, got {seeds}")
    checked = check_task(task)  # before anything is written
    resolve_source(source, method.which)  # a mistyped model writes nothing
    out = Path(out_dir)
    # The old report's files go first and the manifest marks this run unfinished until the end:
    # a killed run never leaves a folder that mixes two runs (findna/folders).
    folder = start_folder(out, report_folder(method.mode), force=force)
    try:
        dump_config(method.config, out / "config.yaml")
        cache = cache_dir if cache_dir is not None else out / "features"
        results: list[SeedResult] = []
        for seed in seeds:
            result = run_seed(
                checked,
                source,
                method,
                seed,
                scratch_config=scratch_config,
                model_name=model_name,
                cache_dir=cache,
                save_dir=out / f"seed{seed}" if save_models else None,
                log_dir=out / "logs" / f"seed{seed}",
                progress=progress,
                predictions=out / "predictions" / f"seed{seed}.csv",
            )
            results.append(result)
            write_seed_results(results, out / f"{method.mode}_seeds.json")
        peer = peer_result(checked.data, checked.sizes)  # a published model's, if the files hold it
        results += [peer] if peer is not None else []
        report = _write_report(results, checked.data, source, method, out, scratch_config)
    except BaseException:
        folder.release()  # left unfinished: the next run replaces it without --force
        raise
    folder.finish()
    return report


def _write_report(
    results: list[SeedResult],
    task: TaskData,
    source: str | Path,
    method: Method,
    out: Path,
    scratch_config: ModelConfig | None,
) -> BenchmarkReport:
    """Collect provenance for one task's seeds and write ``OUT/<mode>.json``, ``<mode>.md``,
    ``<mode>.csv`` and ``<mode>_summary.csv`` (atomically). The settings (``{mode: ...}``), the
    source, the task's split seed and a scratch architecture (default: the paper's) are hashed
    into the provenance; the data files are checksummed under the root the task came from."""
    plain = {
        method.mode: config_to_dict(method.config),
        "source": str(source),
        "task_seed": task.seed,
    }
    if str(source) == SCRATCH:
        plain["scratch_config"] = config_to_dict(scratch_config or ModelConfig())
    provenance = Provenance.collect(
        plain,
        checkpoint_path=resolve_source(source, method.which).weights,
        data_files={task.spec.name: data_files(task.spec, task.root)},
        data_root=task.root,
        tasks={task.spec.name: task_card(task.spec)},
    )
    title = "Probe results" if method.mode == "probe" else "Fine-tuning results"
    report = BenchmarkReport(results, provenance, title=title)
    report.to_json(out / f"{method.mode}.json")
    write_text_atomic(out / f"{method.mode}.md", report.to_markdown(per_seed=True))
    write_tables(results, out, method.mode)
    return report


__all__ = [
    "CheckedTask",
    "Fit",
    "Method",
    "SeedJob",
    "check_task",
    "run_seed",
    "run_task",
]
