"""Which windows each rank trains on at each step, and the seeds of each step's views.

The data position is a pure function of the global optimizer step, so a run resumed from a
checkpoint at step ``s`` continues with exactly the batches an uninterrupted run would have seen:

- Data epoch ``e`` shuffles the ``N`` window indices with a permutation seeded by ``(seed, e)``.
- Step ``s`` is batch ``p = s mod steps_per_epoch`` of epoch ``e = s // steps_per_epoch``: the
  *global* batch is ``perm[p*B*W : (p+1)*B*W]`` for per-rank batch ``B`` and world size ``W``,
  and rank ``r`` takes the contiguous slice ``[r*B, (r+1)*B)`` of it. Ranks never share a window
  within a step, and one process with batch ``W*B`` sees the same global batch.
- The random views of a step are built per *chunk* of the global batch (``view_chunk`` windows,
  default the per-rank batch) with a generator seeded by ``(seed, step, chunk)``. So views do not
  depend on how the global batch is spread over ranks as long as ``view_chunk`` divides ``B``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

_MASK64 = (1 << 64) - 1


def mix_seed(*parts: int) -> int:
    """Combine integers into one 63-bit seed with splitmix64 (order matters, no collisions in
    practice). Used for ``torch.Generator.manual_seed``."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = (h ^ (int(part) & _MASK64)) & _MASK64
        h = (h + 0x9E3779B97F4A7C15) & _MASK64
        z = h
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        h = z ^ (z >> 31)
    return h >> 1


def steps_per_epoch(num_items: int, batch_size: int, world_size: int) -> int:
    """Full global batches in one pass over ``num_items`` windows (the last partial one drops)."""
    steps = num_items // (batch_size * world_size)
    if steps < 1:
        raise ValueError(
            f"{num_items} windows cannot fill one global batch of {batch_size} x {world_size} "
            "ranks: raise data.windows.num_windows or lower optim.batch_size"
        )
    return steps


class StepBatchSampler(Sampler[list[int]]):
    """Yields this rank's window indices for global steps ``start_step .. total_steps - 1``.

    It has no ``__len__`` on purpose: Lightning then runs until ``max_steps`` and a resumed run
    does not shorten its epoch (see module docstring).
    """

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        *,
        seed: int,
        total_steps: int,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world size {world_size}")
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self.total_steps = total_steps
        self.start_step = start_step
        self.rank = rank
        self.world_size = world_size
        self.steps_per_epoch = steps_per_epoch(num_items, batch_size, world_size)

    def epoch_permutation(self, epoch: int) -> np.ndarray:
        """The shuffled window indices of data epoch ``epoch``."""
        g = torch.Generator().manual_seed(mix_seed(self.seed, epoch))
        return torch.randperm(self.num_items, generator=g).numpy()

    def batch_for_step(self, step: int, perm: np.ndarray | None = None) -> list[int]:
        """This rank's indices at global step ``step``."""
        epoch, pos = divmod(step, self.steps_per_epoch)
        if perm is None:
            perm = self.epoch_permutation(epoch)
        global_size = self.batch_size * self.world_size
        start = pos * global_size + self.rank * self.batch_size
        return perm[start : start + self.batch_size].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        epoch, perm = -1, None
        for step in range(self.start_step, self.total_steps):
            if step // self.steps_per_epoch != epoch:
                epoch = step // self.steps_per_epoch
                perm = self.epoch_permutation(epoch)
            yield self.batch_for_step(step, perm)


def chunk_ids(rank: int, batch_size: int, view_chunk: int) -> list[int]:
    """Global chunk numbers covered by this rank's batch (``view_chunk`` must divide it)."""
    if batch_size % view_chunk:
        raise ValueError(
            f"optim.batch_size={batch_size} is not a multiple of data.view_chunk={view_chunk}"
        )
    first = rank * batch_size // view_chunk
    return list(range(first, first + batch_size // view_chunk))
