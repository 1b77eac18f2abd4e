"""The position of a streaming training loader in a checkpoint, and going back to it.

A streaming dataset (``IterableDataset``, e.g. ``ShardedVideoDataset``) that defines
``loader_state(batches_done) -> dict`` and ``resume_at(state)`` has its position saved with a
mid-epoch checkpoint and, on resume, skips the batches done itself, without loading them
(map-style datasets replay the epoch's order instead: the trainer draws those batches again
and drops them). Duck-typed, so the engine does not import the datasets.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .checkpoint import set_rng_state

__all__ = ['loader_position', 'epoch_batches']


def loader_position(loader: Any, batches_done: int) -> dict[str, Any] | None:
    """``loader``'s dataset position after ``batches_done`` batches (None: not streaming)."""
    state = getattr(getattr(loader, 'dataset', None), 'loader_state', None)
    return state(batches_done) if callable(state) else None


def epoch_batches(loader: Any, replay: Mapping[str, Any] | None) -> tuple[int, Iterator[Any]]:
    """The epoch's iterator over ``loader``, and the batches it starts after.

    After a mid-epoch resume (``replay``: the trainer's ``skip``, ``rng`` and the saved
    ``loader`` position), a streaming dataset is told to skip the ``skip`` batches done
    itself before its workers start; the random states of the checkpoint then come back (the
    iterator's creation drew from the epoch-start states, as the interrupted run's did).
    Otherwise ``(0, iter(loader))``: the trainer replays the skipped batches.
    """
    resume_at = getattr(getattr(loader, 'dataset', None), 'resume_at', None)
    if replay is None or not replay['skip'] or replay.get('loader') is None or \
            not callable(resume_at):
        return 0, iter(loader)
    resume_at(replay['loader'])
    batches = iter(loader)
    set_rng_state(replay['rng'])
    return int(replay['skip']), batches
