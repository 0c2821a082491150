"""The modules a task passes through in one ``run_benchmark`` (docs/code-map.md, 'One task').

Used by tests/eval/test_task_driver.py; the figures in docs/code-map.md come from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from findna.data.task_spec import TaskSpec
from findna.data.tasks import TaskData

SRC = Path(__import__("findna").__file__).resolve().parent


def _is_task(value: object) -> bool:
    return isinstance(value, TaskSpec | TaskData) or isinstance(
        getattr(value, "task", None), TaskData
    )


def task_path(fn, *args, **kwargs) -> list[str]:
    """The findna modules whose functions are called with the task (its ``TaskSpec``, its
    loaded ``TaskData`` or an object holding it) as an argument, in call order; methods of the
    task itself are not counted, and consecutive calls in one module count once."""
    path: list[str] = []

    def profile(frame, event, arg):
        code = frame.f_code
        if event != "call" or code.co_name == "<module>":
            return
        file = Path(code.co_filename)
        if not file.is_relative_to(SRC):
            return
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        if any(_is_task(frame.f_locals.get(n)) for n in names if n != "self"):
            module = ".".join(file.relative_to(SRC).with_suffix("").parts)
            if not path or path[-1] != module:
                path.append(module)

    sys.setprofile(profile)
    try:
        fn(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return path


def path_counts(path: list[str]) -> tuple[int, int]:
    """(modules entered, returns: entries into a module the path had already left)."""
    return len(set(path)), sum(1 for i, m in enumerate(path) if m in path[:i])
