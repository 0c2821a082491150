"""Model loading: sources, checkpoints, names, and files written before the re-housing.

tests/fixtures/legacy_0_1_0 holds a pretraining run, its exported teacher and a fine-tuned
classifier written by findna 0.1.0 (before issue 8 moved the code), with the outputs that code
computed; loading them today must give the same numbers.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from findna.eval.predict import predict_proba
from findna.model.classifier import load_classifier
from findna.model.inputs import encode_sequences
from findna.model.loading import (
    checkpoint_network,
    default_model_name,
    load_encoder,
    network_from_checkpoint,
    read_checkpoint,
    resolve_source,
    run_checkpoint,
)
from findna.model.network import FinDNANetwork

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"


@pytest.fixture(scope="module")
def expected():
    return torch.load(LEGACY / "expected.pt", weights_only=False)


def test_legacy_export_gives_the_same_outputs(expected):
    net = FinDNANetwork.from_pretrained(str(LEGACY / "model")).eval()
    with torch.no_grad():
        out = net(expected["input"])
    torch.testing.assert_close(out.logits, expected["logits"])
    torch.testing.assert_close(out.hidden, expected["hidden"])


@pytest.mark.parametrize(
    "source", ["model", "run", "run/checkpoints/final.ckpt"], ids=["export", "run", "ckpt"]
)
def test_legacy_sources_load_the_same_teacher(source, expected):
    net, model_id = load_encoder(LEGACY / source, max_len=34, length_mode="fixed")
    assert "+fresh" not in model_id and len(model_id.split("-")[0]) == 64
    with torch.no_grad():
        out = net(expected["input"])
    torch.testing.assert_close(out.logits, expected["logits"])


def test_legacy_checkpoint_holds_both_networks():
    ckpt = read_checkpoint(LEGACY / "run" / "checkpoints" / "final.ckpt")
    teacher = network_from_checkpoint(ckpt, "teacher")
    student = network_from_checkpoint(ckpt, "student")
    assert not teacher.training
    differ = [
        k for k, v in teacher.state_dict().items() if not torch.equal(v, student.state_dict()[k])
    ]
    assert differ, "after two steps the EMA teacher and the student differ"
    cfg, state = checkpoint_network(ckpt, "student")
    assert cfg == student.config and set(state) == set(student.state_dict())


def test_legacy_classifier_predicts_the_same_probabilities(expected):
    model, info = load_classifier(LEGACY / "classifier")
    assert (info.task, info.num_classes, info.pooling, info.n_cls) == (
        "synthetic/two",
        2,
        "mean+cls",
        2,
    )
    probs = predict_proba(model, encode_sequences(expected["clf_seqs"]))
    np.testing.assert_allclose(probs, expected["clf_probs"].numpy(), rtol=1e-5, atol=1e-7)


def test_resolve_source_kinds(tmp_path):
    run = LEGACY / "run"
    assert resolve_source(LEGACY / "model").kind == "hf_dir"
    ckpt = resolve_source(run, "student")
    assert (ckpt.kind, ckpt.weights.name, ckpt.which) == ("checkpoint", "final.ckpt", "student")
    assert resolve_source("scratch").weights is None
    assert run_checkpoint(run) == run / "checkpoints" / "final.ckpt"
    assert run_checkpoint(tmp_path) is None
    with pytest.raises(ValueError, match="the student is only in the pretraining checkpoints"):
        resolve_source(LEGACY / "model", "student")
    with pytest.raises(FileNotFoundError, match="holds no findna model"):
        resolve_source(tmp_path)
    (tmp_path / "w.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a .ckpt checkpoint"):
        resolve_source(tmp_path / "w.pt")
    with pytest.raises(ValueError, match="which must be 'teacher' or 'student'"):
        resolve_source(run, "both")


@pytest.mark.parametrize(
    ("source", "which", "name"),
    [
        ("scratch", "teacher", "scratch"),
        ("runs/a", "teacher", "a"),
        ("runs/a/model", "teacher", "a"),
        ("runs/a/checkpoints/final.ckpt", "student", "a-student"),
        ("weights/b.ckpt", "teacher", "b"),
    ],
)
def test_default_model_name(source, which, name):
    assert default_model_name(source, which) == name


def test_read_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_checkpoint(tmp_path / "none.ckpt")
    (tmp_path / "bad.ckpt").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        read_checkpoint(tmp_path / "bad.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match="not a findna pretraining checkpoint"):
        read_checkpoint(tmp_path / "other.ckpt")
    ckpt = read_checkpoint(LEGACY / "run" / "checkpoints" / "final.ckpt")
    teacherless = {
        **ckpt,
        "state_dict": {
            k: v for k, v in ckpt["state_dict"].items() if not k.startswith("model.teacher.")
        },
    }
    with pytest.raises(ValueError, match="holds no teacher weights"):
        checkpoint_network(teacherless, "teacher")


def _copy_export(tmp_path: Path, edit) -> Path:
    """The legacy export with its tensors changed by ``edit(state) -> state``."""
    from safetensors.torch import load_file, save_file

    out = tmp_path / "edited"
    out.mkdir()
    (out / "config.json").write_text((LEGACY / "model" / "config.json").read_text())
    save_file(edit(load_file(LEGACY / "model" / "model.safetensors")), out / "model.safetensors")
    return out


def test_missing_tensors_are_an_error_not_a_partly_random_network(tmp_path):
    def drop(state):
        return {k: v for k, v in state.items() if not k.startswith("backbone.layers.0.blocks.1.")}

    with pytest.raises(
        ValueError,
        match=r"4 tensor\(s\) the network needs are missing "
        r"\(backbone.layers.0.blocks.1.mlp.fc1.weight",
    ):
        load_encoder(_copy_export(tmp_path, drop))


def test_unknown_tensors_are_an_error(tmp_path):
    def add(state):
        return {**state, "backbone.extra.weight": torch.zeros(2)}

    with pytest.raises(
        ValueError,
        match=r"1 tensor\(s\) are not part of it "
        r"\(backbone.extra.weight\).*export the model again",
    ):
        load_encoder(_copy_export(tmp_path, add))


def test_block_count_changes_are_warned_with_counts(caplog):
    with caplog.at_level("WARNING", logger="findna.model.loading"):
        net, model_id = load_encoder(LEGACY / "model", max_len=8)  # 3 blocks instead of 6
    assert net.config.n_blocks_per_layer == 3 and "+fresh" not in model_id
    assert "0 tensors of the extra blocks start fresh" in caplog.text
    assert "12 tensors of the blocks it does not need are unused" in caplog.text


def test_a_classifier_whose_task_json_disagrees_with_its_head_is_a_clear_error(tmp_path):
    import json
    import shutil

    folder = tmp_path / "clf"
    shutil.copytree(LEGACY / "classifier", folder)
    info = json.loads((folder / "task.json").read_text())
    info.update(num_classes=3, classes=["0", "1", "2"])
    (folder / "task.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match=r"head.safetensors does not match .*\(3 classes"):
        load_classifier(folder)
