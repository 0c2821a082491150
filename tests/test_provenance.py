"""Provenance: canonical config hashes, weight ids, data checksums, the collected record."""

import re
from dataclasses import dataclass, field

import pytest

from findna.provenance import (
    Provenance,
    checkpoint_id,
    config_hash,
    data_checksums,
    file_md5,
    git_commit,
)


@dataclass
class _Cfg:
    seed: int = 0
    lrs: tuple[float, ...] = (1e-3, 1e-4)
    extra: dict = field(default_factory=lambda: {"b": 1, "a": 2})


def test_config_hash_is_canonical():
    as_dict = {"extra": {"a": 2, "b": 1}, "lrs": [1e-3, 1e-4], "seed": 0}
    assert config_hash(_Cfg()) == config_hash(as_dict)
    assert re.fullmatch(r"[0-9a-f]{64}", config_hash(as_dict))
    assert config_hash(_Cfg(seed=1)) != config_hash(_Cfg())
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        config_hash({"x": object()})


def test_checkpoint_id_and_md5_known_digests(tmp_path):
    f = tmp_path / "w.safetensors"
    f.write_bytes(b"abc")
    assert checkpoint_id(None) == "scratch"
    assert checkpoint_id(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert file_md5(f) == "900150983cd24fb0d6963f7d28e17f72"
    with pytest.raises(FileNotFoundError):
        checkpoint_id(tmp_path / "none.pt")


def test_data_checksums_names_files_relative_to_root(tmp_path):
    (tmp_path / "gb").mkdir()
    (tmp_path / "gb" / "train.csv").write_bytes(b"abc")
    sums = data_checksums({"gb": [tmp_path / "gb" / "train.csv"]}, root=tmp_path)
    assert sums == {"gb": {"gb/train.csv": "900150983cd24fb0d6963f7d28e17f72"}}
    with pytest.raises(FileNotFoundError, match="task gb"):
        data_checksums({"gb": [tmp_path / "nope.csv"]})


def test_provenance_collect_fills_every_field(tmp_path):
    prov = Provenance.collect(_Cfg(), checkpoint_path=None, data_files={})
    assert prov.config_hash == config_hash(_Cfg()) and prov.checkpoint_id == "scratch"
    assert prov.config == {"seed": 0, "lrs": [1e-3, 1e-4], "extra": {"b": 1, "a": 2}}
    assert prov.findna_version and prov.date.endswith("+00:00")
    assert {"hostname", "python", "torch", "accelerator"} <= set(prov.machine)
    for commit in (prov.git_commit, git_commit()):
        assert commit is None or re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit)
