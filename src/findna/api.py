"""The Python API: findna's main commands as functions with the CLI's names and defaults.

``import findna`` gives these names lazily (importing findna stays fast; torch loads on first
use). Each is a thin layer over the module the CLI calls, so settings, checks and outputs are the
same; docs/api.md shows each with an example that CI runs.

Settings are passed as a preset name (``config``, as ``--config``) and/or a mapping of
``key: value`` (as ``--set key=value``, nested keys with dots or nested mappings), or as a ready
settings dataclass (``settings=ProbeConfig(epochs=5)``). Keyword defaults are the CLI's
(``tests/test_api_defaults.py``); ``findna config show KIND`` lists the keys.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from findna.cli.settings import PredictConfig
from findna.config import (
    config_from_dict,
    config_to_dict,
    load_config,
    merge_settings,
    preset_path,
    read_preset,
)
from findna.data.tasks import TaskData
from findna.data.tasks import load_task as _load_task
from findna.data.user_layouts import UserTaskOptions
from findna.data.user_tasks import resolve_task
from findna.devices import resolve_device
from findna.eval.benchmark import BenchmarkConfig, run_benchmark
from findna.eval.embed import EmbedResult, embed_file
from findna.eval.embedder import Embedder
from findna.eval.features import FeatureConfig, extract_features, iter_token_states
from findna.eval.finetune_config import FinetuneConfig
from findna.eval.finetune_methods import finetune_task_of_type
from findna.eval.length_rule import check_built_network, scan_lengths, tokens_for_inputs
from findna.eval.predict import fit_to_inputs, input_limit, model_outputs, open_classifier
from findna.eval.probe import ProbeConfig, probe_task
from findna.eval.report import BenchmarkReport, check_report_dir
from findna.eval.variants import VariantScoreConfig
from findna.eval.variants_file import ScoreVariantsResult, score_variants_file
from findna.model.config import ModelConfig
from findna.model.inputs import encode_sequences
from findna.model.loading import load_encoder
from findna.model.network import FinDNANetwork
from findna.model.pooling import Pooling
from findna.train.config import PretrainConfig
from findna.train.pretrain import PretrainResult, run_pretrain

T = TypeVar("T")


def _settings(cls: type[T], kind: str, config: str | Path | None, settings: Any, **given: Any) -> T:
    """``cls`` defaults <- preset ``config`` <- ``settings`` <- ``given`` (the function's own
    arguments, e.g. ``out_dir``; None ones are unset), as the CLI's ``--config`` <- ``--set`` <-
    flags.

    ``settings``: a mapping of keys (dotted or nested), a ready ``cls`` (then it replaces
    defaults and preset) or None. Values are used
    as given (no text round trip); a wrong key or value raises ValueError naming it, a broken
    preset names its file.
    """
    given = {k: v for k, v in given.items() if v is not None}
    if isinstance(settings, cls):
        if config is not None:
            raise ValueError(f"give config or a ready {cls.__name__} as settings, not both")
        if not given:
            return settings
        base, path = config_to_dict(settings), None
    elif settings is None or isinstance(settings, Mapping):
        path = preset_path(kind, config) if config is not None else None
        base = read_preset(path) if path is not None else {}
    else:
        raise ValueError(
            f"settings must be a mapping of {cls.__name__} keys or a {cls.__name__}, got "
            f"{type(settings).__name__}"
        )
    data = merge_settings(base, _nested(settings if isinstance(settings, Mapping) else {}))
    try:
        return config_from_dict(cls, merge_settings(data, _nested(given)), cls.__name__)
    except ValueError:
        if path is not None:
            config_from_dict(cls, base, str(path))  # the preset alone fails: name its file
        raise


def _nested(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "c": {"d": p}}`` -> ``{"a": {"b": 1}, "c": {"d": str(p)}}`` (paths as text)."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if not isinstance(key, str) or not key.strip("."):
            raise ValueError(f"settings key {key!r}: give a key such as 'epochs' or 'run.seed'")
        if isinstance(value, Mapping):
            value = _nested(value)
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        for part in reversed(key.split(".")):
            value = {part: value}
        out = merge_settings(out, value)
    return out


def _scratch(scratch: str | ModelConfig | None) -> ModelConfig | None:
    if scratch is None or isinstance(scratch, ModelConfig):
        return scratch
    return load_config(ModelConfig, preset_path("model", scratch))


def load_model(
    source: str | Path,
    *,
    which: str = "teacher",
    max_len: int | None = None,
    scratch: str | ModelConfig | None = None,
    seed: int = 0,
) -> FinDNANetwork:
    """A pretrained network (eval mode, CPU) from a run folder, an export, a ``.ckpt``, or
    ``"scratch"`` (a random network of the ``scratch`` architecture: a preset name such as
    ``"tiny"`` or a ModelConfig; default the paper's).

    ``which``: ``teacher`` (the downstream default) or ``student``. ``max_len``: the longest
    input in tokens the network is built for, CLS rows included (None: as stored); longer inputs
    than pretraining add untrained blocks, as for the CLI (their count logged at WARNING).
    :func:`embed` given a source builds the network for its inputs itself (the length rule,
    docs/reliability.md); a built network takes inputs up to its own ``max_len``.
    """
    net, _ = load_encoder(
        source, which=which, max_len=max_len, seed=seed, scratch_config=_scratch(scratch)
    )
    return net


def encode(seqs: Sequence[str]) -> list[np.ndarray]:
    """DNA strings -> uint8 codes (A 0, C 1, G 2, T 3, N and IUPAC 4), the networks' input.

    Raises ValueError naming the sequence and position of a character that is not DNA.
    """
    return encode_sequences(list(seqs))


def embed(
    model: FinDNANetwork | str | Path,
    seqs: Sequence[str],
    *,
    pooling: Pooling = "masked_mean",
    rc_average: bool = False,
    batch_size: int = 64,
    device: str = "auto",
    progress: bool = False,
    per_token: bool = False,
    max_len: int | None = None,
) -> np.ndarray | list[np.ndarray]:
    """Pooled features of sequences in memory: an (N, d) float32 array (2d for ``mean+cls``),
    or with ``per_token`` one (L_i, d) array of token states per sequence.

    ``model``: a network from :func:`load_model`, or a source it takes. ``pooling``: one of
    :data:`findna.model.pooling.POOLINGS` (:class:`~findna.eval.features.FeatureConfig`). Files
    of any size go through :func:`embed_to_file` instead (streamed, with ids).

    Lengths (docs/reliability.md, "The length rule"): a source is built for the inputs, the
    longest plus the CLS rows (``max_len``: that many tokens instead, as ``--max-len``), as
    ``findna embed`` does; a built network takes inputs up to its own ``max_len`` and refuses
    longer ones, naming ``load_model(source, max_len=N)``.
    """
    cfg = FeatureConfig(
        pooling=pooling, rc_average=rc_average, batch_size=batch_size, device=device
    )
    codes = encode(seqs)
    lengths = scan_lengths((f"sequence {i}", c) for i, c in enumerate(codes))
    if isinstance(model, FinDNANetwork):  # its CLS rows: the paper's 10 (nothing else says)
        net = model
        check_built_network(lengths, 0 if per_token else cfg.cls_tokens, net.config, max_len)
    else:
        cfg = cfg.for_source(model, "teacher")
        cls_tokens = 0 if per_token else cfg.cls_tokens
        sized = tokens_for_inputs(lengths, cls_tokens, max_len, model) if codes else max_len
        net = load_model(model, max_len=sized)
    if per_token:
        return list(iter_token_states(net, codes, cfg))
    return extract_features(net, codes, cfg, progress=progress)


def embed_to_file(
    input_path: str | Path, model: str | Path, out: str | Path, **options: Any
) -> EmbedResult:
    """``findna embed INPUT --model MODEL --out OUT``: features of every sequence of a FASTA,
    CSV/TSV or text file to ``.npy`` (+ ``.ids.txt``) or ``.parquet``; ``options`` are
    :func:`findna.eval.embed.embed_file`'s (``cfg``, ``which``, ``force``, ...)."""
    return embed_file(input_path, model, out, **options)


def load_task(
    task: str | Any, split_seed: int = 0, *, task_options: Mapping[str, Any] | None = None
) -> TaskData:
    """A task's train/val/test splits (``findna data info TASK``); ``task`` is a registered name
    (``findna data list``), the path of your own data (a folder, a table or a task YAML;
    docs/data.md) or a :class:`findna.data.tasks.TaskSpec`. ``task_options``: how your tables are
    read, as the flags (``{"task_type": "multilabel", "target_columns": ["a", "b"]}``; keys of
    :class:`findna.data.user_layouts.UserTaskOptions`: ``label_column``, ``label_separator``...)."""
    opts = UserTaskOptions(**(task_options or {}))
    return _load_task(resolve_task(task, opts) if isinstance(task, str) else task, split_seed)


def probe(
    task: str | TaskData,
    model: str | Path,
    *,
    seeds: Sequence[int] = (0,),
    out: str | Path = "runs/probe",
    config: str | Path | None = None,
    settings: Mapping[str, Any] | ProbeConfig | None = None,
    scratch: str | ModelConfig | None = None,
    name: str | None = None,
    force: bool = False,
) -> BenchmarkReport:
    """``findna probe``: frozen features, a head per learning rate chosen on validation, test
    scored once per seed; writes ``out/probe.json`` and ``probe.md``."""
    cfg = _settings(ProbeConfig, "probe", config, settings)
    data = task if isinstance(task, TaskData) else load_task(task)
    check_report_dir(out, "probe", force=force)
    return probe_task(
        data,
        model,
        cfg,
        list(seeds),
        Path(out),
        scratch_config=_scratch(scratch),
        model_name=name,
        force=force,
    )


def finetune(
    task: str | TaskData,
    model: str | Path,
    *,
    seeds: Sequence[int] = (0,),
    out: str | Path = "runs/finetune",
    config: str | Path | None = None,
    settings: Mapping[str, Any] | FinetuneConfig | None = None,
    scratch: str | ModelConfig | None = None,
    name: str | None = None,
    save_models: bool = True,
    force: bool = False,
) -> BenchmarkReport:
    """``findna finetune``: all weights trained per seed, the epoch chosen on validation; writes
    ``out/finetune.json`` and each seed's model ``out/seed<k>/`` (for :func:`predict`; a
    regression or multi-label task's too, with its task type, output names and a regression
    task's training standardisation)."""
    cfg = _settings(FinetuneConfig, "finetune", config, settings)
    data = task if isinstance(task, TaskData) else load_task(task)
    check_report_dir(out, "finetune", force=force)
    return finetune_task_of_type(  # a per-base task gets its own (per_base_finetune)
        data,
        model,
        cfg,
        list(seeds),
        out,
        scratch_config=_scratch(scratch),
        model_name=name,
        save_models=save_models,
        force=force,
    )


def predict(
    classifier_dir: str | Path,
    seqs: Sequence[str],
    *,
    batch_size: int = 128,
    device: str = "auto",
    precision: str = "auto",
    allow_longer: bool = False,
) -> np.ndarray | list[np.ndarray]:
    """What a fine-tuned model folder predicts for sequences, (N, C) float64, column c for
    output c of its ``task.json`` (``classes``): a classifier's class probabilities (rows sum
    to 1); a regression model's values in the targets' units (``findna predict``'s
    ``pred_<target>``: the head's standardised outputs times the training sd plus the mean); a
    multi-label model's per-label probabilities (sigmoid; ``findna predict`` predicts a label
    at 0.5 or ``--threshold``). A per-base model gives a list of N (L_i, C) arrays instead: the
    class probabilities of every base of sequence i (``findna predict``'s ``predicted_labels``
    is their argmax). ``device`` and ``precision`` as ``findna predict`` (``auto``: CUDA with
    bf16 autocast when available; on a CPU :func:`findna.precision.choose_precision`).

    Sequences longer than the classifier was fine-tuned for are refused (its head was selected
    on shorter ones) unless ``allow_longer`` (``--allow-longer``), which rebuilds the encoder
    for them, untrained blocks logged at WARNING (docs/reliability.md, "The length rule")."""
    cfg = PredictConfig(
        batch_size=batch_size, device=device, precision=precision, allow_longer=allow_longer
    )
    dev = resolve_device(cfg.device)
    model, info = open_classifier(classifier_dir)
    codes = encode(seqs)
    lengths = scan_lengths(((f"sequence {i}", c) for i, c in enumerate(codes)), input_limit(model))
    model = fit_to_inputs(
        model,
        info,
        classifier_dir,
        lengths,
        allow_longer=cfg.allow_longer,
        where="findna.predict",
        flag="allow_longer=True",
    )
    return model_outputs(
        model.to(dev), info, codes, batch_size=cfg.batch_size, device=dev, precision=cfg.precision
    )


def score_variants(
    variants: str | Path,
    genome: str | Path,
    model: str | Path,
    out: str | Path,
    *,
    config: str | Path | None = None,
    settings: Mapping[str, Any] | VariantScoreConfig | None = None,
    scratch: str | ModelConfig | None = None,
    force: bool = False,
    progress: bool = False,
) -> ScoreVariantsResult:
    """``findna score-variants``: zero-shot log P(alt) - log P(ref) of every variant of a VCF,
    TSV/CSV or Parquet table (chrom, pos 1-based, ref, alt) from the MNM head, both strands
    averaged; TSV, Parquet or VCF (INFO ``FINDNA_LLR``) by ``out``'s suffix, with provenance in
    ``OUT.meta.json`` (docs/variants.md). ``settings``: VariantScoreConfig keys; with
    ``{"labels": COLUMN}`` the result's ``metrics`` hold AUROC/AUPRC of ``-llr``."""
    cfg = _settings(VariantScoreConfig, "score-variants", config, settings)
    return score_variants_file(
        variants,
        genome,
        str(model),
        out,
        cfg,
        scratch_config=_scratch(scratch),
        force=force,
        progress=progress,
    )


def benchmark(
    models: Sequence[str],
    suite: str | None = None,
    *,
    config: str | Path | None = None,
    mode: str | None = None,
    seeds: Sequence[int] | None = None,
    out: str | Path | None = None,
    settings: Mapping[str, Any] | BenchmarkConfig | None = None,
    force: bool = False,
) -> BenchmarkReport:
    """``findna benchmark``: every (task, model, seed), resumable; ``models`` as the CLI's
    ``--models`` (``NAME=SOURCE`` or a source, ``scratch`` for a random network). ``config``: a
    benchmark preset (``"emp_probe"``) or YAML, as ``--config``; ``settings``: BenchmarkConfig
    keys (``probe``, ``finetune``, ...) or a BenchmarkConfig. ``suite``, ``mode``, ``seeds`` and
    ``out`` set those keys when given, as the flags do; left None they are the preset's, else
    BenchmarkConfig's (``emp``, ``probe``, 0 1 2, ``runs/benchmark``)."""
    seeds = None if seeds is None else list(seeds)
    out = None if out is None else str(out)
    given = dict(models=list(models), suite=suite, mode=mode, seeds=seeds, out_dir=out)
    cfg = _settings(BenchmarkConfig, "benchmark", config, settings, **given)
    return run_benchmark(cfg, force=force)


def pretrain(
    config: str | Path | None = None,
    settings: Mapping[str, Any] | PretrainConfig | None = None,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
) -> PretrainResult:
    """``findna pretrain``: a preset (``tiny``, ``small``, ``paper``, ...; None: the defaults,
    which are the paper's, as for the CLI) with ``settings`` on top; ``out`` sets
    ``run.out_dir``. Returns where the run and its exported model are."""
    given = {} if out is None else {"run": {"out_dir": str(out)}}
    cfg = _settings(PretrainConfig, "pretrain", config, settings, **given)
    return run_pretrain(cfg, resume=resume, force=force)


__all__ = [
    "Embedder",
    "benchmark",
    "embed",
    "embed_to_file",
    "encode",
    "finetune",
    "load_model",
    "load_task",
    "predict",
    "pretrain",
    "probe",
    "score_variants",
]
