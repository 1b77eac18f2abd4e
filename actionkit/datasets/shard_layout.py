"""Which samples of an epoch each rank and each loader worker streams, and in which order.

An epoch is one sequence of the ``total`` samples: the shards in (shuffled) order, each
shard's samples in order. It is cut into ``world_size`` contiguous rank blocks of ``n =
ceil(total / world_size)`` positions; the first ``total - (n - 1) * world_size`` ranks hold
``n`` real samples, the others ``n - 1`` plus one *padding* position at their end, which
repeats the next sample of the sequence (every rank must step as often as the others, as
``DistributedSampler`` pads). A rank reads only its block: at most one shard partly more than
its share.

A rank block's ``n`` positions are cut into batches of ``batch_size`` and the batches into
``num_workers`` contiguous runs, the last worker taking the most (and the one partial batch).
A DataLoader takes the workers' batches in turn (worker 0's first, worker 1's first, ...,
skipping a worker that has run out), so the order the rank sees is :func:`yield_order`; its
last sample is the padding, which is why the distributed test collection (interleave the
ranks, cut at ``total``) drops exactly the padding.

Example (10 samples, 3 ranks, batches of 2, 2 workers): rank blocks are positions 0-3,
4-6 (+ pad 7), 7-9 (+ pad 0 -> sample 0 again); rank 0's block ``[0, 4)`` gives worker 0
positions 0-1 and worker 1 positions 2-3.
"""
from __future__ import annotations

import math

__all__ = ['rank_block', 'worker_span', 'worker_batches', 'yield_order', 'consumed']


def rank_block(total: int, world_size: int, rank: int) -> tuple[int, int, int]:
    """``(start, real, length)``: the rank's first epoch position, its real samples and its
    positions (``length - real`` is 0 or 1 padding position)."""
    if total < 1 or not 0 <= rank < world_size:
        raise ValueError(f'rank_block needs total >= 1 and 0 <= rank < world_size, got '
                         f'{total}, {rank}, {world_size}')
    length = math.ceil(total / world_size)
    full = total - (length - 1) * world_size  # ranks with ``length`` real samples
    if rank < full:
        return rank * length, length, length
    return full * length + (rank - full) * (length - 1), length - 1, length


def worker_span(length: int, batch_size: int, num_workers: int, worker: int) -> tuple[int, int]:
    """``[begin, end)``: the block positions worker ``worker`` streams (``num_workers`` 0
    counts as 1)."""
    workers = max(1, num_workers)
    batches = math.ceil(length / batch_size)
    first, last = worker * batches // workers, (worker + 1) * batches // workers
    return min(first * batch_size, length), min(last * batch_size, length)


def worker_batches(length: int, batch_size: int, num_workers: int,
                   drop_last: bool = False) -> list[list[tuple[int, int]]]:
    """Each worker's batches as ``(begin, end)`` block positions (a partial batch dropped
    with ``drop_last``)."""
    out = []
    for worker in range(max(1, num_workers)):
        begin, end = worker_span(length, batch_size, num_workers, worker)
        spans = [(pos, min(pos + batch_size, end)) for pos in range(begin, end, batch_size)]
        if drop_last:
            spans = [(a, b) for a, b in spans if b - a == batch_size]
        out.append(spans)
    return out


def _round_robin(per_worker: list[list[tuple[int, int]]]) -> list[tuple[int, tuple[int, int]]]:
    order, taken = [], [0] * len(per_worker)
    while any(taken[w] < len(spans) for w, spans in enumerate(per_worker)):
        for worker, spans in enumerate(per_worker):
            if taken[worker] < len(spans):
                order.append((worker, spans[taken[worker]]))
                taken[worker] += 1
    return order


def yield_order(length: int, batch_size: int, num_workers: int,
                drop_last: bool = False) -> list[int]:
    """The block positions in the order a DataLoader returns them (test mode: no buffer)."""
    return [pos for _, (a, b) in _round_robin(worker_batches(length, batch_size, num_workers,
                                                             drop_last))
            for pos in range(a, b)]


def consumed(length: int, batch_size: int, num_workers: int, batches_done: int,
             drop_last: bool = False) -> list[int]:
    """How many samples each worker's stream gave for the first ``batches_done`` batches."""
    per_worker = worker_batches(length, batch_size, num_workers, drop_last)
    counts = [0] * len(per_worker)
    for worker, (a, b) in _round_robin(per_worker)[:batches_done]:
        counts[worker] += b - a
    return counts
