"""A synthetic genome and a pretraining config small enough for a few-second run on 2 CPU cores.

Shared by the pretraining, resume, multi-node, precision and output-folder tests (the tests/
folder is on ``sys.path`` through its conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml


def write_genome(path: Path, seed: int = 0) -> Path:
    """Two random records, chrA (6,000 bp) and chrB (3,000 bp), 70 bases per line."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for name, n in (("chrA", 6000), ("chrB", 3000)):
            seq = "".join(rng.choice(list("ACGT"), size=n))
            f.write(f">{name}\n" + "\n".join(seq[i : i + 70] for i in range(0, n, 70)) + "\n")
    return path


def micro_config(tmp_path: Path, **sections) -> Path:
    """Write ``tmp_path/micro.yaml`` (genome g.fa, prepared/ and run/ beside it) and return it.

    Each keyword replaces keys of that section, e.g. ``optim={"max_steps": 2}``.
    """
    cfg = {
        "data": {
            "genome": str(write_genome(tmp_path / "g.fa")),
            "prepared_dir": str(tmp_path / "prepared"),
            "windows": {"window_length": 32, "num_windows": 256, "holdout_records": ["chrB"]},
            "val_windows": 16,
        },
        "model": {"track_size": 4, "hidden": 16, "n_layers": 1, "max_len": 34},
        "views": {"n_cls": 2},
        "ssl": {"n_cls": 2},
        "optim": {"batch_size": 8, "max_steps": 12, "lr": 1e-3},
        "run": {
            "out_dir": str(tmp_path / "run"),
            "precision": "32-true",
            "accelerator": "cpu",
            "ckpt_every_n_steps": 4,
            "val_every_n_steps": 6,
            "log_every_n_steps": 2,
            "progress_bar": False,
        },
    }
    for section, values in sections.items():
        cfg[section].update(values)
    path = tmp_path / "micro.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path
