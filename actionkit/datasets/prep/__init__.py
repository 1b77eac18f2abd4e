"""Dataset preparation: official splits, annotation lists, frame and flow extraction, video
re-encoding and single-file video I/O (the logic behind ``tools/data/*`` and ``actionkit data``)."""
__all__: list[str] = []
