"""Errors raised while turning one annotation record into a sample (no heavy imports here).

A :class:`DataError` means "this sample cannot be produced" (a missing, empty, truncated or
undecodable file, a frame folder with gaps …). It always names the file. During training the
dataset turns it into a :class:`BadSample`, which the collate function sets aside and the
trainer counts; in test mode it propagates.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ['DataError', 'DecodeError', 'AnnotationError', 'BadSample']


class DataError(RuntimeError):
    """A sample could not be loaded. ``path`` names the file or folder involved."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class DecodeError(DataError):
    """A video or image file could not be decoded."""


class AnnotationError(ValueError):
    """An annotation file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class BadSample:
    """Placeholder a training dataset returns for a sample it had to skip."""

    index: int
    path: str | None
    reason: str
