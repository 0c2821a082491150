from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import yaml

from findna.config import (
    check_device,
    config_to_dict,
    dump_config,
    load_config,
    normalize_precision,
    parse_overrides,
    parse_seeds,
    preset_path,
)


@dataclass
class Inner:
    lr: float = 1e-3
    steps: int = 10
    mode: Literal["a", "b"] = "a"
    names: tuple[str, ...] = ()

    def __post_init__(self):
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


@dataclass
class Outer:
    seed: int = 0
    inner: Inner = field(default_factory=Inner)
    note: str | None = None


def test_defaults_then_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 3\ninner:\n  lr: 0.5\n  steps: 7\n")
    cfg = load_config(Outer, path, ["inner.steps=9", "inner.names=[x, y]"])
    assert cfg == Outer(seed=3, inner=Inner(lr=0.5, steps=9, names=("x", "y")))


def test_unknown_key_is_rejected_with_valid_keys(tmp_path):
    with pytest.raises(ValueError, match=r"unknown key\(s\) stepz; valid keys: lr, mode, names"):
        load_config(Outer, None, ["inner.stepz=3"])


@pytest.mark.parametrize(
    "override, message",
    [
        ("inner.steps=1.5", "expected an integer"),
        ("inner.mode=c", "is not one of 'a', 'b'"),
        ("inner.lr=-1", "lr must be positive"),
        ("seed=true", "expected an integer"),
        ("oops", "must look like section.key=value"),
    ],
)
def test_bad_values_are_rejected(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(Outer, None, [override])


def test_dump_and_reload_round_trip(tmp_path):
    cfg = Outer(seed=5, inner=Inner(mode="b", names=("q",)), note="hi")
    dump_config(cfg, tmp_path / "out.yaml")
    assert load_config(Outer, tmp_path / "out.yaml") == cfg
    assert config_to_dict(cfg)["inner"]["names"] == ["q"]


def test_dump_config_that_fails_keeps_the_old_file(tmp_path):
    """A config that cannot be written leaves the old config.yaml whole and nothing else."""
    path = tmp_path / "config.yaml"
    dump_config(Outer(seed=1), path)
    old = path.read_text()
    with pytest.raises(yaml.representer.RepresenterError):
        dump_config(Outer(seed=object()), path)  # type: ignore[arg-type]
    assert path.read_text() == old and [p.name for p in tmp_path.iterdir()] == ["config.yaml"]
    dump_config(Outer(seed=2), path)
    assert load_config(Outer, path).seed == 2
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_dump_config_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    """A write that stops half-way (here: the disk fills) never leaves half a config.yaml."""
    path = tmp_path / "config.yaml"
    dump_config(Outer(seed=1), path)
    old = path.read_text()

    def full_disk(self, data):
        with open(self, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space left"):
        dump_config(Outer(seed=2), path)
    assert path.read_text() == old and [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_yaml_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("a: [1,\n")
    with pytest.raises(ValueError, match="bad.yaml: not valid YAML"):
        load_config(Outer, path)
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_config(Outer, tmp_path / "missing.yaml")


def test_parse_overrides_types():
    assert parse_overrides(["a.b=2", "a.c=true", "d=x"]) == {"a": {"b": 2, "c": True}, "d": "x"}


def test_exponent_without_dot_is_a_float(tmp_path):
    # YAML 1.1 reads 3e-4 as a string; the loader must still give the float.
    path = tmp_path / "c.yaml"
    path.write_text("inner:\n  lr: 3e-4\n")
    assert load_config(Outer, path, ["inner.lr=1e-3"]).inner.lr == 1e-3
    assert load_config(Outer, path).inner.lr == 3e-4


def test_preset_base_is_merged_under_the_file(tmp_path):
    (tmp_path / "base.yaml").write_text("seed: 1\ninner:\n  lr: 0.5\n  steps: 7\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\ninner:\n  steps: 9\n")
    assert load_config(Outer, tmp_path / "child.yaml") == Outer(
        seed=1, inner=Inner(lr=0.5, steps=9)
    )


def test_preset_base_loop_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ValueError, match="loops back"):
        load_config(Outer, tmp_path / "a.yaml")


def test_a_base_that_names_no_file_names_the_key_and_the_fix(tmp_path):
    """Issue 22 WEAK: `base: tiny.yaml` said only "cfg/tiny.yaml does not exist"."""
    (tmp_path / "mine.yaml").write_text("base: tiny.yaml\ninner:\n  steps: 9\n")
    expected = (
        r"mine\.yaml: base: tiny\.yaml: \S*/tiny\.yaml does not exist; base: takes a YAML path "
        r"relative to this file \(a shipped preset is given with --config NAME, not base:\)\. "
        r"'tiny' is a shipped preset: start from it with --config tiny, or give base: "
        r"\S*/configs/KIND/tiny\.yaml \(KIND: .*pretrain"
    )
    with pytest.raises(FileNotFoundError, match=expected):
        load_config(Outer, tmp_path / "mine.yaml")
    (tmp_path / "other.yaml").write_text("base: sub/mine.yaml\n")
    with pytest.raises(
        FileNotFoundError, match=r"base: sub/mine\.yaml: .*does not exist; base: "
    ) as info:
        load_config(Outer, tmp_path / "other.yaml")
    assert "is a shipped preset" not in str(info.value)  # 'mine' is not one


def test_parse_seeds_names_the_flag():
    assert parse_seeds("0, 1,2,") == [0, 1, 2]
    assert parse_seeds("7", flag="--probe-seeds") == [7]
    with pytest.raises(ValueError, match=r"--seeds '0,x': 'x' is not an integer.*--seeds 0,1,2"):
        parse_seeds("0,x")
    with pytest.raises(ValueError, match=r"--demo-seeds ' , ' names no seed"):
        parse_seeds(" , ", flag="--demo-seeds")
    with pytest.raises(ValueError, match=r"--seeds '1,2,1' repeats seed\(s\) \[1\]"):
        parse_seeds("1,2,1")


def test_flags_come_last_and_none_means_not_given(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 3\ninner:\n  lr: 0.5\n  steps: 7\n")
    flags = {"seed": None, "inner": {"steps": 2, "lr": None}, "note": "n"}
    cfg = load_config(Outer, path, ["inner.steps=9", "seed=4"], flags)
    assert cfg == Outer(seed=4, inner=Inner(lr=0.5, steps=2), note="n")


def test_precision_names_and_old_spellings(caplog):
    assert normalize_precision("bf16-mixed") == "bf16-mixed"
    assert normalize_precision("32", "features.precision") == "32-true"
    assert "features.precision '32' is deprecated; read as '32-true'" in caplog.text
    expected = "x.precision must be one of auto, 32-true, bf16-mixed, 16-mixed, got 16"
    with pytest.raises(ValueError, match=expected):
        normalize_precision(16, "x.precision")


def test_device_names():
    for name in ("auto", "cpu", "cuda", "cuda:1"):
        assert check_device(name) == name
    for name in ("gpu", "cuda:", "cuda:x", "mps", 0):
        with pytest.raises(ValueError, match="device must be auto, cpu, cuda or cuda:N"):
            check_device(name)


def test_preset_path_takes_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert preset_path("probe", "paper").name == "paper.yaml"
    assert preset_path("probe", "paper.yaml") == preset_path("probe", "paper")
    (tmp_path / "paper.yaml").write_text("head: knn\n")
    assert preset_path("probe", "paper.yaml") == tmp_path.joinpath("paper.yaml").relative_to(
        tmp_path
    )  # a file in the working directory wins over the shipped preset of that name
    with pytest.raises(FileNotFoundError, match="shipped: knn, paper"):
        preset_path("probe", "linear")
