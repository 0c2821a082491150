"""Messages logged once per process (findna.logs)."""

import logging

from findna.logs import log_once


def test_a_key_is_said_once_per_logger_at_its_level(caplog):
    first, second = logging.getLogger("findna.test_a"), logging.getLogger("findna.test_b")
    with caplog.at_level("INFO"):
        assert log_once(first, logging.WARNING, ("f.bed", 3), "%s: %d rows", "f.bed", 3)
        assert not log_once(first, logging.WARNING, ("f.bed", 3), "%s: %d rows", "f.bed", 3)
        assert log_once(first, logging.WARNING, ("f.bed", 4), "%s: %d rows", "f.bed", 4)
        assert log_once(second, logging.INFO, ("f.bed", 3), "the same key, another logger")
    said = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert said == [
        ("findna.test_a", "WARNING", "f.bed: 3 rows"),
        ("findna.test_a", "WARNING", "f.bed: 4 rows"),
        ("findna.test_b", "INFO", "the same key, another logger"),
    ]
