import numpy as np
import pytest

from findna.train.sampling import StepBatchSampler, chunk_ids, mix_seed, steps_per_epoch


def _batches(**kwargs):
    return list(StepBatchSampler(**kwargs))


def test_ranks_split_the_global_batch_of_one_process():
    common = dict(num_items=50, seed=3, total_steps=9)
    single = _batches(batch_size=4, **common)
    rank0 = _batches(batch_size=2, rank=0, world_size=2, **common)
    rank1 = _batches(batch_size=2, rank=1, world_size=2, **common)
    for step in range(9):
        assert rank0[step] + rank1[step] == single[step]
        assert not set(rank0[step]) & set(rank1[step])


def test_an_epoch_visits_distinct_windows_and_epochs_differ():
    batches = _batches(num_items=10, batch_size=3, seed=0, total_steps=6)
    assert steps_per_epoch(10, 3, 1) == 3
    first_epoch = sum(batches[:3], [])
    assert len(set(first_epoch)) == 9
    assert batches[:3] != batches[3:]


def test_resume_continues_the_same_sequence():
    full = _batches(num_items=40, batch_size=4, seed=1, total_steps=25)
    tail = _batches(num_items=40, batch_size=4, seed=1, total_steps=25, start_step=13)
    assert tail == full[13:]


def test_too_few_windows_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot fill one global batch"):
        steps_per_epoch(5, 4, 2)


def test_chunk_ids_cover_the_global_batch():
    assert chunk_ids(0, 8, 4) == [0, 1]
    assert chunk_ids(1, 4, 4) == [1]
    with pytest.raises(ValueError, match="not a multiple"):
        chunk_ids(0, 6, 4)


def test_mix_seed_is_order_sensitive_and_in_range():
    seeds = {mix_seed(a, b) for a in range(20) for b in range(20)}
    assert len(seeds) == 400
    assert mix_seed(1, 2) != mix_seed(2, 1)
    assert all(0 <= s < 2**63 for s in seeds)
    assert np.uint64(mix_seed(5)) == np.uint64(mix_seed(5))
