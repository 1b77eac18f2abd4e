"""Training outputs on object storage: a local staging folder mirrored to a URL prefix.

``tools/train.py CONFIG --work-dir s3://bucket/run`` (or ``work_dir = 's3://...'`` in a config)
trains in a local staging folder, ``$ACTIONKIT_CACHE/work_dirs/<hash>/<name>``
(``ACTIONKIT_CACHE`` defaults to ``~/.cache/actionkit``; ``<hash>``: the first 16 hex digits of
the SHA-256 of the URL without credentials; ``<name>``: the URL's last part, so the run's name
is the same as for a local work dir). The engine sees a local folder only; this module owns
the rest:

* :class:`OutputMirror` uploads what the staging folder holds: every file once it is complete
  (the engine writes checkpoints, results and the dumped config through a temporary file and a
  rename, so a file seen by its final name is whole), each as one whole object, never a part
  of one under the final name; a checkpoint removed locally (``max_keep_ckpts``, a replaced
  best checkpoint) is removed from the prefix if this mirror uploaded it.
* :class:`MirrorHook` calls it: checkpoints right after they are saved (after the checkpoint
  hook, before evaluation), logs at each epoch end and at the end of training.
* :func:`restore_latest` makes ``resume_from='auto'`` work on a fresh machine: it lists the
  prefix and downloads the checkpoint that
  :func:`~actionkit.engine.checkpoint.checkpoint_candidates` ranks first (and the newest
  ``best_*.pth``), unless the staging folder already holds a complete checkpoint.
* :func:`remote_lock` holds ``PREFIX/.actionkit-train.lock`` through a conditional write
  (S3's ``PutObject`` with ``If-None-Match: *``, GCS's ``ifGenerationMatch=0``), so a
  second run on the same prefix, from any machine, refuses to start (the staging folder
  keeps its own local lock too). It is a lease (``ACTIONKIT_LOCK_TTL``): a run killed on one
  machine leaves a lock that another machine takes over once it is older than that.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..utils.atomic import TEMP_NAME_RE
from ..utils.fileio import display_path, join_path, read_bytes
from ..utils.remote_write import (check_writable_url, copy_object, download_file,
                                  list_sizes, object_age, probe_writable, put_bytes,
                                  remove_object, upload_file)
from .checkpoint import (checkpoint_candidates, checkpoints_to_prune, find_latest_checkpoint,
                         is_complete_checkpoint, newest_best_checkpoint)
from .hooks import PRIORITIES, HookBase
from .run_lock import LOCK_NAME, LockStore, hold_lock
from .v1_layout import LAST_CHECKPOINT_NAME

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ['staging_dir', 'OutputMirror', 'MirrorHook', 'mirror_hooks', 'upload_checkpoint',
           'restore_latest', 'mirrored_work_dir', 'remote_lock']

logger = logging.getLogger(__name__)

# staging entries that are never uploaded: the local lock, the evaluation's scratch folders
_SKIP = {LOCK_NAME, '.eval_hook', 'tmp'}
DEFAULT_LOCK_TTL = 600.0  # seconds a remote lock lives without a refresh


def staging_dir(url: str) -> str:
    """The local folder a run whose work dir is ``url`` trains in (see the module doc)."""
    safe = display_path(url).rstrip('/')
    digest = hashlib.sha256(safe.encode('utf-8')).hexdigest()[:16]
    root = os.environ.get('ACTIONKIT_CACHE') or os.path.join(os.path.expanduser('~'), '.cache',
                                                             'actionkit')
    name = safe.rsplit('/', 1)[-1] or 'work_dir'
    return os.path.join(root, 'work_dirs', digest, name)


class OutputMirror:
    """Keep the URL prefix ``url`` a copy of the files of ``local_dir``.

    Args:
        local_dir (str): the staging folder.
        url (str): the ``s3://`` / ``gs://`` prefix.
        remote_sizes (dict | None): ``{name: size}`` of the prefix's objects (a listing); a
            local file of the same name and size counts as uploaded. Default: None.
    """

    def __init__(self, local_dir: str, url: str,
                 remote_sizes: dict[str, int] | None = None) -> None:
        self.local_dir, self.url = local_dir, url.rstrip('/')
        self.server_copies = 0
        self._sent: dict[str, tuple[int, int, int]] = {}
        for name, state in self._scan(checkpoints_only=False).items():
            if (remote_sizes or {}).get(name) == state[0]:
                self._sent[name] = state

    def _scan(self, checkpoints_only: bool) -> dict[str, tuple[int, int, int]]:
        """``{relative name: (size, mtime_ns, inode)}`` of the files to mirror."""
        found: dict[str, tuple[int, int, int]] = {}
        for folder, dirs, names in os.walk(self.local_dir):
            if folder == self.local_dir:
                dirs[:] = [d for d in dirs if d not in _SKIP]
            for name in names:
                if TEMP_NAME_RE.match(name) or name in _SKIP or name.startswith('.') or \
                        (checkpoints_only and not name.endswith('.pth')):
                    continue
                path = os.path.join(folder, name)
                try:
                    st = os.stat(path)
                except FileNotFoundError:  # removed meanwhile (pruned)
                    continue
                rel = os.path.relpath(path, self.local_dir).replace(os.sep, '/')
                found[rel] = (st.st_size, st.st_mtime_ns, st.st_ino)
        return found

    def sync(self, checkpoints_only: bool = False, strict: bool = True) -> list[str]:
        """Upload the new and changed files (numbered checkpoints first, then ``latest.pth``,
        then the rest) and remove the checkpoints this mirror uploaded that are gone locally.
        A file that is a hard link of one already uploaded (``latest.pth``) is copied on the
        server instead of uploaded again.

        Args:
            checkpoints_only: only ``*.pth`` files.
            strict: raise when the store fails; otherwise log a warning and leave what failed
                for the next call (during training: the staging folder keeps everything and an
                outage of the store does not stop the run).

        Returns:
            The names uploaded (or copied).
        """
        current = self._scan(checkpoints_only)
        changed = [name for name, state in current.items() if self._sent.get(name) != state]
        changed.sort(key=lambda n: (not n.endswith('.pth'), n == 'latest.pth', n))
        done: list[str] = []
        try:
            for name in changed:
                self._send(name, current[name])
                done.append(name)
            gone = [n for n in self._sent if n.endswith('.pth') and n not in current
                    and not os.path.exists(os.path.join(self.local_dir, n))]
            for name in gone:
                remove_object(f'{self.url}/{name}')
                del self._sent[name]
                logger.info('removed %s/%s (removed from the staging folder)',
                            display_path(self.url), name)
        except OSError as err:
            if strict:
                raise
            logger.warning('could not mirror the work dir to %s (%s); the staging folder %s '
                           'keeps everything, tried again at the next checkpoint or epoch end',
                           display_path(self.url), err, self.local_dir)
        return done

    def _send(self, name: str, state: tuple[int, int, int]) -> None:
        twin = next((n for n, sent in self._sent.items() if sent == state and n != name), None)
        if twin is not None:  # the same file (a hard link): a server-side copy
            copy_object(f'{self.url}/{twin}', f'{self.url}/{name}')
            self.server_copies += 1
        elif name == LAST_CHECKPOINT_NAME:  # 1.x's pointer: the checkpoint's URL, not staging
            with open(os.path.join(self.local_dir, name), encoding='utf-8') as fin:
                target = os.path.relpath(fin.read().strip(), self.local_dir)
            put_bytes(f'{self.url}/{name}',
                      f'{self.url}/{target.replace(os.sep, "/")}'.encode('utf-8'))
        else:
            upload_file(os.path.join(self.local_dir, name), f'{self.url}/{name}')
        self._sent[name] = state
        logger.debug('uploaded %s/%s', display_path(self.url), name)


class MirrorHook(HookBase):
    """Run an :class:`OutputMirror` during training (rank 0). Two are added: one right after
    the checkpoint hook (``BELOW_NORMAL``: checkpoints), one last (``LOWEST``: a new best
    checkpoint and the logs at each epoch end)."""

    def __init__(self, mirror: OutputMirror, priority: int | str = 'LOWEST') -> None:
        self.mirror = mirror
        self.priority = PRIORITIES[priority] if isinstance(priority, str) else priority

    def before_train(self, trainer: Trainer) -> None:
        if trainer.rank == 0:
            self.mirror.sync(strict=False)

    def after_step(self, trainer: Trainer) -> None:
        if trainer.rank == 0:
            self.mirror.sync(checkpoints_only=True, strict=False)

    def after_epoch(self, trainer: Trainer) -> None:
        if trainer.rank == 0:
            self.mirror.sync(checkpoints_only=self.priority < PRIORITIES['LOWEST'],
                             strict=False)


def mirror_hooks(mirror: OutputMirror) -> list[HookBase]:
    """The two :class:`MirrorHook` of a run."""
    return [MirrorHook(mirror, 'BELOW_NORMAL'), MirrorHook(mirror, 'LOWEST')]


def upload_checkpoint(folder: str, name: str, url: str, max_keep_ckpts: int,
                      prefix: str) -> None:
    """``checkpoint_config.out_dir`` as a URL: upload ``folder/name`` and then ``latest.pth``
    to the prefix ``url``, then remove the ``{prefix}N.pth`` objects there that
    ``max_keep_ckpts`` leaves out (:func:`~actionkit.engine.checkpoint.checkpoints_to_prune`
    on the prefix's listing: other names are never removed)."""
    for each in (name, 'latest.pth'):
        path = os.path.join(folder, each)
        if os.path.isfile(path):
            upload_file(path, join_path(url, each))
    logger.info('uploaded %s to %s', name, display_path(url))
    if max_keep_ckpts > 0:
        names = [n for n in list_sizes(url) if '/' not in n]
        for old in checkpoints_to_prune(names, max_keep_ckpts, prefix):
            remove_object(join_path(url, old))
            logger.info('removed %s/%s (max_keep_ckpts=%d)', display_path(url), old,
                        max_keep_ckpts)


def restore_latest(url: str, local_dir: str) -> str | None:
    """For ``resume_from='auto'`` with a remote work dir: download the newest complete
    checkpoint of the prefix ``url`` (and its newest ``best_*.pth``) into ``local_dir``,
    unless ``local_dir`` already holds a complete checkpoint. Returns the local path of what
    ``find_latest_checkpoint(local_dir)`` will pick, or None."""
    local = find_latest_checkpoint(local_dir)
    if local is not None:
        logger.info('resume_from=auto: the staging folder %s already holds %s', local_dir,
                    os.path.basename(local))
        return local
    names = [n for n in list_sizes(url) if '/' not in n]
    os.makedirs(local_dir, exist_ok=True)
    for name in checkpoint_candidates(names):
        path = os.path.join(local_dir, name)
        download_file(f'{url.rstrip("/")}/{name}', path)
        if is_complete_checkpoint(path):
            logger.info('resume_from=auto: downloaded %s/%s', display_path(url), name)
            best = newest_best_checkpoint(names)
            if best is not None:
                download_file(f'{url.rstrip("/")}/{best}', os.path.join(local_dir, best))
            return path
        logger.warning('resume_from=auto: %s/%s is not a complete checkpoint; trying an '
                       'older one', display_path(url), name)
        os.remove(path)
    return None


@contextlib.contextmanager
def mirrored_work_dir(url: str, resume_auto: bool) -> Iterator[list[HookBase]]:
    """``--work-dir URL`` on rank 0, around training in :func:`staging_dir`: check that the
    prefix is writable (a small object written and deleted: one clear error naming the URL
    before anything is built), hold :func:`remote_lock`, download the checkpoint to resume
    from (``resume_auto``), and yield the :func:`mirror_hooks`; a last upload at the end, also
    when training failed (its logs and checkpoints are kept)."""
    check_writable_url(url, '--work-dir')
    probe_writable(url, '--work-dir')
    staging = staging_dir(url)
    with remote_lock(url):
        if resume_auto:
            restore_latest(url, staging)
        mirror = OutputMirror(staging, url, list_sizes(url))
        logger.info('work dir %s: training in %s, mirrored there', display_path(url), staging)
        failed = False
        try:
            yield mirror_hooks(mirror)
        except BaseException:
            failed = True
            raise
        finally:
            try:
                mirror.sync()
            except OSError as err:
                if not failed:
                    raise
                logger.error('could not upload the last outputs to %s: %s', display_path(url),
                             err)


class _ObjectLock(LockStore):
    """A lock object created by a conditional write: exactly one of several writers wins,
    wherever they run."""

    def __init__(self, url: str, ttl: float) -> None:
        super().__init__(display_path(url))
        self.url, self.ttl = url, ttl

    def age(self) -> float | None:
        try:
            return object_age(self.url)
        except OSError:  # gone meanwhile, or no time given: not stale by age
            return None

    def refresh(self, text: str) -> None:
        if self.read() == text:
            put_bytes(self.url, text.encode('utf-8'))
        else:
            logger.error('the lock %s is no longer this run\'s (its lease ran out?): another '
                         'run may write into this work dir', self.path)

    def create(self, text: str) -> bool:
        return put_bytes(self.url, text.encode('utf-8'), exclusive=True)

    def read(self) -> str | None:
        try:
            return read_bytes(self.url, 4096, 'lock file').decode('utf-8', 'replace')
        except OSError:
            return None

    def remove(self) -> None:
        remove_object(self.url)


@contextlib.contextmanager
def remote_lock(url: str) -> Iterator[None]:
    """Hold ``url/.actionkit-train.lock`` for a block, with the rules of
    :func:`~actionkit.engine.run_lock.work_dir_lock` (a lock of this host whose pid is gone,
    or of an earlier restart of the same torchrun run, is taken over; any other refuses the
    start). The lock object is created by a conditional write (S3: ``If-None-Match: *``;
    GCS: ``ifGenerationMatch=0``), which one of several writers wins. It is a lease: a
    thread rewrites it every ``ttl / 4`` s (``ACTIONKIT_LOCK_TTL``, 600 s by default), and a
    lock not rewritten for ``ttl`` seconds is taken over from any host, so a run killed on one
    machine is resumed on another without removing its lock by hand."""
    text = os.environ.get('ACTIONKIT_LOCK_TTL', '').strip() or str(DEFAULT_LOCK_TTL)
    try:
        ttl = float(text)
    except ValueError:
        raise ValueError(f'ACTIONKIT_LOCK_TTL={text!r} is not a number of seconds') from None
    if not ttl > 0:
        raise ValueError(f'ACTIONKIT_LOCK_TTL must be > 0 seconds, got {text!r}')
    with hold_lock(_ObjectLock(join_path(url, LOCK_NAME), ttl), display_path(url)):
        yield
