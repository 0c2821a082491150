import numpy as np
import pytest
import torch

from findna.data import alphabet as ab


def test_encode_maps_case_iupac_and_rna():
    codes = ab.encode("ACGTNacgtnURYKMSWBDHVu")
    assert codes.dtype == np.uint8
    assert codes.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 3] + [4] * 10 + [3]


def test_softmask_marks_lower_case_only():
    assert ab.softmask("ACgtN").tolist() == [False, False, True, True, False]


@pytest.mark.parametrize("bad", ["-", "*", ".", "1", "\x00", "X"])
def test_invalid_character_error_names_source_position_and_char(bad):
    seq = "ACG" + bad + "T"
    with pytest.raises(ValueError) as err:
        ab.encode(seq, source="x.fa, record 'chr1'", offset=100)
    msg = str(err.value)
    assert "x.fa, record 'chr1'" in msg
    assert "position 104" in msg
    assert repr(bad) in msg
    assert "on_invalid" in msg


def test_invalid_policy_n_turns_invalid_into_n():
    assert ab.encode("AC-T*", on_invalid="n").tolist() == [0, 1, 4, 3, 4]


def test_non_ascii_is_rejected():
    with pytest.raises(ValueError, match="non-ASCII"):
        ab.encode("ACÄT")


def test_decode_round_trip_upper_cases():
    seq = "ACGTNNacgt"
    assert ab.decode(ab.encode(seq)) == seq.upper()
    assert ab.decode(torch.tensor([0, 5, 3])) == "A-T"


def test_one_hot_order_and_pad_is_zero():
    x = ab.one_hot(np.array([0, 1, 2, 3, 4, 5]))
    assert x.shape == (6, 5)
    assert torch.equal(x[:5], torch.eye(5))
    assert torch.equal(x[5], torch.zeros(5))


def test_reverse_complement_string_by_hand():
    assert ab.reverse_complement("AACGTN") == "NACGTT"
    assert ab.reverse_complement("acgR") == "Ycgt"


def test_reverse_complement_is_an_involution_for_all_representations():
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 6, (3, 17), generator=g)
    assert torch.equal(ab.reverse_complement_codes(ab.reverse_complement_codes(codes)), codes)
    x = ab.one_hot(codes)
    assert torch.equal(ab.reverse_complement_one_hot(ab.reverse_complement_one_hot(x)), x)
    np_codes = codes.numpy().astype(np.uint8)
    twice = ab.reverse_complement_codes(ab.reverse_complement_codes(np_codes))
    assert np.array_equal(twice, np_codes)


def test_reverse_complement_agrees_across_representations():
    seq = "ACCGTTNAG"
    codes = ab.encode(seq)
    rc = ab.reverse_complement(seq)
    assert ab.decode(ab.reverse_complement_codes(codes)) == rc
    assert torch.equal(ab.reverse_complement_one_hot(ab.one_hot(codes)), ab.one_hot(ab.encode(rc)))
