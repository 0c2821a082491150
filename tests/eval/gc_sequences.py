"""Random sequences whose G+C share differs from row to row, the synthetic tasks' raw material:
GC fraction, GC-rich labels and per-base G/C labels are all learnable from them."""

import numpy as np


def gc_biased_sequence(rng: np.random.Generator, shortest: int = 16, longest: int = 24) -> str:
    """One sequence of ``shortest``-``longest`` bp; each base is G or C with a probability drawn
    for the row from 0.1-0.9 (so the rows' GC fractions spread over most of 0-1)."""
    g = rng.uniform(0.05, 0.45)
    length = int(rng.integers(shortest, longest + 1))
    return "".join(rng.choice(list("ACGT"), length, p=[0.5 - g, g, g, 0.5 - g]))
