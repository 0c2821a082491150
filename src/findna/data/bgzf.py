"""A BGZF writer: the blocked gzip that ``bgzip`` writes, so that ``tabix`` and ``bcftools`` can
index a ``.vcf.gz`` findna writes (plain gzip reads the same, but cannot be indexed).

BGZF (the SAM/BAM specification, section 4.1) is a series of gzip members of at most 64 KiB
each, every one with an extra header field ``BC`` holding the member's size, and an empty
28-byte member at the end of the file. Python's ``gzip`` reads it as any multi-member gzip.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import BinaryIO

BLOCK_INPUT = 0xFF00  # uncompressed bytes per block, as bgzip uses
MAX_BLOCK = 1 << 16  # a whole member, header and trailer included
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_HEADER = struct.Struct("<4BI2BH2BHH")  # gzip header with the 6-byte BC extra field


def bgzf_block(data: bytes, level: int = 6) -> bytes:
    """One BGZF member holding ``data`` (at most :data:`BLOCK_INPUT` bytes)."""
    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    size = _HEADER.size + len(body) + 8
    if size > MAX_BLOCK:  # incompressible data: two smaller blocks
        half = len(data) // 2
        return bgzf_block(data[:half], level) + bgzf_block(data[half:], level)
    header = _HEADER.pack(31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, size - 1)
    return header + body + struct.pack("<II", zlib.crc32(data), len(data))


class BgzfWriter:
    """Text or bytes written to ``path`` as BGZF blocks; :meth:`close` adds the EOF block."""

    def __init__(self, path: str | Path, level: int = 6) -> None:
        self._fh: BinaryIO = open(path, "wb")
        self._buffer = bytearray()
        self.level = level

    def write(self, data: str | bytes) -> None:
        self._buffer += data.encode() if isinstance(data, str) else data
        while len(self._buffer) >= BLOCK_INPUT:
            self._fh.write(bgzf_block(bytes(self._buffer[:BLOCK_INPUT]), self.level))
            del self._buffer[:BLOCK_INPUT]

    def close(self) -> None:
        if self._fh.closed:
            return
        if self._buffer:
            self._fh.write(bgzf_block(bytes(self._buffer), self.level))
            self._buffer.clear()
        self._fh.write(EOF_BLOCK)
        self._fh.close()


__all__ = ["BgzfWriter", "EOF_BLOCK", "bgzf_block"]
