"""A user's task table's row ids: its ``id`` column when that names every row once, else
``<file name>:<data row>`` (the readers' default)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from findna.data.table_files import read_column

log = logging.getLogger(__name__)

ID_COLUMN = "id"
"""The column of a user's task table whose cells are its rows' ids."""


def table_id_column(paths: Iterable[Path]) -> str | None:
    """``id`` when every table has an ``id`` column whose values are unique in it, else None.

    A table whose ``id`` column repeats a value (gene ids of several windows, empty cells) holds
    no row ids: a warning names the repeat, and the rows get ``<file name>:<data row>`` ids.
    """
    for path in dict.fromkeys(paths):
        ids = read_column(path, ID_COLUMN)
        if ids is None:
            return None
        again = ids.duplicated().to_numpy().nonzero()[0]
        if again.size:
            j = int(again[0])
            i = int((ids.iloc[:j] == ids.iat[j]).to_numpy().nonzero()[0][0])
            log.warning(
                "%s: its %r column repeats %r (data rows %d and %d), so it does not name the rows; "
                "they are named <file name>:<data row> instead (%s:1 is data row 1). Rename the "
                "column to silence this.",
                path,
                ID_COLUMN,
                ids.iat[j],
                i + 1,
                j + 1,
                path.name,
            )
            return None
    return ID_COLUMN


__all__ = ["ID_COLUMN", "table_id_column"]
