"""Messages logged once per process, whatever the number of times their cause is met.

A file's interval warnings (a task is checked when it is resolved and again when it is loaded),
a metric that is undefined for a label vector (a probe scores it once per learning rate) and the
precision ``auto`` chose (every command asks) are said once, keyed by what they are about.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

_SAID: set[tuple[str, Hashable]] = set()


def log_once(
    logger: logging.Logger, level: int, key: Hashable, message: str, *args: object
) -> bool:
    """Log ``message % args`` at ``level`` on ``logger`` unless ``logger`` has already logged a
    message under ``key`` in this process; True when it was logged now."""
    said = (logger.name, key)
    if said in _SAID:
        return False
    _SAID.add(said)
    logger.log(level, message, *args)
    return True


__all__ = ["log_once"]
