"""MMAction2's ``io_backend`` / ``file_client_args`` mapped onto :mod:`actionkit.utils.fileio`.

MMAction2 reads through mmcv's FileClient, whose backend a pipeline step names
(``io_backend='disk'``) or a ``file_client_args=dict(backend=..., ...)`` dict gives. Here a
path or URL says where each file is, so ``'disk'`` and ``'http'`` mean the same thing and the
cluster-internal backends are refused with the way to read the same data.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ['IO_BACKENDS', 'resolve_io_backend']

IO_BACKENDS = ('disk', 'http')  # MMAction2's FileClient backends we read
_REFUSED_BACKENDS = {
    'petrel': "SenseTime's petrel-oss client for Ceph, not public",
    'ceph': "mmcv's Ceph client (ceph-s3), deprecated in mmcv itself",
    'memcached': "a memcached cluster through mmcv's pymc client",
    'lmdb': 'frames stored as keys of an LMDB database',
}


def resolve_io_backend(io_backend: str = 'disk', owner: str = '',
                       file_client_args: Mapping[str, Any] | None = None) -> str:
    """Map MMAction2's ``io_backend`` / ``file_client_args`` onto this layer.

    ``'disk'`` and ``'http'`` are both accepted and mean the same here: each path is read from
    where it points (a local path, or an ``s3://`` / ``gs://`` / ``http(s)://`` URL, which
    ``data_prefix`` may be). ``'petrel'``, ``'ceph'``, ``'memcached'`` and ``'lmdb'`` are
    refused with the reason and the alternative.

    Args:
        io_backend: the step's ``io_backend`` argument.
        owner: who asks (the step's name), for messages.
        file_client_args: MMAction2's ``dict(backend=..., **options)``; its ``backend``
            overrides ``io_backend``; options other than ``backend`` are refused.

    Returns:
        The accepted backend name (``'disk'`` or ``'http'``).

    Raises:
        ValueError: a refused or unknown backend, or options this layer does not take.
    """
    who = f'{owner}: ' if owner else ''
    if file_client_args is not None:
        if not isinstance(file_client_args, Mapping):
            raise TypeError(f'{who}file_client_args must be a dict, got '
                            f'{type(file_client_args).__name__}')
        io_backend = file_client_args.get('backend', io_backend)
    if io_backend in _REFUSED_BACKENDS:
        raise ValueError(
            f'{who}io_backend={io_backend!r} ({_REFUSED_BACKENDS[io_backend]}) is not '
            "supported. Keep io_backend='disk' and point data_prefix (or the list's paths) "
            'at the data instead: s3://bucket/prefix for Ceph RGW, MinIO or any S3-compatible '
            'store (AWS_ENDPOINT_URL names the endpoint), gs://, http(s)://, a local or '
            "network folder, or tar shards made by 'actionkit data shard'")
    if io_backend not in IO_BACKENDS:
        raise ValueError(f'{who}io_backend must be one of {IO_BACKENDS} (a path or URL says '
                         f'where each file is), got {io_backend!r}')
    extra = sorted(set(file_client_args or {}) - {'backend'})
    if extra:
        raise ValueError(f'{who}file_client_args {extra} are not supported: paths and URLs '
                         'are read as given (for path_mapping, set data_prefix to the new '
                         'location)')
    return io_backend
