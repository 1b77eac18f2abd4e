"""Dataset preparation: official splits, annotation lists, frame and flow extraction, video
re-encoding, single-file video I/O, audio features and skeleton converters (the logic behind
``tools/data/*`` and ``actionkit data``)."""
__all__: list[str] = []
