"""The transformers files findna writes, and findna's strict reading of config.json beside them.

None of this needs transformers.
"""

import json
import re

import pytest
import torch

from findna.model.config import ModelConfig
from findna.model.hf.remote import (
    AUTO_MAP,
    REMOTE_SOURCES,
    remote_code_files,
    rewrite_imports,
    write_hf_files,
)
from findna.model.loading import load_encoder
from findna.model.network import FinDNANetwork


@pytest.fixture
def export(tmp_path):
    torch.manual_seed(0)
    net = FinDNANetwork(ModelConfig.tiny(max_len=40)).eval()
    net.save_pretrained(tmp_path)
    write_hf_files(tmp_path)
    return tmp_path, net


def test_config_json_carries_the_hf_keys_and_findna_still_loads_it(export):
    path, net = export
    config = json.loads((path / "config.json").read_text())
    assert (config["model_type"], config["architectures"]) == ("findna", ["FinDNAForMaskedLM"])
    assert config["auto_map"] == AUTO_MAP
    tokenizer = json.loads((path / "tokenizer_config.json").read_text())
    assert tokenizer["model_max_length"] == 40 and tokenizer["padding_side"] == "right"
    x = torch.randn(2, 40, 5)
    with torch.no_grad():
        expected = net(x).logits
        torch.testing.assert_close(FinDNANetwork.from_pretrained(path)(x).logits, expected)
        loaded, _ = load_encoder(path, length_mode="fixed")
        torch.testing.assert_close(loaded(x).logits, expected)


@pytest.mark.parametrize("load", ["from_pretrained", "load_encoder"])
def test_unknown_keys_and_foreign_model_types_stay_errors(export, load):
    path, _ = export
    config = json.loads((path / "config.json").read_text())
    read = FinDNANetwork.from_pretrained if load == "from_pretrained" else load_encoder
    (path / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(ValueError, match="unknown key.*num_hidden_layers"):
        read(path)
    (path / "config.json").write_text(json.dumps({**config, "model_type": "bert"}))
    with pytest.raises(ValueError, match="model_type is 'bert', not 'findna'"):
        read(path)


def test_remote_code_has_no_findna_imports():
    files = remote_code_files()
    assert set(files) == set(REMOTE_SOURCES.values())
    for name, text in files.items():
        assert not re.search(r"^\s*(from|import) findna", text, re.M), name
    assert "from .network import FinDNANetwork" in files["modeling_findna.py"]
    # Lazy imports inside functions are rewritten too.
    assert "        from .compiled import compiled_block" in files["chordmixer.py"]


def test_rewrite_refuses_modules_exports_do_not_carry():
    with pytest.raises(ValueError, match=r"x\.py imports findna\.eval\.probe.*REMOTE_SOURCES"):
        rewrite_imports("from findna.eval.probe import run_probe\n", "x.py")
    with pytest.raises(ValueError, match="y.py line 2: findna is imported in a way"):
        rewrite_imports("import os\nimport findna\n", "y.py")
