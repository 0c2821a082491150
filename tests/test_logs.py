"""Messages logged once per process (findna.logs)."""

import logging
import uuid

from findna.logs import log_once


def test_a_key_is_said_once_per_logger_at_its_level(caplog):
    run = uuid.uuid4().hex  # the loggers are new in every run of this test in one process
    first, second = logging.getLogger(f"findna.a{run}"), logging.getLogger(f"findna.b{run}")
    with caplog.at_level("INFO"):
        assert log_once(first, logging.WARNING, ("f.bed", 3), "%s: %d rows", "f.bed", 3)
        assert not log_once(first, logging.WARNING, ("f.bed", 3), "%s: %d rows", "f.bed", 3)
        assert log_once(first, logging.WARNING, ("f.bed", 4), "%s: %d rows", "f.bed", 4)
        assert log_once(second, logging.INFO, ("f.bed", 3), "the same key, another logger")
    said = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert said == [
        (first.name, "WARNING", "f.bed: 3 rows"),
        (first.name, "WARNING", "f.bed: 4 rows"),
        (second.name, "INFO", "the same key, another logger"),
    ]
