"""Model sources (load_encoder) and frozen-feature extraction: invariances, caching, errors."""

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from findna import api
from findna.config import config_to_dict
from findna.data.alphabet import reverse_complement
from findna.data.readers import LabeledSequences
from findna.data.tasks import TaskData, TaskSpec
from findna.eval.features import (
    FeatureConfig,
    cached_features,
    extract_features,
    iter_feature_chunks,
)
from findna.eval.finetune_config import FinetuneConfig
from findna.model.config import ModelConfig
from findna.model.loading import load_encoder, resolve_source
from findna.model.network import FinDNANetwork
from findna.train.checkpoint import export_checkpoint

TINY = ModelConfig.tiny(max_len=64)  # 6 blocks per layer, width 40 pinned by load_encoder


def _seqs(n: int, seed: int, lo: int = 5, hi: int = 40, alphabet: str = "ACGTN") -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(alphabet), rng.integers(lo, hi))) for _ in range(n)]


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("hf") / "model"
    FinDNANetwork(TINY).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def net(hf_dir):
    return load_encoder(hf_dir)[0]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- load_encoder -------------------------------------------------------------------------


def test_hf_dir_loads_every_weight_and_is_named_by_its_sha256(hf_dir):
    ref = FinDNANetwork.from_pretrained(hf_dir)
    got, model_id = load_encoder(hf_dir)
    assert model_id == _sha(hf_dir / "model.safetensors")
    assert got.config.length_mode == "length_aware" and not got.training
    for name, value in ref.state_dict().items():
        assert torch.equal(got.state_dict()[name], value), name


def test_longer_max_len_keeps_width_loads_by_name_and_reports_fresh_blocks(hf_dir, caplog):
    ref = FinDNANetwork.from_pretrained(hf_dir).state_dict()
    with caplog.at_level(logging.INFO, logger="findna.model.loading"):
        big, model_id = load_encoder(hf_dir, max_len=300, seed=3)
    assert big.config.n_blocks_per_layer == 9 and big.config.width == TINY.width
    assert model_id == _sha(hf_dir / "model.safetensors") + "+fresh-seed3"
    # 3 extra blocks x 2 layers x 4 tensors start fresh, said at WARNING level.
    assert "24 tensors of the extra blocks start fresh (seed 3)" in caplog.text
    assert any(r.levelname == "WARNING" for r in caplog.records)
    state = big.state_dict()
    assert torch.equal(state["backbone.layers.1.blocks.5.mlp.fc1.weight"],
                       ref["backbone.layers.1.blocks.5.mlp.fc1.weight"])  # fmt: skip
    again, _ = load_encoder(hf_dir, max_len=300, seed=3)
    other, _ = load_encoder(hf_dir, max_len=300, seed=4)
    fresh = "backbone.layers.0.blocks.8.mlp.fc1.weight"
    assert torch.equal(again.state_dict()[fresh], state[fresh])
    assert not torch.equal(other.state_dict()[fresh], state[fresh])


def test_shorter_max_len_drops_blocks_without_fresh_weights(hf_dir):
    small, model_id = load_encoder(hf_dir, max_len=16)
    assert small.config.n_blocks_per_layer == 4 and "+fresh" not in model_id


def _fake_run(tmp_path, with_model_dir: bool):
    torch.manual_seed(1)
    teacher, student = FinDNANetwork(TINY), FinDNANetwork(TINY)
    state = {f"model.teacher.{k}": v for k, v in teacher.state_dict().items()}
    state |= {f"model.student.{k}": v for k, v in student.state_dict().items()}
    ckpt = {"findna": {"config": {"model": config_to_dict(TINY)}}, "state_dict": state}
    (tmp_path / "checkpoints").mkdir(parents=True)
    torch.save(ckpt, tmp_path / "checkpoints" / "final.ckpt")
    if with_model_dir:
        teacher.save_pretrained(tmp_path / "model")
    return teacher, student


@pytest.mark.parametrize("with_model_dir", [True, False])
def test_run_dir_teacher_and_ckpt_student(tmp_path, with_model_dir):
    teacher, student = _fake_run(tmp_path, with_model_dir)
    got, teacher_id = load_encoder(tmp_path)
    weights = "model/model.safetensors" if with_model_dir else "checkpoints/final.ckpt"
    assert resolve_source(tmp_path).weights == tmp_path / weights
    assert teacher_id == _sha(tmp_path / weights)
    assert torch.equal(got.embed.weight, teacher.embed.weight)
    got_s, student_id = load_encoder(tmp_path / "checkpoints" / "final.ckpt", which="student")
    assert torch.equal(got_s.embed.weight, student.embed.weight)
    assert student_id == _sha(tmp_path / "checkpoints" / "final.ckpt") + "-student"


def test_scratch_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a, model_id = load_encoder("scratch", scratch_config=TINY, seed=7, max_len=32)
    assert torch.equal(torch.rand(1), expected)
    b, _ = load_encoder("scratch", scratch_config=TINY, seed=7, max_len=32)
    c, _ = load_encoder("scratch", scratch_config=TINY, seed=8, max_len=32)
    assert model_id == "scratch-seed7" and a.config.width == TINY.width
    assert torch.equal(a.embed.weight, b.embed.weight)
    assert not torch.equal(a.embed.weight, c.embed.weight)


def test_bad_sources_raise_clear_errors(tmp_path, hf_dir):
    with pytest.raises(FileNotFoundError, match="does not exist.*'scratch'"):
        load_encoder(tmp_path / "nope")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a .ckpt"):
        load_encoder(tmp_path / "weights.bin")
    with pytest.raises(FileNotFoundError, match="holds no findna model"):
        load_encoder(tmp_path)
    (tmp_path / "bad.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_encoder(tmp_path / "bad.ckpt")
    with pytest.raises(ValueError, match="student is only in the pretraining checkpoints"):
        load_encoder(hf_dir, which="student")
    with pytest.raises(ValueError, match="length_mode"):
        load_encoder(hf_dir, length_mode="ragged")


# ---- features -----------------------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["masked_mean", "cls", "mean+cls"])
def test_features_do_not_depend_on_the_batch(net, pooling):
    seqs = _seqs(6, 0)
    cfg = FeatureConfig(pooling=pooling, n_cls=3, batch_size=6)
    together = extract_features(net, seqs, cfg)
    alone = np.concatenate([extract_features(net, [s], cfg) for s in seqs])
    width = 2 * TINY.width if pooling == "mean+cls" else TINY.width
    assert together.shape == (6, width) and together.dtype == np.float32
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-5)


def test_input_order_is_restored_after_length_sorting(net):
    seqs = _seqs(7, 1)
    cfg = FeatureConfig(batch_size=3)
    feats = extract_features(net, seqs, cfg)
    perm = [6, 2, 0, 5, 1, 4, 3]
    np.testing.assert_allclose(
        extract_features(net, [seqs[i] for i in perm], cfg), feats[perm], atol=1e-5
    )


def test_rc_average_is_the_mean_of_both_strands(net):
    seqs = _seqs(4, 2)
    base = FeatureConfig(batch_size=2)
    fwd = extract_features(net, seqs, base)
    rev = extract_features(net, [reverse_complement(s) for s in seqs], base)
    both = extract_features(net, seqs, FeatureConfig(batch_size=2, rc_average=True))
    np.testing.assert_allclose(both, (fwd + rev) / 2, rtol=1e-5, atol=1e-6)
    assert not np.allclose(fwd, rev, atol=1e-3)  # the check is not vacuous


def test_chunked_equals_unchunked(net):
    seqs = _seqs(9, 3)
    cfg = FeatureConfig(batch_size=4)
    chunks = list(iter_feature_chunks(net, iter(seqs), cfg, chunk_size=4))
    assert [len(c) for c in chunks] == [4, 4, 1]
    np.testing.assert_allclose(np.concatenate(chunks), extract_features(net, seqs, cfg), atol=1e-5)


def test_mean_pooling_pads_to_a_fixed_length(net):
    seqs = _seqs(3, 4)
    cfg = FeatureConfig(pooling="mean", pad_to=50)
    together = extract_features(net, seqs, cfg)
    alone = np.concatenate([extract_features(net, [s], cfg) for s in seqs])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    with pytest.raises(ValueError, match="longer than the fixed padded length 50"):
        extract_features(net, ["A" * 60], cfg)


def test_bad_sequences_name_the_index(net):
    with pytest.raises(ValueError, match=r"sequence 1 \(0-based\): invalid character 'X'"):
        extract_features(net, ["ACGT", "ACXT"], FeatureConfig())
    with pytest.raises(ValueError, match=r"sequence 0 \(0-based\) is empty"):
        extract_features(net, [""], FeatureConfig())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pooling": "max"}, "pooling must be one of"),
        ({"pooling": "cls", "n_cls": 0}, "needs n_cls >= 1"),
        ({"precision": "16"}, "precision must be one of"),
        ({"device": "tpu"}, "device must be"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
    ],
)
def test_feature_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FeatureConfig(**kwargs)


def test_feature_cache_reuses_and_separates_settings(net, tmp_path):
    spec = TaskSpec("toy/x", "toy", {"all": "x"}, "table", 2, "accuracy", "resplit_70_10_20")
    part = LabeledSequences(_seqs(5, 5), np.array([0, 1, 0, 1, 0]), [str(i) for i in range(5)])
    task = TaskData(spec, 0, part, part, part, {})
    cfg = FeatureConfig()
    first, seconds, cached = cached_features(net, "m", task, "train", cfg, tmp_path)
    again, seconds2, cached2 = cached_features(net, "m", task, "train", cfg, tmp_path)
    assert (cached, cached2) == (False, True) and seconds > 0 and seconds2 == 0
    np.testing.assert_array_equal(first, again)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    cached_features(net, "m", task, "train", FeatureConfig(pooling="cls"), tmp_path)
    cached_features(net, "other-model", task, "train", cfg, tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 3


def _toy_task():
    spec = TaskSpec("toy/x", "toy", {"all": "x"}, "table", 2, "accuracy", "resplit_70_10_20")
    part = LabeledSequences(_seqs(5, 5), np.array([0, 1, 0, 1, 0]), [str(i) for i in range(5)])
    return TaskData(spec, 0, part, part, part, {})


def _legacy_cache_file(net, task, cache_dir, precision):
    """Where findna <= 0.1 (precision spelled "32"/"bf16") wrote the train split's features."""
    import json

    from findna.eval.features import CACHE_VERSION, _data_digest

    key_data = {
        "version": CACHE_VERSION, "model_id": "m", "model_config": config_to_dict(net.config),
        "task": task.spec.name, "task_seed": task.seed, "split": "train",
        "data_sha256": _data_digest(task.splits()["train"].seqs),
        "features": {"pooling": "masked_mean", "cls_tokens": 0, "rc_average": False,
                     "precision": precision, "pad_to": None},
    }  # fmt: skip
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode()).hexdigest()
    return cache_dir / f"toy_x.train.{key[:24]}.npy"


@pytest.mark.parametrize(
    "legacy, names", [("32", ["32-true", "32", "auto"]), ("bf16", ["bf16-mixed", "bf16"])]
)
def test_feature_cache_of_the_old_precision_spelling_is_found(net, tmp_path, legacy, names):
    # The precision names changed ("32" -> "32-true", "bf16" -> "bf16-mixed"), the computation
    # did not: a cache written under the old name is found, not recomputed ("auto" on a CPU is
    # 32-true). A stand-in array proves the file was read.
    task = _toy_task()
    path = _legacy_cache_file(net, task, tmp_path, legacy)
    marker = np.full((5, 40), 7.0, dtype=np.float32)
    np.save(path, marker)
    for name in names:
        cfg = FeatureConfig(precision=name, device="cpu")
        feats, seconds, cached = cached_features(net, "m", task, "train", cfg, tmp_path)
        assert cached and seconds == 0.0, name
        np.testing.assert_array_equal(feats, marker)
    assert len(list(tmp_path.glob("*.npy"))) == 1


def test_feature_cache_separates_precisions(net, tmp_path):
    task = _toy_task()
    for name in ("32-true", "bf16-mixed", "16-mixed"):
        cached_features(net, "m", task, "train", FeatureConfig(precision=name), tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 3


def test_auto_precision_is_keyed_by_what_it_resolves_to(monkeypatch):
    from findna import devices

    assert FeatureConfig(precision="auto", device="cpu").value_key()["precision"] == "32"
    monkeypatch.setattr(devices, "resolve_device", lambda name: torch.device("cuda"))
    assert FeatureConfig(precision="auto").value_key()["precision"] == "bf16"
    assert FeatureConfig(precision="16-mixed").value_key()["precision"] == "16-mixed"


@pytest.mark.parametrize("old, new", [("32", "32-true"), ("bf16", "bf16-mixed")])
def test_old_precision_spellings_are_read_with_a_warning(old, new, caplog, net):
    with caplog.at_level(logging.WARNING, logger="findna.config"):
        cfg = FeatureConfig(precision=old)
    assert cfg.precision == new
    assert f"precision {old!r} is deprecated; read as {new!r}" in caplog.text
    seqs = _seqs(3, 9)
    np.testing.assert_array_equal(
        extract_features(net, seqs, FeatureConfig(precision=old)),
        extract_features(net, seqs, FeatureConfig(precision=new)),
    )


def test_bf16_features_are_close_to_float32(net):
    seqs = _seqs(4, 11)
    full = extract_features(net, seqs, FeatureConfig(precision="32-true"))
    half = extract_features(net, seqs, FeatureConfig(precision="bf16-mixed"))
    assert not np.array_equal(full, half)
    np.testing.assert_allclose(half, full, rtol=0.1, atol=0.05)


def test_inputs_longer_than_the_network_are_an_error_not_a_silent_shrink(hf_dir):
    """A network rebuilt for 5 tokens has 3 blocks: it cannot mix a 30 bp sequence."""
    small, _ = load_encoder(hf_dir, max_len=5)
    seqs = ["ACGT" * 7 + "AC", "ACG"]
    with pytest.raises(
        ValueError,
        match=r"30 bp \(\+0 CLS\) is longer than the 5 tokens.*max_len >= 30 .*--max-len 30; "
        r"Python: .*findna.load_model\(source, max_len=30\)",
    ):
        extract_features(small, seqs, FeatureConfig())
    fits, _ = load_encoder(hf_dir, max_len=30)
    assert extract_features(fits, seqs, FeatureConfig()).shape == (2, fits.config.width)


LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"  # ssl.n_cls = 2


def test_cls_poolings_append_the_cls_rows_the_model_was_pretrained_with(caplog, tmp_path):
    run = str(LEGACY / "run")
    assert FeatureConfig(pooling="cls").for_source(run, "teacher").n_cls == 2
    assert FeatureConfig(pooling="mean+cls").for_source(run, "student").cls_tokens == 2
    assert FeatureConfig().for_source(run, "teacher").cls_tokens == 0  # masked_mean: none
    assert FeatureConfig(pooling="cls").for_source("scratch", "teacher").n_cls == 10
    assert FeatureConfig(pooling="cls").for_source(LEGACY / "model", "teacher").n_cls == 10
    # An export made today records the count in config.json, so it travels without the run.
    export = export_checkpoint(LEGACY / "run" / "checkpoints" / "final.ckpt", tmp_path / "m")
    assert json.loads((export / "config.json").read_text())["pretraining_n_cls"] == 2
    assert FeatureConfig(pooling="cls").for_source(export, "teacher").n_cls == 2
    assert api.load_model(export).config == api.load_model(LEGACY / "model").config
    with caplog.at_level(logging.WARNING, logger="findna.model.cls_rows"):
        kept = FeatureConfig(pooling="cls", n_cls=4).for_source(run, "teacher")
    assert kept.n_cls == 4 and "n_cls 4 differs from the 2 CLS rows" in caplog.text
    assert FinetuneConfig(pooling="cls").for_source(run, "teacher").cls_tokens == 2
    assert FinetuneConfig(pooling="cls").cls_tokens == 10  # no source: the paper's K

    seqs = _seqs(3, 5, hi=20)
    longest = max(map(len, seqs))
    by_api = api.embed(run, seqs, pooling="cls")
    net = api.load_model(run, max_len=longest + 2)  # embed builds it for its inputs + 2 CLS rows
    np.testing.assert_array_equal(
        by_api, extract_features(net, seqs, FeatureConfig(pooling="cls", n_cls=2))
    )
    ten = api.load_model(run, max_len=longest + 10)
    assert not np.allclose(by_api, extract_features(ten, seqs, FeatureConfig(pooling="cls")))


def test_pooling_names_are_spelled_once():
    """model/inputs.py names the poolings; every config's Literal and check is that constant."""
    import typing

    from findna.eval.finetune_config import FinetuneConfig
    from findna.model.heads import pooled_dim
    from findna.model.pooling import CLS_POOLINGS, POOLINGS

    assert POOLINGS[0] == "masked_mean" and set(CLS_POOLINGS) <= set(POOLINGS)
    for cls in (FeatureConfig, FinetuneConfig):
        assert typing.get_args(typing.get_type_hints(cls)["pooling"]) == POOLINGS
        assert cls().pooling == POOLINGS[0]
        with pytest.raises(ValueError, match="pooling must be one of"):
            cls(pooling="max")
    assert [pooled_dim(4, p) for p in POOLINGS] == [4, 4, 4, 8]
