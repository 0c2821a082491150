import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from findna.config import config_from_dict
from findna.data.genome import load_genome, prepare_genome
from findna.data.windows import GenomeWindows, WindowConfig, parse_region, splitmix64

_rng = np.random.default_rng(0)
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def _seq(n: int) -> bytes:
    return _BASES[_rng.integers(0, 4, n)].tobytes()


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """r1: 2000 bp with an N block at [500, 900); r2: 400 bp; r3: 30 bp (shorter than L=50)."""
    tmp = tmp_path_factory.mktemp("win")
    r1 = _seq(500) + b"N" * 400 + _seq(1100)
    fasta = tmp / "g.fa"
    fasta.write_bytes(b">r1\n" + r1 + b"\n>r2\n" + _seq(400) + b"\n>r3\n" + _seq(30) + b"\n")
    prepare_genome([fasta], tmp / "g")
    return load_genome(tmp / "g")


def _record_of(genome, starts):
    offsets = np.array([r.offset for r in genome.records])
    return np.searchsorted(offsets, starts, side="right") - 1


def test_same_seed_and_index_give_same_window(genome):
    cfg = WindowConfig(window_length=50, num_windows=300, seed=7)
    a, b = GenomeWindows(genome, cfg), GenomeWindows(genome, cfg)
    batch = a.fetch(np.arange(300))
    assert batch.shape == (300, 50) and batch.dtype == np.uint8
    assert np.array_equal(batch, b.fetch(np.arange(300)))
    # Order and batching do not matter.
    perm = np.random.default_rng(1).permutation(300)
    assert np.array_equal(b.fetch(perm), batch[perm])
    assert torch.equal(a[17], torch.from_numpy(batch[17]))
    assert a[17].dtype == torch.uint8
    other = GenomeWindows(genome, WindowConfig(window_length=50, num_windows=300, seed=8))
    assert not np.array_equal(other.fetch(np.arange(300)), batch)


def test_windows_match_genome_sequence(genome):
    ds = GenomeWindows(genome, WindowConfig(window_length=50, num_windows=100))
    starts = ds.starts(np.arange(100))
    for i in (0, 37, 99):
        assert np.array_equal(ds.fetch([i])[0], genome.codes[starts[i] : starts[i] + 50])
    rec = _record_of(genome, starts)
    ends = np.array([genome.records[r].offset + genome.records[r].length for r in rec])
    assert np.all(starts + 50 <= ends)  # never across a record end


def test_dataloader_with_two_workers_matches_direct_fetch(genome):
    cfg = WindowConfig(window_length=50, num_windows=64, seed=3)
    ds = GenomeWindows(genome, cfg)
    loader = DataLoader(ds, batch_size=16, num_workers=2, shuffle=False)
    got = torch.cat(list(loader))
    assert got.shape == (64, 50) and got.dtype == torch.uint8
    assert np.array_equal(got.numpy(), GenomeWindows(genome, cfg).fetch(np.arange(64)))


def test_pickled_dataset_is_small_and_equal(genome):
    # What a spawn-started DataLoader worker receives: the genome travels by path.
    ds = GenomeWindows(genome, WindowConfig(window_length=50, num_windows=20))
    payload = pickle.dumps(ds)
    assert len(payload) < 5000
    assert np.array_equal(pickle.loads(payload).fetch(np.arange(20)), ds.fetch(np.arange(20)))


def test_n_threshold_is_respected_and_n_fraction_is_exact(genome):
    keep_all = GenomeWindows(genome, WindowConfig(window_length=50, num_windows=2000, max_n_frac=1))
    windows = keep_all.fetch(np.arange(2000))
    true_frac = (windows == 4).mean(axis=1)
    assert np.allclose(keep_all.n_fraction(keep_all.starts(np.arange(2000))), true_frac)
    assert true_frac.max() == 1.0  # the N block is sampled without the filter
    filt = GenomeWindows(genome, WindowConfig(window_length=50, num_windows=2000, max_n_frac=0.1))
    assert (filt.fetch(np.arange(2000)) == 4).mean(axis=1).max() <= 0.1
    # Items that passed at the first attempt are unchanged by the filter.
    ok = true_frac <= 0.1
    assert np.array_equal(filt.fetch(np.arange(2000))[ok], windows[ok])


def test_all_n_genome_gives_clear_error(tmp_path):
    fasta = tmp_path / "n.fa"
    fasta.write_bytes(b">n\n" + b"N" * 200 + b"\n")
    g = prepare_genome([fasta], tmp_path / "g").genome
    ds = GenomeWindows(g, WindowConfig(window_length=50, num_windows=5, max_resample=3))
    with pytest.raises(ValueError, match="max_resample=3 redraws.*mostly N"):
        ds.fetch([0])


def test_short_records_skipped_and_too_short_genome_error(genome):
    ds = GenomeWindows(genome, WindowConfig(window_length=50, num_windows=10))
    assert ds.record_names == ("r1", "r2")  # r3 has 30 bp
    with pytest.raises(ValueError, match="genome shorter than one window.*longest record: 2000"):
        GenomeWindows(genome, WindowConfig(window_length=2001, num_windows=10))


def test_holdout_record_and_region(genome):
    base = dict(window_length=50, num_windows=3000, max_n_frac=1.0)
    hold = dict(holdout_records=("r2",), holdout_region="r1:1001-1400")
    train = GenomeWindows(genome, WindowConfig(**base, **hold))
    starts = train.starts(np.arange(3000))
    r2 = genome.record("r2")
    assert not np.any((starts >= r2.offset) & (starts < r2.offset + r2.length))
    # Region [1000, 1400) of r1: no train window overlaps it.
    assert not np.any((starts + 50 > 1000) & (starts < 1400))
    val = GenomeWindows(genome, WindowConfig(**base, **hold, split="val"))
    vstarts = val.starts(np.arange(3000))
    in_r2 = (vstarts >= r2.offset) & (vstarts + 50 <= r2.offset + r2.length)
    in_region = (vstarts >= 1000) & (vstarts + 50 <= 1400)
    assert np.all(in_r2 | in_region) and in_r2.any() and in_region.any()


def test_holdout_errors(genome):
    with pytest.raises(ValueError, match="no record named 'chrZ'"):
        GenomeWindows(genome, WindowConfig(holdout_records=("chrZ",), window_length=50))
    with pytest.raises(ValueError, match="ends after record 'r2'"):
        GenomeWindows(genome, WindowConfig(holdout_region="r2:1-500", window_length=50))
    with pytest.raises(ValueError, match="split='val' needs a held-out part"):
        WindowConfig(split="val")


def test_uniform_vs_length_weighted_record_frequencies(genome):
    n = 20_000
    base = dict(window_length=50, num_windows=n, max_n_frac=1.0)
    # Valid starts: r1 has 1951, r2 has 351.
    for mode, p_r1 in [("uniform", 0.5), ("length", 1951 / (1951 + 351))]:
        ds = GenomeWindows(genome, WindowConfig(**base, chrom_sampling=mode))
        frac = np.mean(_record_of(genome, ds.starts(np.arange(n))) == 0)
        sd = np.sqrt(p_r1 * (1 - p_r1) / n)
        assert abs(frac - p_r1) < 5 * sd, (mode, frac, p_r1)


def test_starts_are_uniform_within_a_record(genome):
    ds = GenomeWindows(genome, WindowConfig(window_length=50, num_windows=40_000, max_n_frac=1))
    starts = ds.starts(np.arange(40_000))
    r2 = genome.record("r2")
    pos = starts[(starts >= r2.offset)] - r2.offset
    counts = np.histogram(pos, bins=7, range=(0, 351))[0]
    expected = len(pos) / 7
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
    assert pos.min() == 0 and pos.max() == 350  # both ends reachable


def test_index_out_of_range(genome):
    ds = GenomeWindows(genome, WindowConfig(window_length=50, num_windows=10))
    with pytest.raises(IndexError):
        ds.fetch([10])


def test_config_validation_and_loading():
    cfg = config_from_dict(WindowConfig, {"holdout_records": ["chrX"], "seed": 3})
    assert cfg.holdout_records == ("chrX",)
    for bad, match in [
        ({"window_length": 0}, "window_length"),
        ({"max_n_frac": 1.5}, "max_n_frac"),
        ({"holdout_region": "chr1:10"}, "name:start-end"),
        ({"holdout_region": "chr1:10-5"}, "start <= end"),
    ]:
        with pytest.raises(ValueError, match=match):
            WindowConfig(**bad)
    assert parse_region("chr1:1,001-2,000") == ("chr1", 1000, 2000)


def test_splitmix64_known_values():
    # Reference outputs of splitmix64's finaliser (x starting at the golden-ratio increment).
    out = splitmix64(np.array([0x9E3779B97F4A7C15], dtype=np.uint64))
    assert int(out[0]) == 0xE220A8397B1DCDAF
