"""The BGZF writer: gzip-readable, blocked as bgzip writes, with the EOF block."""

import gzip
import os
import struct

from findna.data.bgzf import BLOCK_INPUT, EOF_BLOCK, BgzfWriter


def _blocks(raw):
    """(block size, uncompressed size) of every member, read from the BC field and trailer."""
    out, at = [], 0
    while at < len(raw):
        assert raw[at : at + 4] == b"\x1f\x8b\x08\x04" and raw[at + 12 : at + 14] == b"BC"
        size = struct.unpack("<H", raw[at + 16 : at + 18])[0] + 1
        out.append((size, struct.unpack("<I", raw[at + size - 4 : at + size])[0]))
        at += size
    return out


def test_bgzf_is_gzip_in_blocks_of_at_most_64_kib(tmp_path):
    text = "".join(f"chr1\t{i}\t.\tA\tG\t.\t.\tX={i}\n" for i in range(20000))
    noise = os.urandom(3 * BLOCK_INPUT)  # incompressible: blocks split to stay under 64 KiB
    writer = BgzfWriter(tmp_path / "x.gz")
    writer.write(text)
    writer.write(noise)
    writer.close()
    writer.close()  # twice is harmless
    raw = (tmp_path / "x.gz").read_bytes()
    assert gzip.decompress(raw) == text.encode() + noise
    assert raw.endswith(EOF_BLOCK)
    blocks = _blocks(raw)
    assert all(size <= 1 << 16 and n <= BLOCK_INPUT for size, n in blocks)
    assert sum(n for _, n in blocks) == len(text) + len(noise) and blocks[-1] == (28, 0)
