"""Where the real data lives: ``$FINDNA_DATA``, else ``../shared/data`` next to the repository."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "FINDNA_DATA"
# src/findna/data/root.py -> parents[3] is the repository root (editable install or checkout).
_REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_ROOTS = (_REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data")


def data_root() -> Path:
    """The data root directory.

    Raises:
        FileNotFoundError: naming every place looked at (the environment variable and each
            default root), when none exists.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(
                f"{ENV_VAR}={env} is not a directory. Point {ENV_VAR} at the folder that holds "
                "genomes/ and benchmarks/, or unset it to use ../shared/data."
            )
        return path
    for path in DEFAULT_ROOTS:
        if path.is_dir():
            return path
    looked = " and ".join(str(p) for p in DEFAULT_ROOTS)
    raise FileNotFoundError(
        f"no data root: ${ENV_VAR} is not set and none of the default places exists "
        f"(looked at {looked}). "
        f"Set {ENV_VAR}=/path/to/data (the folder that holds genomes/ and benchmarks/)."
    )
