import gzip
from pathlib import Path

import numpy as np
import pytest

from findna.data import fasta as fasta_mod
from findna.data.alphabet import decode
from findna.data.fasta import encode_chunked, read_fasta, softmask_chunked

# Odd line widths, CRLF, blank lines, lower case, IUPAC, a header with a description.
MESSY = (
    b">chr1 first record  \r\n"
    b"ACGTac\r\n"
    b"gtNNRY\r\n"
    b"\r\n"
    b"A\r\n"
    b">chr2\n"
    b"\n"
    b"ttttGGGGcccc\n"
    b"AC\n"
    b">chr3\tx y\n"
    b"NNNNACGT"  # no final newline
)
EXPECTED = {
    "chr1": ("first record", "ACGTacgtNNRYA"),
    "chr2": ("", "ttttGGGGccccAC"),
    "chr3": ("x y", "NNNNACGT"),
}


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _check_messy(records):
    assert [r.name for r in records] == list(EXPECTED)
    for rec in records:
        desc, seq = EXPECTED[rec.name]
        assert rec.description == desc
        assert rec.raw == seq.encode()
        assert len(rec) == len(seq)
        iupac_as_n = seq.upper().replace("R", "N").replace("Y", "N")
        assert decode(rec.codes) == iupac_as_n
        assert rec.softmask().tolist() == [c.islower() for c in seq]


def test_plain_messy_fasta(tmp_path):
    _check_messy(list(read_fasta(_write(tmp_path, "x.fa", MESSY))))


def test_gzip_and_bgzip_like_multi_member(tmp_path):
    _check_messy(list(read_fasta(_write(tmp_path, "x.fa.gz", gzip.compress(MESSY)))))
    # bgzip writes concatenated gzip members; cut in the middle of a line and of a header.
    members = b"".join(gzip.compress(MESSY[a:b]) for a, b in [(0, 9), (9, 40), (40, None)])
    _check_messy(list(read_fasta(_write(tmp_path, "y.fna.gz", members))))


def test_records_spanning_chunks(tmp_path, monkeypatch):
    # Tiny read chunks force headers and lines to straddle chunk boundaries.
    monkeypatch.setattr(fasta_mod, "_CHUNK", 5)
    monkeypatch.setattr(fasta_mod, "_ENCODE_PIECE", 3)
    _check_messy(list(read_fasta(_write(tmp_path, "x.fa", MESSY))))


def test_header_name_is_first_word(tmp_path):
    path = _write(tmp_path, "x.fa", b">X  gi|224|ref|NC_1|\nACGT\n")
    (rec,) = read_fasta(path)
    assert (rec.name, rec.description) == ("X", "gi|224|ref|NC_1|")


def test_encode_chunked_matches_positions_in_errors():
    raw = b"ACGT" * 5 + b"Z" + b"A"
    with pytest.raises(ValueError, match="position 21"):
        encode_chunked(raw, source="s", on_invalid="error")
    assert encode_chunked(raw, source="s", on_invalid="n")[20] == 4
    assert softmask_chunked(b"aCgT").tolist() == [True, False, True, False]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"ACGT\n>r\nACGT\n", r"line 1: sequence before the first header"),
        (b"\n\nAC\n>r\nACGT\n", r"line 3: sequence before the first header"),
        (b">r1\nACGT\n>r2\n\n>r3\nA\n", r"line 3: record 'r2' has no sequence"),
        (b">r1\nACGT\n>r1 again\nAC\n", r"line 3: duplicate record name 'r1'"),
        (b">r1\nAC\x00GT\n", r"line 2: byte 0x00 is not text"),
        (b">r1\nACGT\n>r2\n\xc3\x84CGT\n", r"line 4: byte 0xc3 is not text"),
        (b"", r"empty FASTA file"),
        (b"\n\n  \n", r"empty FASTA file"),
        (b">\nACGT\n", r"line 1: empty header"),
        (b">r1\nACGT\nAC-T\n", r"record 'r1': invalid character '-' at position 7"),
    ],
)
def test_malformed_input_names_file_and_place(tmp_path, data, match):
    path = _write(tmp_path, "bad.fa", data)
    with pytest.raises(ValueError, match=match) as err:
        list(read_fasta(path))
    assert str(path) in str(err.value)


def test_on_invalid_n_reads_invalid_as_n(tmp_path):
    (rec,) = read_fasta(_write(tmp_path, "x.fa", b">r\nAC-T\n"), on_invalid="n")
    assert decode(rec.codes) == "ACNT"


def test_truncated_gzip_is_a_clear_error(tmp_path):
    data = gzip.compress(MESSY * 50)
    path = _write(tmp_path, "cut.fa.gz", data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.fa.gz: the gzip stream ends early"):
        list(read_fasta(path))


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    data = bytearray(gzip.compress(MESSY * 50))
    data[20:40] = b"\xff" * 20
    path = _write(tmp_path, "bad.fa.gz", bytes(data))
    with pytest.raises(ValueError, match=r"bad.fa.gz: (not a readable gzip|the gzip stream)"):
        list(read_fasta(path))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list(read_fasta(tmp_path / "nope.fa"))


def test_codes_are_uint8_and_match_alphabet(tmp_path):
    (rec,) = read_fasta(_write(tmp_path, "x.fa", b">r\nACGTN\n"))
    assert rec.codes.dtype == np.uint8
    assert rec.codes.tolist() == [0, 1, 2, 3, 4]
