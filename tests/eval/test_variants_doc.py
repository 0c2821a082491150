"""docs/variants.md runs: its ``python`` blocks, in order, in a fresh folder."""

import re
from pathlib import Path

import torch

DOC = Path(__file__).parents[2] / "docs" / "variants.md"


def test_the_examples_of_the_variants_page_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert blocks, "docs/variants.md shows a Python example"
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    namespace: dict = {}
    try:
        for i, block in enumerate(blocks):
            exec(compile(block, f"docs/variants.md block {i + 1}", "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / "scores.vcf.gz").is_file() and (tmp_path / "scores.meta.json").is_file()
