"""Fine-tuning: learns a separable task, selects on validation only, seeds, presets, saving."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import findna.eval.finetune as ft
import findna.eval.finetune_loop as finetune_loop
from findna.config import load_config, preset_names
from findna.data.tasks import TaskData, TaskSpec, load_task
from findna.eval.finetune import FinetuneConfig, adapt_encoder, finetune_preset, run_finetune
from findna.eval.suites import TASK_PRESETS
from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "finetune"


def motif_task(tmp: Path, n: int = 120, noise: float = 0.0, seed: int = 0) -> TaskData:
    """Class 1 = GC-rich, class 0 = AT-rich random sequences of 20-32 bp (labels flipped with
    probability ``noise``), re-split 70/10/20."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        y = i % 2
        p = [0.1, 0.4, 0.4, 0.1] if y else [0.4, 0.1, 0.1, 0.4]
        seq = "".join(rng.choice(list("ACGT"), size=int(rng.integers(20, 33)), p=p))
        rows.append((seq, y if rng.random() >= noise else 1 - y))
    path = tmp / f"task_{seed}_{noise}.csv"
    pd.DataFrame(rows, columns=["sequence", "label"]).to_csv(path, index=False)
    spec = TaskSpec(
        f"synthetic/gc{seed}", "toy", {"all": str(path)}, "table", num_classes=2,
        metric="accuracy", protocol="resplit_70_10_20", max_len=32,
    )  # fmt: skip
    return load_task(spec, 0)


def tiny_model(tmp: Path) -> Path:
    out = tmp / "pretrained"
    torch.manual_seed(0)
    FinDNANetwork(ModelConfig.tiny(hidden=16, n_layers=1)).save_pretrained(out)
    return out


def test_learns_a_separable_task(tmp_path):
    task = motif_task(tmp_path)
    result = run_finetune(task, tiny_model(tmp_path), finetune_preset("tiny"), seed=0)
    assert result.mode == "finetune" and result.primary_metric == "accuracy"
    assert result.test_metrics["accuracy"] >= 0.9  # chance is 0.5
    assert result.val_metrics["accuracy"] >= 0.9
    assert 1 <= result.hyperparameters["best_epoch"] <= 3
    assert result.hyperparameters["max_len"] == 32  # task max_len, no CLS for masked_mean


def test_selection_uses_validation_and_tests_once(tmp_path, monkeypatch):
    task = motif_task(tmp_path, n=80, noise=0.25)
    cfg = finetune_preset("tiny", epochs=4, lr=1e-2)
    source = tiny_model(tmp_path)
    calls = []
    real = ft.predict_proba

    def spy(model, codes, **kw):
        calls.append(len(codes))
        return real(model, codes, **kw)

    monkeypatch.setattr(ft, "predict_proba", spy)  # the test split
    monkeypatch.setattr(finetune_loop, "predict_proba", spy)  # validation, every epoch
    first = run_finetune(task, source, cfg, seed=1)
    n_val, n_test = len(task.val), len(task.test)
    assert calls == [n_val] * 4 + [n_test]  # one val scoring per epoch, then test once
    flipped = replace(task, test=replace(task.test, labels=1 - task.test.labels))
    second = run_finetune(flipped, source, cfg, seed=1)
    assert second.hyperparameters["best_epoch"] == first.hyperparameters["best_epoch"]
    assert second.val_metrics == first.val_metrics
    acc = first.test_metrics["accuracy"]
    assert second.test_metrics["accuracy"] == pytest.approx(1 - acc)


def test_seed_reproducible_and_global_rng_untouched(tmp_path):
    task = motif_task(tmp_path, n=60)
    cfg = finetune_preset("tiny", epochs=1, mlp_dropout=0.2)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = run_finetune(task, "scratch", cfg, seed=5, scratch_config=ModelConfig.tiny(hidden=8))
    after = torch.rand(1)
    b = run_finetune(task, "scratch", cfg, seed=5, scratch_config=ModelConfig.tiny(hidden=8))
    assert torch.equal(before, after)  # the caller's RNG stream is not consumed
    assert a.test_metrics == b.test_metrics and a.val_metrics == b.val_metrics
    assert (a.model, a.hyperparameters["model_id"]) == ("scratch", "scratch-seed5")


def test_adapt_encoder_sets_dropout_track_and_layers_and_keeps_weights():
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.tiny(n_layers=2))
    cfg = FinetuneConfig(mlp_dropout=0.2, layer_dropout=0.1, track_size=8, n_layers=1)
    new = adapt_encoder(net, cfg)
    assert (new.config.mlp_dropout, new.config.track_size, new.config.n_layers) == (0.2, 8, 1)
    assert new.config.width == net.config.width
    old_state = net.state_dict()
    for name, value in new.state_dict().items():
        assert torch.equal(value, old_state[name]), name
    assert adapt_encoder(net, FinetuneConfig(mlp_dropout=0.0, layer_dropout=0.0)) is net


def test_config_validation():
    with pytest.raises(ValueError, match="needs n_cls >= 1"):
        FinetuneConfig(pooling="cls", n_cls=0)
    with pytest.raises(ValueError, match="warmup_frac"):
        FinetuneConfig(warmup_frac=1.5)
    with pytest.raises(FileNotFoundError, match=r"finetune preset .nope. .*\(shipped: gb_"):
        finetune_preset("nope")
    assert FinetuneConfig(pooling="cls").cls_tokens == 10
    assert FinetuneConfig().cls_tokens == 0


@pytest.mark.parametrize("name", preset_names("finetune"))
def test_shipped_presets_load_by_name_and_by_path(name):
    by_name = finetune_preset(name)
    assert load_config(FinetuneConfig, CONFIGS / f"{name}.yaml") == by_name
    assert finetune_preset(name, epochs=7).epochs == 7


def test_every_task_preset_is_shipped():
    assert set(TASK_PRESETS.values()) <= set(preset_names("finetune"))
    assert {"paper", "tiny", "gue_virus"} <= set(preset_names("finetune"))


def test_paper_preset_is_the_paper_emp_setting():
    cfg = finetune_preset("paper")
    assert (cfg.batch_size, cfg.lr, cfg.epochs, cfg.warmup_frac) == (32, 5e-4, 20, 0.3)
    assert (cfg.mlp_dropout, cfg.layer_dropout, cfg.grad_clip, cfg.pooling) == (
        0.1, 0.1, 0.5, "masked_mean",
    )  # fmt: skip
    gb = finetune_preset("gb_human_nontata_promoters")
    assert (gb.batch_size, gb.lr, gb.epochs, gb.track_size, gb.n_layers) == (1024, 5e-3, 200, 50, 4)


def test_transformer_source_fine_tunes(tmp_path):
    """A FinDNA-T (transformer) model is a source like any other."""
    task = motif_task(tmp_path, n=40)
    cfg_t = ModelConfig(backbone="transformer", d_model=16, hidden=16, n_layers=1, n_heads=2,
                        max_len=64)  # fmt: skip
    torch.manual_seed(0)
    FinDNANetwork(cfg_t).save_pretrained(tmp_path / "t")
    # Shorter inputs use the first rows of the stored learned-position table.
    result = run_finetune(task, tmp_path / "t", finetune_preset("tiny", epochs=1), seed=0)
    assert 0 <= result.test_metrics["accuracy"] <= 1
    with pytest.raises(ValueError, match="built for 64 tokens"):
        run_finetune(task, tmp_path / "t", finetune_preset("tiny", epochs=1, max_len=80), seed=0)


def test_finetune_task_keeps_seed_results_when_provenance_fails(tmp_path, monkeypatch):
    import json

    from findna.provenance import Provenance

    task = motif_task(tmp_path, n=40)
    cfg = finetune_preset("tiny", epochs=1)

    def broken(*args, **kwargs):
        raise FileNotFoundError("data file went away")

    monkeypatch.setattr(Provenance, "collect", broken)
    with pytest.raises(FileNotFoundError, match="went away"):
        ft.finetune_task(task, "scratch", cfg, [0, 1], tmp_path / "out", save_models=False,
                         scratch_config=ModelConfig.tiny(hidden=8, n_layers=1))  # fmt: skip
    saved = json.loads((tmp_path / "out" / "finetune_seeds.json").read_text())
    assert [r["seed"] for r in saved] == [0, 1] and saved[0]["mode"] == "finetune"


def test_finetune_task_logs_every_epoch_as_csv_and_tensorboard(tmp_path):
    import pandas as pd

    task = motif_task(tmp_path, n=40)
    cfg = finetune_preset("tiny", epochs=3)
    report = ft.finetune_task(task, "scratch", cfg, [0], tmp_path / "out", save_models=False,
                              scratch_config=ModelConfig.tiny(hidden=8, n_layers=1))  # fmt: skip
    logs = tmp_path / "out" / "logs" / "seed0"
    frame = pd.read_csv(logs / "metrics.csv")
    assert frame["epoch"].tolist() == [1, 2, 3] and frame["step"].tolist() == [1, 2, 3]
    metric = task.spec.metric
    assert {"train/loss", f"val/{metric}"} <= set(frame.columns)
    # The selected epoch's validation score is the best logged one.
    best = report.results[0].hyperparameters["best_epoch"]
    assert frame[f"val/{metric}"].iloc[best - 1] == pytest.approx(frame[f"val/{metric}"].max())
    assert any((logs / "tensorboard").glob("events.out.tfevents.*"))


def test_finetune_logs_every_step_and_its_settings_to_tensorboard(tmp_path):
    """Issue 24: TensorBoard gets each step's loss and learning rate, the epochs' metrics at
    their last step, and the fine-tuning settings as hyperparameters (the HPARAMS tab)."""
    import yaml
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    from findna.ssl.schedules import cosine_with_warmup

    task = motif_task(tmp_path, n=40)
    cfg = finetune_preset("tiny", epochs=2, batch_size=8, lr=1e-3)
    tiny = ModelConfig.tiny(hidden=8, n_layers=1)
    out = tmp_path / "out"
    report = ft.finetune_task(
        task, "scratch", cfg, [0], out, save_models=False, scratch_config=tiny
    )
    logs = tmp_path / "out" / "logs" / "seed0"
    steps_per_epoch = -(-len(task.train) // 8)
    events = EventAccumulator(str(logs / "tensorboard"), size_guidance={"scalars": 0}).Reload()
    loss = events.Scalars("train/loss_step")
    lr = events.Scalars("train/lr")
    assert [e.step for e in loss] == list(range(1, 2 * steps_per_epoch + 1))
    assert [e.step for e in lr] == [e.step for e in loss]
    total = 2 * steps_per_epoch  # the rate each step used: the warm-up and cosine schedule
    scale = [cosine_with_warmup(s, total, cfg.warmup_frac, cfg.num_cycles) for s in range(total)]
    assert [e.value for e in lr] == pytest.approx([1e-3 * x for x in scale], rel=1e-6)
    assert [e.step for e in events.Scalars("train/loss")] == [steps_per_epoch, 2 * steps_per_epoch]
    metric = task.spec.metric
    assert len(events.Scalars(f"val/{metric}")) == 2
    best = report.results[0].hyperparameters["best_epoch"]
    assert events.Scalars("hp/best_epoch")[-1].value == best
    # The settings as hyperparameters: in TensorBoard's HPARAMS plugin and in hparams.yaml.
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    assert start.hparams["lr"].number_value == pytest.approx(1e-3)
    assert start.hparams["batch_size"].number_value == 8
    assert start.hparams["seed"].number_value == 0
    assert start.hparams["pooling"].string_value == cfg.pooling
    saved = yaml.safe_load((logs / "hparams.yaml").read_text())
    assert saved["epochs"] == 2 and saved["steps_per_epoch"] == steps_per_epoch
    assert saved["metric"] == metric and saved["n_train"] == len(task.train)
