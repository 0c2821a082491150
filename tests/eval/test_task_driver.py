"""The task driver: one check per task, one result record for every method, settings not leaking."""

from dataclasses import replace

import pytest
import torch
from call_path import path_counts, task_path
from test_benchmark import synthetic_tasks, tiny_cfg

import findna.eval.benchmark as bm
import findna.eval.task_driver as driver
from findna.eval.benchmark import BenchmarkConfig, run_benchmark
from findna.eval.features import FeatureConfig
from findna.eval.finetune import Finetune, finetune_preset
from findna.eval.probe import Probe, ProbeConfig
from findna.eval.task_driver import check_task, run_seed

FAST_PROBE = ProbeConfig(epochs=2, lrs=(1e-3, 1e-2), features=FeatureConfig(batch_size=64))
FAST_FINETUNE = finetune_preset("tiny", epochs=1)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    from findna.data.tasks import load_task

    return load_task(synthetic_tasks(tmp_path_factory.mktemp("tasks"), 1)[0], 0)


def _bench(tmp_path, models=("scratch",), mode="probe", seeds=(0, 1)) -> BenchmarkConfig:
    """A fast benchmark of tiny scratch networks into ``tmp_path/bench``."""
    return BenchmarkConfig(
        models=list(models),
        mode=mode,
        seeds=list(seeds),
        out_dir=str(tmp_path / "bench"),
        scratch_model=tiny_cfg(),
        probe=FAST_PROBE,
        finetune=FAST_FINETUNE,
    )


def _count(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def counting(*args, **kw):
        calls.append(args[0])
        return real(*args, **kw)

    monkeypatch.setattr(module, name, counting)
    return calls


@pytest.mark.parametrize("mode", ["probe", "finetune"])
def test_a_benchmark_checks_each_task_and_computes_its_length_once(tmp_path, monkeypatch, mode):
    tasks = synthetic_tasks(tmp_path, 2)
    checks = _count(monkeypatch, driver, "check_splits")
    lengths = _count(monkeypatch, driver, "task_max_len")
    report = run_benchmark(_bench(tmp_path, ("a=scratch", "b=scratch"), mode), tasks=tasks)
    assert len(report.results) == 8  # 2 tasks x 2 models x 2 seeds
    assert checks == ["synthetic/t0", "synthetic/t1"]
    assert [t.spec.name for t in lengths] == ["synthetic/t0", "synthetic/t1"]


def test_probe_and_finetune_results_have_one_record(task):
    probe = run_seed(task, "scratch", Probe(FAST_PROBE), 0, scratch_config=tiny_cfg())
    tuned = run_seed(task, "scratch", Finetune(FAST_FINETUNE), 0, scratch_config=tiny_cfg())
    for result, mode in ((probe, "probe"), (tuned, "finetune")):
        assert result.mode == mode
        assert {"load_s", "train_s", "test_s"} <= set(result.timings)
        assert all(v >= 0 for v in result.timings.values())
        hp = result.hyperparameters
        assert hp["which"] == "teacher" and hp["model_id"] == "scratch-seed0"
        assert hp["split_seed"] == 0 and hp["max_len"] == 24  # the task's max_len, no CLS rows
        assert result.split_sizes == check_task(task).sizes
    assert probe.hyperparameters["lr"] in FAST_PROBE.lrs
    assert tuned.hyperparameters["best_epoch"] == 1


def test_a_checked_task_is_checked_once_and_reused(task, monkeypatch):
    checks = _count(monkeypatch, driver, "check_splits")
    checked = check_task(task)
    assert check_task(checked) is checked and len(checks) == 1
    assert checked.max_len(10) == 34 and checked.max_len(0, 77) == 77
    assert [len(c) for c in checked.codes("val")] == [len(s) for s in task.val.seqs]
    assert checked.codes("val") is checked.codes("val")  # encoded once


@pytest.mark.parametrize("threads", [None, 1, 2])
def test_head_threads_apply_to_the_head_training_only(task, monkeypatch, threads):
    import findna.eval.probe as probe_module

    seen = []
    real = probe_module._train_loop

    def spy(*args):
        seen.append(torch.get_num_threads())
        return real(*args)

    monkeypatch.setattr(probe_module, "_train_loop", spy)
    torch.set_num_threads(3)
    cfg = replace(FAST_PROBE, head_threads=threads)
    run_seed(task, "scratch", Probe(cfg), 0, scratch_config=tiny_cfg())
    assert seen == [3 if threads is None else threads]
    assert torch.get_num_threads() == 3  # restored


def test_head_threads_is_checked():
    with pytest.raises(ValueError, match="head_threads must be >= 1"):
        ProbeConfig(head_threads=0)


@pytest.mark.parametrize("mode, most_modules, most_returns", [("probe", 4, 3), ("finetune", 3, 3)])
def test_a_task_passes_few_modules_in_a_benchmark(tmp_path, mode, most_modules, most_returns):
    """The task's way through run_benchmark (docs/code-map.md 'One task, top-down'): loaded,
    checked and sized once in the driver, then only the method's own modules per seed. Before
    the driver: probe 4 modules and 6 returns, fine-tune 3 and 5 (tests/eval/call_path.py)."""
    path = task_path(run_benchmark, _bench(tmp_path, mode=mode), tasks=synthetic_tasks(tmp_path, 1))
    modules, returns = path_counts(path)
    assert modules <= most_modules and returns <= most_returns, " -> ".join(path)


def test_benchmark_runs_each_entry_through_the_driver(tmp_path, monkeypatch):
    calls = _count(monkeypatch, bm, "run_seed")
    run_benchmark(_bench(tmp_path, seeds=(0,)), tasks=synthetic_tasks(tmp_path, 1))
    assert len(calls) == 1 and isinstance(calls[0], driver.CheckedTask)


@pytest.mark.parametrize("method", [Probe(FAST_PROBE), Finetune(FAST_FINETUNE)])
def test_read_only_task_arrays_raise_no_warning(task, method):
    """Labels read through pandas can be read-only; no 'array is not writable' warning (torch's,
    on torch.as_tensor) reaches the user."""
    import warnings

    def read_only(part):
        labels = part.labels.copy()
        labels.flags.writeable = False
        return replace(part, labels=labels)

    frozen = replace(task, **{name: read_only(part) for name, part in task.splits().items()})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        run_seed(frozen, "scratch", method, 0, scratch_config=tiny_cfg())


@pytest.mark.parametrize(
    "method, title", [(Probe(FAST_PROBE), "Probe"), (Finetune(FAST_FINETUNE), "Fine-tuning")]
)
def test_task_reports_are_headed_by_their_method(task, tmp_path, method, title):
    report = driver.run_task(task, "scratch", method, [0], tmp_path, scratch_config=tiny_cfg())
    written = (tmp_path / f"{method.mode}.md").read_text()
    assert written.startswith(f"## {title} results (test split)")
    assert report.to_markdown().startswith(f"## {title} results")  # what the CLI prints


def test_a_benchmark_footer_names_every_model_checkpoint(tmp_path):
    """Issue 24 bug 3: a benchmark of several models named one model's weights in its footer."""
    import json

    from findna.model.network import FinDNANetwork

    runs = {}
    for seed in (0, 1):
        torch.manual_seed(seed)
        runs[f"m{seed}"] = tmp_path / f"m{seed}" / "model"
        FinDNANetwork(tiny_cfg()).save_pretrained(runs[f"m{seed}"])
    models = [f"{name}={path}" for name, path in runs.items()] + ["scratch"]
    run_benchmark(_bench(tmp_path, models, seeds=(0,)), tasks=synthetic_tasks(tmp_path, 1))
    provenance = json.loads((tmp_path / "bench" / "results.json").read_text())["provenance"]
    ids = provenance["checkpoints"]
    assert list(ids) == ["m0", "m1", "scratch"] and ids["m0"] != ids["m1"]
    footer = next(
        line
        for line in (tmp_path / "bench" / "results.md").read_text().splitlines()
        if "config sha256" in line
    )
    assert f"checkpoints m0 {ids['m0'][:12]}, m1 {ids['m1'][:12]}, scratch" in footer
