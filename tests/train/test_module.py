"""PretrainModule without a Trainer: views, schedules, the step's losses, EMA order, checkpoints.

A stub stands in for the trainer (only ``world_size``, ``global_rank`` and ``global_step`` are
read), so each hook is checked on its own, in milliseconds, apart from the end-to-end runs of
test_pretrain.py.
"""

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from findna.config import config_to_dict, load_config
from findna.ssl.views import ViewConfig, seeded_views
from findna.train.config import PretrainConfig
from findna.train.module import CHECKPOINT_FORMAT, NonFiniteLossError, PretrainModule
from findna.train.sampling import mix_seed

LEGACY_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0" / "run"


def _cfg(**sections) -> PretrainConfig:
    """The legacy fixture's micro config (32 bp windows, K = 2), with section changes."""
    cfg = load_config(PretrainConfig, LEGACY_RUN / "config.yaml")
    for name, values in sections.items():
        section = getattr(cfg, name)
        for key, value in values.items():
            setattr(section, key, value)
    return cfg


def _module(world_size: int = 1, rank: int = 0, **sections) -> PretrainModule:
    module = PretrainModule(_cfg(**sections))
    module.trainer = SimpleNamespace(world_size=world_size, global_rank=rank, global_step=0)
    return module


def _codes(batch: int, length: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 4, (batch, length), generator=torch.Generator().manual_seed(seed))


def test_schedule_matches_the_run_length_and_the_world_size():
    one = _module(optim={"max_steps": None, "epochs": 2, "batch_size": 4})
    two = _module(world_size=2, optim={"max_steps": None, "epochs": 2, "batch_size": 4})
    # 256 windows: 64 steps per epoch on one rank, 32 on two; 2 epochs.
    assert one._run_steps() == (128, 64) and two._run_steps() == (64, 32)
    assert one.schedule(64).ema_momentum == pytest.approx(two.schedule(32).ema_momentum)
    assert one.schedule(64).ema_momentum == pytest.approx(0.998)  # halfway: 1 - 0.002


def test_optimizer_learning_rate_follows_the_schedule():
    module = _module(optim={"max_steps": 10, "warmup_frac": 0.5, "lr": 1e-2})
    conf = module.configure_optimizers()
    optimizer, scheduler = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    for step in range(10):
        lr = optimizer.param_groups[0]["lr"]
        assert lr == pytest.approx(1e-2 * module.schedule(step).lr_scale)
        optimizer.step()
        scheduler.step()
    trainable = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert trainable == {id(p) for p in module.model.student_parameters()}


def test_train_views_are_seeded_by_step_and_global_chunk():
    """Two ranks of batch 4 see the views one rank of batch 8 sees with view_chunk 4."""
    codes = _codes(8)
    whole = _module(data={"view_chunk": 4}, optim={"batch_size": 8})
    full = whole.train_views(codes, torch.arange(8), step=5)
    halves = [
        _module(world_size=2, rank=r, data={"view_chunk": 4}, optim={"batch_size": 4})
        for r in (0, 1)
    ]
    for rank, module in enumerate(halves):
        part = module.train_views(codes[4 * rank : 4 * rank + 4], torch.arange(4), step=5)
        assert torch.equal(part.student, full.student[4 * rank : 4 * rank + 4])
        assert torch.equal(part.mask, full.mask[4 * rank : 4 * rank + 4])
    assert not torch.equal(whole.train_views(codes, torch.arange(8), step=6).student, full.student)


def test_static_views_depend_only_on_the_window_index():
    module = _module(data={"static_views": True})
    codes, index = _codes(3), torch.tensor([7, 3, 11])
    a = module.train_views(codes, index, step=0)
    # The same windows in another order, batch and step give the same per-window views.
    b = module.train_views(codes[[2, 0]], index[[2, 0]], step=9)
    assert torch.equal(b.student[1], a.student[0]) and torch.equal(b.student[0], a.student[2])
    assert torch.equal(b.targets[1], a.targets[0]) and torch.equal(b.mask[0], a.mask[2])
    other = _module(data={"static_views": True}, run={"seed": 1})
    assert not torch.equal(other.train_views(codes, index, step=0).student, a.student)


def test_seeded_views_split_the_batch_into_equal_chunks():
    cfg = ViewConfig(n_cls=2)
    codes = _codes(6)
    both = seeded_views(codes, cfg, [11, 12])
    second = seeded_views(codes[3:], cfg, [12])
    assert torch.equal(both.teacher[3:], second.teacher)
    assert both.student.shape == (6, 34, 5)
    with pytest.raises(ValueError, match="cannot be split into 4 equal chunks"):
        seeded_views(codes, cfg, [1, 2, 3, 4])


def test_ema_follows_the_optimizer_step_with_the_scheduled_momentum(monkeypatch):
    module = _module()
    momenta = []
    monkeypatch.setattr(module.model, "update_teacher", momenta.append)
    monkeypatch.setattr(module, "log", lambda *a, **k: None)
    calls = []
    monkeypatch.setattr(
        "lightning.LightningModule.optimizer_step", lambda self, *a, **k: calls.append("step")
    )
    module.trainer.global_step = 1
    module.optimizer_step()
    assert calls == ["step"] and momenta == [pytest.approx(module.schedule(1).ema_momentum)]


def test_non_finite_losses_stop_with_the_component_and_step_named():
    module = _module()
    finite = {"loss": torch.tensor(1.0), "loss_mnm": torch.tensor(0.5)}
    module._check_finite(finite, step=3)
    bad = {**finite, "loss_cl": torch.tensor(float("inf"))}
    with pytest.raises(NonFiniteLossError, match="loss_cl is inf at step 3"):
        module._check_finite(bad, step=3)
    for term in ("loss_ibot", "loss_koleo"):  # the optional terms are named too
        with pytest.raises(NonFiniteLossError, match=f"{term} is nan at step 4"):
            module._check_finite({**finite, term: torch.tensor(float("nan"))}, step=4)


def test_checkpoint_metadata_round_trip_and_guards():
    module = _module()
    ckpt: dict = {}
    module.on_save_checkpoint(ckpt)
    meta = ckpt["findna"]
    assert meta["format"] == CHECKPOINT_FORMAT and meta["world_size"] == 1
    assert meta["config"] == config_to_dict(module.cfg)
    module.on_load_checkpoint(copy.deepcopy(ckpt))  # same config and world size: accepted
    changed = copy.deepcopy(ckpt)
    changed["findna"]["config"]["optim"]["lr"] = 0.5
    with pytest.raises(ValueError, match=r"optim settings differ .*lr: 0\.5 -> 0\.001"):
        module.on_load_checkpoint(changed)
    with pytest.raises(ValueError, match="written by 1 process.*this run has 2"):
        _module(world_size=2).on_load_checkpoint(copy.deepcopy(ckpt))
    with pytest.raises(ValueError, match="not written by findna pretrain"):
        module.on_load_checkpoint({})


def test_a_checkpoint_written_before_the_rehousing_still_loads():
    """final.ckpt of findna 0.1.0 (tests/fixtures/legacy_0_1_0): metadata and weights."""
    ckpt = torch.load(LEGACY_RUN / "checkpoints" / "final.ckpt", weights_only=False)
    module = _module()
    module.on_load_checkpoint(ckpt)
    assert module.load_state_dict(ckpt["state_dict"], strict=True)
    teacher = module.model.teacher
    assert teacher is not None and not teacher.training
    assert torch.equal(
        teacher.state_dict()["embed.weight"], ckpt["state_dict"]["model.teacher.embed.weight"]
    )


def test_validation_views_are_fixed_per_batch_and_rank():
    module = _module()
    codes = _codes(4)
    salt = mix_seed(module.cfg.run.seed, 0x7A1_5EED)
    expected = seeded_views(codes, module.cfg.views, [mix_seed(salt, 0)])
    module._val_counts = torch.zeros(5, dtype=torch.long)
    logged = {}
    module.log = lambda name, value, **k: logged.__setitem__(name, value)
    module.validation_step((codes, torch.arange(4)), batch_idx=0)
    masked = expected.targets[expected.mask]
    assert torch.equal(module._val_counts, torch.bincount(masked, minlength=5)[:5])
    assert set(logged) == {"val/loss", "val/loss_mnm", "val/mnm_acc"}


def test_the_optimizer_has_the_settings_and_is_not_fused():
    """Not fused: Lightning refuses gradient clipping with a fused optimiser under mixed precision
    (seen on an H100, docs/performance.md section 7.6), and pretraining clips."""
    module = _module(optim={"lr": 2e-3, "weight_decay": 0.01})
    group = module.cfg.optim.make_optimizer(module.model.student_parameters()).param_groups[0]
    assert (group["lr"], group["weight_decay"], group["betas"]) == (2e-3, 0.01, (0.9, 0.999))
    assert not group["fused"]


def test_the_step_passes_the_scheduled_cl_weight_only_with_a_cl_warmup(monkeypatch):
    plain = _module(optim={"max_steps": 10})
    assert plain.loss_schedule(0) == {"teacher_temp": plain.schedule(0).teacher_temp}
    module = _module(optim={"max_steps": 10}, ssl={"cl_warmup_frac": 0.5})
    assert module.loss_schedule(0)["cl_weight"] == 0.0
    assert module.loss_schedule(2)["cl_weight"] == pytest.approx(0.4)
    logged = {}
    monkeypatch.setattr(module, "log", lambda name, value, **k: logged.__setitem__(name, value))
    monkeypatch.setattr(module, "log_dict", logged.update)
    monkeypatch.setattr(module, "lr_schedulers", lambda: SimpleNamespace(get_last_lr=lambda: [0.0]))
    module.trainer.global_step = 2
    module.training_step((_codes(4), torch.arange(4)), batch_idx=0)
    assert logged["train/cl_weight"].item() == pytest.approx(0.4)
    assert "train/loss_cl" in logged and "train/cl_weight" not in plain.loss_schedule(2)


def test_a_checkpoint_without_the_newer_ssl_keys_reads_them_as_their_defaults():
    module = _module()
    ckpt: dict = {}
    module.on_save_checkpoint(ckpt)
    for key in ("cl_delay_frac", "cl_warmup_frac", "teacher_temp_warmup_frac"):
        del ckpt["findna"]["config"]["ssl"][key]  # as written before the key existed
    module.on_load_checkpoint(copy.deepcopy(ckpt))
    lever = _module(ssl={"cl_warmup_frac": 0.2})
    with pytest.raises(ValueError, match=r"ssl settings differ .*cl_warmup_frac: 0\.0 -> 0\.2"):
        lever.on_load_checkpoint(copy.deepcopy(ckpt))
