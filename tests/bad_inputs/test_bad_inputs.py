"""The bad-input suite (issue 12; the kinds are listed in docs/reliability.md).

Each case builds its files in ``tmp_path``, runs one ``findna`` command in-process and checks:
the exit code, that the message names the file, row or option and what to do, and that no file
in ``tmp_path`` changed and none appeared (sha256 of the whole tree before and after). Cases
findna accepts (a UTF-8 BOM, CR-only line ends) check the output instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bad_input_kit import Case, probe_argv, random_seq, task_folder, tree_hashes
from cases_inputs import INPUT_CASES
from cases_models import MODEL_CASES
from cases_outputs import OUTPUT_CASES
from cases_settings import SETTINGS_CASES

from findna.cli import main

CASES = [*INPUT_CASES, *OUTPUT_CASES, *MODEL_CASES, *SETTINGS_CASES]


@contextmanager
def _no_fault() -> Iterator[None]:
    yield


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys, monkeypatch) -> None:
    root = tmp_path / "work"
    root.mkdir()
    case.files(root)
    before = tree_hashes(root)
    with case.fault(root, monkeypatch) if case.fault else _no_fault():
        code = main(case.argv(root))
    err = capsys.readouterr().err
    assert code == case.code, err
    if case.code == 0:
        ids = (root / "out.ids.txt").read_text().split()
        assert ids == ["r0", "r1"] and np.load(root / "out.npy").shape[0] == 2
        return
    assert "findna: error:" in err.splitlines()[-1] and "Traceback" not in err, err
    assert re.search(case.message, err, flags=re.DOTALL), err
    assert tree_hashes(root) == before  # nothing changed, nothing appeared


def test_the_suite_covers_every_listed_kind() -> None:
    """docs/reliability.md lists exactly the kinds that have a case here, and their count."""
    doc = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text()
    listed = {line[2:].split(" -> ")[0].strip("`") for line in doc.splitlines()
              if line.startswith("- `") and " -> " in line}  # fmt: skip
    kinds = {c.kind for c in CASES} | {"--device cuda without CUDA"}  # run only without CUDA
    assert kinds == listed, sorted(kinds ^ listed)
    assert f"{len(kinds)} kinds, one parametrised case each" in doc


def test_probe_refuses_a_one_class_split_before_training(tmp_path: Path) -> None:
    from findna.data.tasks import TaskSpec, load_task
    from findna.eval.probe import ProbeConfig, run_probe

    files = {}
    for split, labels in (("train", [0, 1] * 10), ("dev", [0] * 4), ("test", [0, 1] * 3)):
        files[split] = str(tmp_path / f"{split}.csv")
        pd.DataFrame({"sequence": [random_seq() for _ in labels], "label": labels}).to_csv(
            files[split], index=False
        )
    spec = TaskSpec("mine/one", "mine", files, "table", num_classes=2, metric="mcc",
                    protocol="official", max_len=30)  # fmt: skip
    task = load_task(spec, 0)
    with pytest.raises(ValueError, match=r"mine/one: no meaningful score.*the val split has 4 "
                       r"example\(s\) of 1 class.*val: 4 \(class 0: 4\)"):  # fmt: skip
        run_probe(task, "scratch", ProbeConfig(), 0, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_task_commands_accept_on_invalid_n(tmp_path: Path) -> None:
    """The hint of the invalid-character error works on the task commands: --on-invalid n."""
    task_folder({"train": [("ACGTJ", 0)]})(tmp_path)
    argv = probe_argv()(tmp_path)
    assert main([*argv, "--on-invalid", "n"]) == 0
    assert (tmp_path / "out" / "probe.json").is_file()
