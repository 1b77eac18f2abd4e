"""Kill a training run with SIGKILL again and again; it must resume to the very same weights.

The trial: ``tools/train.py`` trains a tiny TSN (ResNet-18 with 4 stem channels, random crops,
flips and dropout, so the resumed random states matter) on a synthetic video set on the CPU,
with ``--deterministic --seed 0``, no loader workers and a checkpoint every epoch. First an
uninterrupted run gives the reference. Then a second run is killed ``--kills`` times, each
time started again with ``--resume-from auto`` (the work dir's ``latest.pth``), and finally
left to finish. After every kill each ``.pth`` file on disk must load with
``torch.load(weights_only=True)`` and hold the epoch its name says; at the end the final
weights must equal the reference's exactly (``torch.equal``, every tensor of the state dict).

Two kinds of kill alternate:

* ``random``: SIGKILL a random time (seeded) after the config was loaded, up to two epochs
  later: during model building, data loading, a step, or a checkpoint write;
* ``during write``: SIGKILL while a checkpoint is half written. To make that window certain
  rather than lucky, the run imports a small module (through the config's ``custom_imports``)
  that makes ``torch.save`` write the first half of the file, create a marker file, sleep
  ``--write-pause`` seconds, then write the rest. The harness kills as soon as the marker
  appears, and checks that the unfinished temporary file is on disk (the kill did land
  mid-write) and that ``latest.pth`` still holds the previous, complete checkpoint.

Temporary files of killed writers are removed when the next run starts; none may remain at
the end.

Run:
    python benchmarks/kill_resume.py                 # 20 kills, ~3 min on a busy 2-core VM
    python benchmarks/kill_resume.py --kills 4 --epochs 5   # what tests/faults runs
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
MARKERS_ENV = 'KILL_RESUME_MARKERS'
PAUSE_ENV = 'KILL_RESUME_WRITE_PAUSE'
_TEMP_FILE = re.compile(r'^\..+\.tmp-(?P<pid>\d+)-[0-9a-f]+$')  # engine/checkpoint.py's names

# imported by the training process through custom_imports (the trial folder is on its path)
SLOW_SAVE_MODULE = f'''\
"""Test hook of benchmarks/kill_resume.py: torch.save writes half the file, leaves a marker,
waits, then writes the rest, so that a kill can be aimed at an unfinished checkpoint."""
import io
import os
import time

import torch

_save = torch.save


def _half_then_rest(obj, f, *args, **kwargs):
    folder = os.environ.get({MARKERS_ENV!r})
    if folder is None or not hasattr(f, 'write'):
        return _save(obj, f, *args, **kwargs)
    buffer = io.BytesIO()
    _save(obj, buffer, *args, **kwargs)
    data = buffer.getvalue()
    f.write(data[:len(data) // 2])
    f.flush()
    open(os.path.join(folder, 'writing-%d-%d' % (os.getpid(), time.monotonic_ns())), 'w').close()
    time.sleep(float(os.environ.get({PAUSE_ENV!r}, '0.5')))
    f.write(data[len(data) // 2:])


torch.save = _half_then_rest
open(os.path.join(os.environ.get({MARKERS_ENV!r}, '.'), 'config-loaded'), 'w').close()
'''

CONFIG = '''\
custom_imports = dict(imports=['slow_checkpoint_writes'], allow_failed_imports=False)
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, base_channels=4, pretrained=None, norm_eval=False),
    cls_head=dict(type='TSNHead', num_classes=10, in_channels=32, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.5,
                  init_std=0.01),
    train_cfg=None, test_cfg=dict(average_clips='prob'))
img_norm_cfg = dict(mean=[127.5] * 3, std=[64.0] * 3, to_bgr=False)
train_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=2),
    dict(type='PyAVDecode'),
    dict(type='RandomResizedCrop', area_range=(0.5, 1.0)),
    dict(type='Resize', scale=(16, 16), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
data = dict(videos_per_gpu=4, workers_per_gpu={workers},
            train={train})
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)
optimizer_config = dict(grad_clip=dict(max_norm=10, norm_type=2))
lr_config = dict(policy='step', step=[{half}])
total_epochs = {epochs}
checkpoint_config = dict(interval=1)
log_config = dict(interval=5, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
log_level = 'INFO'
workflow = [('train', 1)]
{extra}'''

# --sharded: the same videos as tar shards, streamed by ShardedVideoDataset with two loader
# workers, and a checkpoint every 2 iterations as well, so kills resume mid-epoch
SHARDED_TRAIN = ("dict(type='ShardedVideoDataset', ann_file={index!r}, "
                 "pipeline=train_pipeline, shuffle_buffer=4)")
SHARDED_EXTRA = "custom_hooks = [dict(type='CheckpointHook', interval=2, by_epoch=False)]\n"


@dataclass
class Trial:
    """What one kill did and left."""

    index: int
    kind: str                 # 'random' or 'during write'
    killed_after_s: float     # since the process started
    outcome: str              # 'killed', or 'finished first'
    partial_file: bool        # the killed process left an unfinished temporary checkpoint
    checkpoints: int          # .pth files on disk (latest.pth included)
    latest_epoch: int         # the epoch latest.pth holds (0: none yet)
    all_load: bool            # every .pth file loaded with weights_only=True
    problems: list[str] = field(default_factory=list)


@dataclass
class Result:
    trials: list[Trial]
    weights_equal: bool
    mismatched: list[str]
    reference_s: float
    total_s: float
    temp_files_left: list[str]


class Harness:
    """Runs ``tools/train.py`` on the tiny config in ``root`` (see the module docstring).

    Args:
        root: a folder for the data, the configs and the work dirs.
        epochs: ``total_epochs`` of the run.
        write_pause: seconds a checkpoint write pauses halfway.
        log: where to print progress (None: quiet).
    """

    def __init__(self, root: Path, epochs: int = 5, write_pause: float = 0.5,
                 log: bool = False, sharded: bool = False) -> None:
        self.root, self.epochs, self.write_pause, self.log = Path(root), epochs, write_pause, log
        self.markers = self.root / 'markers'
        self.markers.mkdir(parents=True, exist_ok=True)
        (self.root / 'slow_checkpoint_writes.py').write_text(SLOW_SAVE_MODULE)
        data = self._data()
        self.config = self.root / 'kill_resume_tsn.py'
        train = (f"dict(type='VideoDataset', ann_file={data['train_list_videos']!r}, "
                 f"data_prefix={data['videos_root']!r}, pipeline=train_pipeline)")
        workers, extra = 0, ''
        if sharded:
            train, workers, extra = SHARDED_TRAIN.format(index=self._shards(data)), 2, \
                SHARDED_EXTRA
        self.config.write_text(CONFIG.format(train=train, workers=workers, extra=extra,
                                             half=max(1, epochs // 2), epochs=epochs))

    def _shards(self, data: dict[str, str]) -> str:
        from actionkit.datasets.prep.shards import write_shards

        index = self.root / 'shards' / 'index.json'
        if not index.is_file():
            write_shards(data['train_list_videos'], data['videos_root'], index.parent,
                         shard_size=5)
        return str(index)

    def _data(self) -> dict[str, str]:
        from actionkit.datasets.synthetic import make_synthetic_dataset

        return make_synthetic_dataset(self.root / 'data', num_train=24, num_val=2,
                                      num_frames=12, size=32, seed=0, layouts=('videos',),
                                      workers=1)

    def _say(self, text: str) -> None:
        if self.log:
            print(text, flush=True)

    def start(self, work_dir: Path) -> subprocess.Popen:
        """Start (or resume) the run in ``work_dir``; its output goes to ``self.output``."""
        for marker in self.markers.iterdir():
            marker.unlink()
        env = dict(os.environ, CUDA_VISIBLE_DEVICES='-1', OMP_NUM_THREADS='1',
                   MKL_NUM_THREADS='1', PYTHONHASHSEED='0')
        env['PYTHONPATH'] = os.pathsep.join([str(self.root), str(REPO)] + [
            p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
        env.update({MARKERS_ENV: str(self.markers), PAUSE_ENV: str(self.write_pause)})
        command = [sys.executable, str(REPO / 'tools' / 'train.py'), str(self.config),
                   '--work-dir', str(work_dir), '--seed', '0', '--deterministic',
                   '--resume-from', 'auto']
        with open(self.output, 'w') as output:
            return subprocess.Popen(command, env=env, cwd=self.root, stdout=output,
                                    stderr=subprocess.STDOUT)

    @property
    def output(self) -> Path:
        return self.root / 'last_run.log'

    def run_to_end(self, work_dir: Path, timeout: float = 900) -> dict[str, float]:
        """Run (or resume) until the last epoch. Returns the times (s since the start) at
        which the config was loaded, the first checkpoint write began, and the run ended."""
        start = time.monotonic()
        times: dict[str, float] = {}
        proc = self.start(work_dir)
        try:
            while proc.poll() is None:
                if time.monotonic() - start > timeout:
                    raise TimeoutError(f'training did not finish within {timeout} s')
                names = [m.name for m in self.markers.iterdir()]
                if 'config-loaded' in names:
                    times.setdefault('config', time.monotonic() - start)
                if any(name.startswith('writing-') for name in names):
                    times.setdefault('first_write', time.monotonic() - start)
                time.sleep(0.02)
        finally:
            _stop(proc)
        if proc.returncode != 0:
            raise RuntimeError(f'training failed (exit {proc.returncode}):\n'
                               f'{self.output.read_text()[-4000:]}')
        times['end'] = time.monotonic() - start
        return times

    def _wait_for(self, name_prefix: str, proc: subprocess.Popen, deadline: float) -> bool:
        while time.monotonic() < deadline and proc.poll() is None:
            if any(m.name.startswith(name_prefix) for m in self.markers.iterdir()):
                return True
            time.sleep(0.01)
        return False

    def _wait_for_writes(self, count: int, proc: subprocess.Popen, deadline: float) -> bool:
        """Wait until the ``count``-th checkpoint write of this run is half done."""
        while time.monotonic() < deadline and proc.poll() is None:
            if sum(m.name.startswith('writing-') for m in self.markers.iterdir()) >= count:
                return True
            time.sleep(0.01)
        return False

    def kill_once(self, work_dir: Path, index: int, kind: str, rng: random.Random,
                  window_s: float) -> Trial:
        """Start the run, SIGKILL it (``kind``: 'random' or 'during write'), inspect the disk."""
        proc = self.start(work_dir)
        start = time.monotonic()
        try:
            if not self._wait_for('config-loaded', proc, start + 300):
                return self._finished(work_dir, index, kind, proc, start)
            if kind == 'during write':  # the first or the second checkpoint of this run
                if not self._wait_for_writes(rng.choice([1, 2]), proc, time.monotonic() + 300):
                    return self._finished(work_dir, index, kind, proc, start)
            else:
                time.sleep(rng.uniform(0.0, window_s))
            if proc.poll() is not None:
                return self._finished(work_dir, index, kind, proc, start)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed_after = time.monotonic() - start
        finally:
            _stop(proc)
        trial = self.inspect(work_dir, index, kind, killed_after, 'killed', proc.pid)
        if kind == 'during write' and not trial.partial_file:
            trial.problems.append('the kill did not leave an unfinished checkpoint file')
        return trial

    def _finished(self, work_dir: Path, index: int, kind: str, proc: subprocess.Popen,
                  start: float) -> Trial:
        proc.wait()
        return self.inspect(work_dir, index, kind, time.monotonic() - start, 'finished first',
                            proc.pid)

    def inspect(self, work_dir: Path, index: int, kind: str, after: float, outcome: str,
                pid: int = -1) -> Trial:
        """Load every checkpoint on disk (weights only) and check what it says it is;
        ``pid``: the process whose unfinished temporary files to look for."""
        problems: list[str] = []
        names = sorted(os.listdir(work_dir)) if work_dir.is_dir() else []
        partial = any((m := _TEMP_FILE.match(name)) and int(m['pid']) == pid for name in names)
        epochs_found, latest_epoch = set(), 0
        for name in names:
            if not name.endswith('.pth'):
                continue
            try:
                checkpoint = torch.load(work_dir / name, map_location='cpu', weights_only=True)
                epoch = int(checkpoint['meta']['epoch'])
                assert checkpoint['state_dict'], 'empty state dict'
            except Exception as err:  # noqa: BLE001 - any failure is what we report
                problems.append(f'{name} does not load: {type(err).__name__}: {err}')
                continue
            match = re.fullmatch(r'epoch_(\d+)\.pth', name)
            if re.fullmatch(r'iter_\d+\.pth', name):  # mid-epoch (--sharded)
                epochs_found.add(epoch)
            elif match:
                epochs_found.add(epoch)
                if int(match[1]) != epoch:
                    problems.append(f'{name} holds epoch {epoch}')
            elif name == 'latest.pth':
                latest_epoch = epoch
        if latest_epoch and latest_epoch not in epochs_found:
            problems.append(f'latest.pth holds epoch {latest_epoch}, no epoch file does')
        self._say(f'  trial {index:2d} {kind:12s} {outcome:14s} after {after:5.1f} s: '
                  f'latest epoch {latest_epoch}, partial file {partial}, {problems or "ok"}')
        return Trial(index, kind, round(after, 2), outcome, partial,
                     sum(n.endswith('.pth') for n in names), latest_epoch, not problems,
                     problems)


def _stop(proc: subprocess.Popen) -> None:
    """Make sure a child we started is gone (it is ours: kill it by its pid)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def final_weights(work_dir: Path, epochs: int) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(work_dir / f'epoch_{epochs}.pth', map_location='cpu',
                            weights_only=True)
    return checkpoint['state_dict']


def run_trials(root: Path, kills: int, seed: int = 0, epochs: int = 5,
               write_pause: float = 0.5, log: bool = False, sharded: bool = False) -> Result:
    """The whole experiment: reference run, ``kills`` killed runs, final run, comparison."""
    total_start = time.monotonic()
    harness = Harness(root, epochs=epochs, write_pause=write_pause, log=log, sharded=sharded)
    reference_dir, killed_dir = Path(root) / 'reference', Path(root) / 'killed'
    harness._say(f'reference run: {epochs} epochs')
    times = harness.run_to_end(reference_dir)
    # random kills land from the moment the config is loaded until two epochs into training
    epoch_s = (times['end'] - times['first_write']) / max(1, epochs - 1)
    window_s = times['first_write'] - times['config'] + epoch_s
    rng = random.Random(seed)
    trials = []
    for index in range(1, kills + 1):
        kind = 'during write' if index % 2 == 0 else 'random'
        trials.append(harness.kill_once(killed_dir, index, kind, rng, window_s))
    harness._say('final run, to the end')
    harness.run_to_end(killed_dir)
    final = harness.inspect(killed_dir, kills + 1, 'final run', 0.0, 'finished')
    if not final.all_load:
        trials.append(final)
    expected, got = final_weights(reference_dir, epochs), final_weights(killed_dir, epochs)
    mismatched = sorted(key for key in expected.keys() | got.keys()
                        if key not in expected or key not in got
                        or not torch.equal(expected[key], got[key]))
    left = [name for name in os.listdir(killed_dir) if _TEMP_FILE.match(name)]
    return Result(trials, not mismatched, mismatched, times['end'],
                  time.monotonic() - total_start, left)


def format_table(result: Result) -> str:
    rows = [('trial', 'kill', 'after s', 'outcome', 'partial file', '.pth files',
             'latest epoch', 'all load')]
    for t in result.trials:
        rows.append((str(t.index), t.kind, f'{t.killed_after_s:.1f}', t.outcome,
                     'yes' if t.partial_file else 'no', str(t.checkpoints),
                     str(t.latest_epoch), 'yes' if t.all_load else 'NO'))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    killed = [t for t in result.trials if t.outcome == 'killed']
    aimed = sum(t.kind == 'during write' for t in killed)
    mid_write = sum(t.partial_file for t in killed)
    lines += ['',
              f'kills: {len(killed)}, of which {mid_write} landed mid-checkpoint-write '
              f'({aimed} aimed there), as the unfinished files they left show',
              f'every checkpoint on disk loaded after every kill: '
              f'{"yes" if all(t.all_load for t in result.trials) else "NO"}',
              f'final weights equal to the uninterrupted run (torch.equal): '
              f'{"yes" if result.weights_equal else "NO: " + ", ".join(result.mismatched[:5])}',
              f'unfinished temporary files left at the end: {len(result.temp_files_left)}',
              f'reference run {result.reference_s:.0f} s, whole experiment '
              f'{result.total_s:.0f} s']
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--kills', type=int, default=20, help='how many times to SIGKILL')
    parser.add_argument('--epochs', type=int, default=12, help='total_epochs of the run')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random kill times')
    parser.add_argument('--write-pause', type=float, default=0.5,
                        help='seconds a checkpoint write pauses halfway')
    parser.add_argument('--keep', help='run in this folder and keep it (default: a temp dir)')
    parser.add_argument('--sharded', action='store_true',
                        help='train from tar shards (ShardedVideoDataset, 2 loader workers) '
                        'with a checkpoint every 2 iterations too: kills resume mid-epoch')
    args = parser.parse_args(argv)
    if args.keep:
        root = Path(args.keep)
        root.mkdir(parents=True, exist_ok=True)
        result = run_trials(root, args.kills, args.seed, args.epochs, args.write_pause, True,
                            args.sharded)
    else:
        with tempfile.TemporaryDirectory(prefix='kill_resume_') as tmp:
            result = run_trials(Path(tmp), args.kills, args.seed, args.epochs,
                                args.write_pause, True, args.sharded)
    print(format_table(result))
    ok = result.weights_equal and all(t.all_load and not t.problems for t in result.trials) \
        and not result.temp_files_left
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
