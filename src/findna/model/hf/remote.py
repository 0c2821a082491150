"""Make a saved findna folder loadable by ``transformers`` (without ``transformers`` installed).

:func:`write_hf_files` adds to a folder written by ``FinDNANetwork.save_pretrained``:

- the Hugging Face keys of ``config.json``: ``model_type: findna``, ``architectures`` and an
  ``auto_map`` for ``trust_remote_code`` (a classifier also ``id2label``/``label2id`` and
  ``classifier``, with a regression or multi-label model's task type; an export
  ``pretraining_n_cls``); findna's own loader accepts exactly these
  extra keys (``findna.model.network.HF_CONFIG_KEYS``) and stays strict about every other one;
- ``tokenizer_config.json`` for ``AutoTokenizer`` (``FinDNATokenizer``);
- the model code, for machines without findna: the modules in :data:`REMOTE_SOURCES`, copied
  from this installation with their ``from findna... import`` lines made relative (``from
  .network import``), because ``transformers`` copies the relatively imported sibling files of
  remote code. So ``trust_remote_code`` runs the very code findna runs (one implementation),
  and an import of a findna module not listed here is an error at export time, not on the
  user's machine (docs/huggingface.md explains the choice).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from findna.version import __version__

REMOTE_SOURCES: dict[str, str] = {
    "findna.config": "findna_config.py",
    "findna.outputs": "findna_outputs.py",
    "findna.data.alphabet": "alphabet.py",
    "findna.model.config": "model_config.py",
    "findna.model.chordmixer": "chordmixer.py",
    "findna.model.rotation": "rotation.py",
    "findna.model.compiled": "compiled.py",
    "findna.model.transformer": "transformer.py",
    "findna.model.network": "network.py",
    "findna.model.special_inputs": "special_inputs.py",
    "findna.model.heads": "heads.py",
    "findna.model.inputs": "inputs.py",
    "findna.model.pooling": "pooling.py",
    "findna.model.hf.configuration_findna": "configuration_findna.py",
    "findna.model.hf.modeling_findna": "modeling_findna.py",
    "findna.model.hf.modeling_findna_token": "modeling_findna_token.py",
    "findna.model.hf.tokenization_findna": "tokenization_findna.py",
}
"""findna module -> its file name in an export (flat: ``transformers`` copies siblings only)."""

AUTO_MAP: dict[str, Any] = {
    "AutoConfig": "configuration_findna.FinDNAConfig",
    "AutoModel": "modeling_findna.FinDNAModel",
    "AutoModelForMaskedLM": "modeling_findna.FinDNAForMaskedLM",
    "AutoModelForSequenceClassification": "modeling_findna.FinDNAForSequenceClassification",
    "AutoModelForTokenClassification": "modeling_findna_token.FinDNAForTokenClassification",
}
TOKENIZER_CONFIG = "tokenizer_config.json"
MODEL_TYPE = "findna"

_FROM_FINDNA = re.compile(r"^(?P<indent>[ \t]*)from (?P<module>findna(?:\.\w+)*) import ", re.M)


def rewrite_imports(text: str, where: str) -> str:
    """``from findna.x.y import z`` -> ``from .<file of findna.x.y> import z`` in module source.

    Raises:
        ValueError: naming ``where`` and the module, when a findna module is imported that is not
            in :data:`REMOTE_SOURCES`, or findna is imported another way (``import findna``).
    """

    def relative(match: re.Match[str]) -> str:
        module = match["module"]
        if module not in REMOTE_SOURCES:
            raise ValueError(
                f"{where} imports {module}, which exports do not carry; add it to REMOTE_SOURCES "
                "in findna/model/hf/remote.py (with what it imports) or import it elsewhere"
            )
        return f"{match['indent']}from .{Path(REMOTE_SOURCES[module]).stem} import "

    out = _FROM_FINDNA.sub(relative, text)
    for node in ast.walk(ast.parse(out)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        if any(n == "findna" or n.startswith("findna.") for n in names):
            raise ValueError(
                f"{where} line {node.lineno}: findna is imported in a way exports cannot rewrite; "
                "use 'from findna.<module> import <name>' on one line"
            )
    return out


def remote_code_files() -> dict[str, str]:
    """File name -> source text of every module an export carries, imports made relative."""
    files = {}
    for module, name in REMOTE_SOURCES.items():
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise FileNotFoundError(f"cannot find the source of {module} in this installation")
        path = Path(spec.origin)
        header = (
            f"# Copied from findna {__version__} ({module}) for transformers' "
            "trust_remote_code; its findna imports are made relative.\n"
        )
        files[name] = header + rewrite_imports(path.read_text(), str(path))
    return files


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; save the network first (save_pretrained)")
    return json.loads(path.read_text())


def write_hf_files(
    folder: str | Path,
    architecture: str = "FinDNAForMaskedLM",
    classifier: Mapping[str, Any] | None = None,
    class_names: Sequence[str] = (),
    pretraining_n_cls: int | None = None,
) -> list[Path]:
    """Add the ``transformers`` files to a folder holding findna's ``config.json``.

    Args:
        folder: written by ``FinDNANetwork.save_pretrained`` (a classifier's too).
        architecture: ``FinDNAForMaskedLM`` (an export), ``FinDNAForSequenceClassification``
            or ``FinDNAForTokenClassification`` (a per-base model).
        classifier: pooling, n_cls, head_kind and head_hidden of a fine-tuned classifier, and
            (``task.json``'s fields) its ``task_type``: a regression, multi-label or per-base
            model also
            gets ``classifier.task_type`` (``FinDNAConfig`` sets ``problem_type`` from it), a
            regression model ``classifier.target_mean``/``target_std`` (which
            ``FinDNAForSequenceClassification`` applies to its outputs).
        class_names: the output names in order (classes, targets or labels).
        pretraining_n_cls: the CLS rows the network was pretrained with (``ssl.n_cls``), kept
            as ``pretraining_n_cls`` so that CLS poolings of the export append as many
            (``findna.model.cls_rows``); None writes nothing.

    Returns:
        The files written (``config.json`` updated in place).
    """
    folder = Path(folder)
    config = _read_config(folder)
    config.update(model_type=MODEL_TYPE, architectures=[architecture], auto_map=AUTO_MAP)
    if classifier is not None:
        config["classifier"] = {
            k: classifier[k] for k in ("pooling", "n_cls", "head_kind", "head_hidden")
        }
        kind = classifier.get("task_type", "classification")
        if kind != "classification":  # FinDNAConfig sets problem_type from it
            config["classifier"]["task_type"] = kind
            if kind == "regression":
                config["classifier"]["target_mean"] = list(classifier["target_mean"])
                config["classifier"]["target_std"] = list(classifier["target_std"])
        config["id2label"] = {str(i): name for i, name in enumerate(class_names)}
        config["label2id"] = {name: i for i, name in enumerate(class_names)}
    if pretraining_n_cls is not None:
        config["pretraining_n_cls"] = pretraining_n_cls
    written = [folder / "config.json"]
    written[0].write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    tokenizer = {
        "tokenizer_class": "FinDNATokenizer",
        "auto_map": {"AutoTokenizer": ["tokenization_findna.FinDNATokenizer", None]},
        "model_max_length": config["max_len"],
        "padding_side": "right",
        "pad_token": "[PAD]",
        "mask_token": "[MASK]",
        "cls_token": "[CLS]",
    }
    written.append(folder / TOKENIZER_CONFIG)
    written[-1].write_text(json.dumps(tokenizer, indent=2) + "\n")
    for name, text in remote_code_files().items():
        (folder / name).write_text(text)
        written.append(folder / name)
    return written


__all__ = ["AUTO_MAP", "REMOTE_SOURCES", "remote_code_files", "rewrite_imports", "write_hf_files"]
