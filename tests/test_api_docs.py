"""docs/api.md runs: every ``python`` block, in order, in one namespace, in a fresh folder."""

import re
from pathlib import Path

import torch

DOC = Path(__file__).parents[1] / "docs" / "api.md"


def test_every_example_of_the_api_page_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    namespace: dict = {}
    try:
        for i, block in enumerate(blocks):
            exec(compile(block, f"docs/api.md block {i + 1}", "exec"), namespace)
    finally:
        torch.set_num_threads(threads)


def test_import_findna_exposes_the_api_lazily():
    import findna
    from findna import api

    assert set(findna.__all__) - {"__version__"} == set(api.__all__)
    assert set(api.__all__) <= set(dir(findna))
    assert callable(findna.embed) and findna.embed.__module__ == "findna.api"
