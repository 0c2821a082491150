"""The life cycle of output folders and the locks of outputs (docs/reliability.md).

:mod:`findna.folders.manifest`: what findna wrote in a folder, ``--force`` removing only that,
complete only when the manifest says so. :mod:`findna.folders.lock`: one writer per output.
"""

from findna.folders.lock import (
    LOCK,
    OutputBusyError,
    check_file_not_busy,
    file_lock,
    file_lock_path,
    lock_file,
    rename_no_clobber,
    unlock_file,
)
from findna.folders.manifest import (
    MANIFEST,
    FolderKind,
    OutputFolder,
    check_folder,
    entries,
    folder_state,
    is_complete,
    output_folder,
    read_manifest,
    staged_folder,
    start_folder,
)

__all__ = [
    "LOCK",
    "MANIFEST",
    "FolderKind",
    "OutputBusyError",
    "OutputFolder",
    "check_file_not_busy",
    "check_folder",
    "entries",
    "file_lock",
    "file_lock_path",
    "folder_state",
    "is_complete",
    "lock_file",
    "output_folder",
    "read_manifest",
    "rename_no_clobber",
    "staged_folder",
    "start_folder",
    "unlock_file",
]
