"""Kill one rank, or one data-loader worker, of a 2-rank torchrun job; it must recover.

Each trial starts the launch line that docs/reliability.md recommends::

    torchrun --nnodes=1 --nproc-per-node=2 --max-restarts=3 --rdzv-backend=c10d \\
        --rdzv-endpoint=127.0.0.1:PORT --rdzv-id=ID tools/train.py CONFIG --launcher pytorch \\
        --work-dir DIR --seed 0 --deterministic --resume-from auto

(``--rdzv static`` uses ``--master-addr/--master-port`` instead) on a tiny TSN (ResNet-18
with 4 stem channels, random crops, flips and dropout, so the resumed random states matter),
gloo on the CPU, one loader worker per rank, a checkpoint every epoch. An uninterrupted run of
the same line gives the reference. Then, in each trial, once both ranks of the first attempt
have started, the harness waits a random (seeded) time within the reference's training time
and SIGKILLs:

* ``rank``: rank 0 or rank 1 (chosen at random): torchrun stops the other and restarts both;
* ``worker``: the loader worker of rank 0 or 1: that rank fails with a ``DataError`` naming
  the dead worker, and torchrun restarts both.

A trial passes when the job ends with exit code 0 within ``--bound`` seconds (a hang is
killed there and counted), and the final ``epoch_N.pth`` equals the reference's exactly
(``torch.equal``, every tensor). Resume is exact here because the run resumes from a
checkpoint of the same world size (epoch ends, or mid-epoch ``iter_N.pth``, see
docs/reliability.md); the batch-norm running statistics of rank 1 are not in the checkpoint
(only rank 0's are), which does not change the saved weights.

``--skew S`` makes rank 1 of every restart start ``S`` seconds late (in the module the config
imports), as a loaded machine or a slow node does: before actionkit kept each restart's
keys apart, the restarted rank 0 then read rank 1's address of the previous attempt from the
agent's store and failed (``Gloo connectFullMesh failed ... Connection refused``) until the
restarts ran out. ``--repo`` runs another checkout (e.g. an older commit, to see that).

Run:
    python benchmarks/elastic_trials.py                        # 10 + 10 trials, ~10 min
    python benchmarks/elastic_trials.py --trials 1 --skew 1    # what tests/faults runs
    python benchmarks/elastic_trials.py --kinds worker --kill-within 0.1   # kills at start-up
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
MARKERS_ENV = 'ELASTIC_TRIALS_MARKERS'
SKEW_ENV = 'ELASTIC_TRIALS_SKEW'
_MARKER = re.compile(r'^rank(?P<rank>\d+)-attempt(?P<attempt>\d+)-pid(?P<pid>\d+)$')

# imported by every rank through custom_imports, before the process group is formed
MARKER_MODULE = f'''\
"""Test hook of benchmarks/elastic_trials.py: note this rank's pid; on a restart, let rank 1
start late by {SKEW_ENV} seconds."""
import os
import time

_folder = os.environ.get({MARKERS_ENV!r})
if _folder:
    _attempt = int(os.environ.get('TORCHELASTIC_RESTART_COUNT', '0'))
    _rank = os.environ.get('RANK', '0')
    open(os.path.join(_folder, 'rank%s-attempt%d-pid%d' % (_rank, _attempt, os.getpid())),
         'w').close()
    if _attempt > 0 and _rank == '1':
        time.sleep(float(os.environ.get({SKEW_ENV!r}, '0')))
'''


def _config_template() -> str:
    """kill_resume.py's tiny TSN config, with one loader worker per rank (to kill) and this
    harness's marker module instead of the slow checkpoint writes."""
    name = 'elastic_trials_kill_resume'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name,
                                                      Path(__file__).with_name('kill_resume.py'))
        sys.modules[name] = importlib.util.module_from_spec(spec)  # its dataclasses need it
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name].CONFIG + """\
custom_imports = dict(imports=['elastic_markers'], allow_failed_imports=False)
data.update(videos_per_gpu=2)
"""


@dataclass
class Trial:
    """What one trial did."""

    index: int
    kind: str            # 'rank' or 'worker'
    target: str          # 'rank 1', 'worker of rank 0', or 'none' (the job ended first)
    killed_after_s: float
    exit_code: int | None  # None: still running at the bound (a hang), killed there
    restarts: int        # restarts torchrun used (the highest attempt seen)
    wall_s: float
    weights_equal: bool

    @property
    def recovered(self) -> bool:
        return self.exit_code == 0 and self.weights_equal


class Harness:
    """Runs the job of the module docstring in ``root`` (data, config, work dirs, logs)."""

    def __init__(self, root: Path, repo: Path = REPO, epochs: int = 8, rdzv: str = 'c10d',
                 skew: float = 0.0, max_restarts: int = 3, bound_s: float = 300.0,
                 kill_within: float = 0.9, log: bool = False) -> None:
        if rdzv not in ('c10d', 'static'):
            raise ValueError(f"rdzv must be 'c10d' or 'static', got {rdzv!r}")
        self.root, self.repo, self.epochs, self.rdzv = Path(root), Path(repo), epochs, rdzv
        self.skew, self.max_restarts, self.bound_s, self.log = skew, max_restarts, bound_s, log
        self.kill_within = kill_within  # kills land within this fraction of the reference run
        self.markers = self.root / 'markers'
        self.markers.mkdir(parents=True, exist_ok=True)
        (self.root / 'elastic_markers.py').write_text(MARKER_MODULE)
        data = self._data()
        self.config = self.root / 'elastic_tsn.py'
        train = (f"dict(type='VideoDataset', ann_file={data['train_list_videos']!r}, "
                 f"data_prefix={data['videos_root']!r}, pipeline=train_pipeline)")
        self.config.write_text(_config_template().format(
            train=train, workers=1, extra='', half=max(1, epochs // 2), epochs=epochs))
        self.window_s = 0.0

    def _data(self) -> dict[str, str]:
        from actionkit.datasets.synthetic import make_synthetic_dataset

        return make_synthetic_dataset(self.root / 'data', num_train=16, num_val=2,
                                      num_frames=12, size=32, seed=0, layouts=('videos',),
                                      workers=1)

    def say(self, text: str) -> None:
        if self.log:
            print(text, flush=True)

    def start(self, work_dir: Path, run_id: str) -> subprocess.Popen:
        """Start the torchrun job in a session of its own (so that it can be stopped whole)."""
        from actionkit.engine.dist import find_free_port

        for marker in self.markers.iterdir():
            marker.unlink()
        port = find_free_port()
        rdzv = ['--rdzv-backend=c10d', f'--rdzv-endpoint=127.0.0.1:{port}',
                f'--rdzv-id={run_id}'] if self.rdzv == 'c10d' else \
            ['--master-addr=127.0.0.1', f'--master-port={port}']
        command = [sys.executable, '-m', 'torch.distributed.run', '--nnodes=1',
                   '--nproc-per-node=2', f'--max-restarts={self.max_restarts}', *rdzv,
                   str(self.repo / 'tools' / 'train.py'), str(self.config), '--launcher',
                   'pytorch', '--work-dir', str(work_dir), '--seed', '0', '--deterministic',
                   '--resume-from', 'auto']
        env = dict(os.environ, CUDA_VISIBLE_DEVICES='-1', OMP_NUM_THREADS='1',
                   MKL_NUM_THREADS='1', PYTHONHASHSEED='0', PYTHONUNBUFFERED='1')
        env['PYTHONPATH'] = os.pathsep.join([str(self.root), str(self.repo)] + [
            p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
        env.update({MARKERS_ENV: str(self.markers), SKEW_ENV: str(self.skew)})
        with open(work_dir.with_suffix('.log'), 'w') as output:
            return subprocess.Popen(command, env=env, cwd=self.root, stdout=output,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def ranks(self) -> dict[tuple[int, int], int]:
        """``{(attempt, rank): pid}`` of the ranks started so far."""
        found = {}
        for marker in self.markers.iterdir():
            match = _MARKER.match(marker.name)
            if match:
                found[int(match['attempt']), int(match['rank'])] = int(match['pid'])
        return found

    def wait(self, proc: subprocess.Popen, start: float) -> int | None:
        """The job's exit code, or None if it was still running at the bound (then stopped)."""
        try:
            return proc.wait(timeout=max(1.0, self.bound_s - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            return None
        finally:
            _stop(proc)

    def reference(self) -> Path:
        """The uninterrupted run; sets the window in which kills land."""
        work_dir = self.root / 'reference'
        start = time.monotonic()
        proc = self.start(work_dir, 'reference')
        started = self._wait_started(proc, start)
        code = self.wait(proc, start)
        if code != 0:
            raise RuntimeError(f'the reference run failed (exit {code}): '
                               f'{work_dir.with_suffix(".log").read_text()[-3000:]}')
        self.window_s = time.monotonic() - (started or start)
        self.say(f'reference: {time.monotonic() - start:.1f} s, of which {self.window_s:.1f} s '
                 'after both ranks started')
        return work_dir

    def _wait_started(self, proc: subprocess.Popen, start: float) -> float | None:
        """When both ranks of the first attempt had started (None: the job ended first)."""
        while proc.poll() is None and time.monotonic() - start < self.bound_s:
            if {(0, 0), (0, 1)} <= self.ranks().keys():
                return time.monotonic()
            time.sleep(0.02)
        return None

    def trial(self, index: int, kind: str, rng: random.Random, reference: Path) -> Trial:
        work_dir = self.root / f'trial_{index}_{kind}'
        start = time.monotonic()
        proc = self.start(work_dir, f'trial{index}')
        target, killed_after = 'none', 0.0
        try:
            started = self._wait_started(proc, start)
            rank = rng.choice([0, 1])
            delay = rng.uniform(0.0, self.kill_within * self.window_s)
            if started is not None:
                time.sleep(delay)
                pid = self.ranks().get((0, rank))
                if kind == 'worker':
                    pid = _first_child(pid, within_s=60.0) if pid else None
                if pid is not None and proc.poll() is None:
                    os.kill(pid, signal.SIGKILL)
                    target = f'rank {rank}' if kind == 'rank' else f'worker of rank {rank}'
                    killed_after = time.monotonic() - started
        except ProcessLookupError:
            pass  # it ended between the look and the kill: the job was not interrupted
        code = self.wait(proc, start)
        wall = time.monotonic() - start
        restarts = max((attempt for attempt, _ in self.ranks()), default=0)
        equal = code == 0 and _same_weights(reference, work_dir, self.epochs)
        result = Trial(index, kind, target, round(killed_after, 1), code, restarts,
                       round(wall, 1), equal)
        self.say(f'  trial {index:2d} {kind:6s} killed {target:16s} after {killed_after:5.1f} s:'
                 f' exit {code}, restarts {restarts}, {wall:5.1f} s, weights equal {equal}')
        return result


def _first_child(pid: int, within_s: float) -> int | None:
    """A child process of ``pid`` (its data-loader worker, which exists only while an epoch
    runs), waiting up to ``within_s`` for one; None if ``pid`` ends first."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and Path(f'/proc/{pid}').exists():
        for entry in Path('/proc').iterdir():
            if not entry.name.isdigit():
                continue
            try:  # the fields after the command name: state, ppid, ...
                fields = (entry / 'stat').read_text().rsplit(')', 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                return int(entry.name)
        time.sleep(0.02)
    return None


def _stop(proc: subprocess.Popen) -> None:
    """Stop the job we started, whole: torchrun and its workers share its session id."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _same_weights(reference: Path, work_dir: Path, epochs: int) -> bool:
    name = f'epoch_{epochs}.pth'
    try:
        expected = torch.load(reference / name, map_location='cpu', weights_only=True)
        got = torch.load(work_dir / name, map_location='cpu', weights_only=True)
    except (OSError, RuntimeError):
        return False
    expected, got = expected['state_dict'], got['state_dict']
    return expected.keys() == got.keys() and all(torch.equal(expected[k], got[k])
                                                 for k in expected)


def run_trials(root: Path, trials: int, kinds: list[str], seed: int = 0, **options) -> dict:
    harness = Harness(root, **options)
    begin = time.monotonic()
    reference = harness.reference()
    rng = random.Random(seed)
    results = [harness.trial(i, kind, rng, reference)
               for kind in kinds for i in range(1, trials + 1)]
    return dict(trials=results, reference_s=harness.window_s,
                total_s=time.monotonic() - begin)


def format_table(results: list[Trial]) -> str:
    """One markdown row per kind of kill. A kill "cost a restart" when torchrun restarted the
    job; a loader worker killed after it had delivered its last batch of an epoch costs none."""
    rows = ['| kill | trials | kill landed | cost a restart | recovered (exit 0, same weights) | '
            'hung | restarts used | wall time per job (s) |',
            '|---|---|---|---|---|---|---|---|']
    for kind in sorted({t.kind for t in results}, key=['rank', 'worker'].index):
        group = [t for t in results if t.kind == kind]
        walls = sorted(t.wall_s for t in group)
        restarts = [t.restarts for t in group]
        rows.append(f'| {kind} | {len(group)} | {sum(t.target != "none" for t in group)} | '
                    f'{sum(r > 0 for r in restarts)} | {sum(t.recovered for t in group)} | '
                    f'{sum(t.exit_code is None for t in group)} | '
                    f'{sum(restarts)} in all ({min(restarts)}-{max(restarts)} per job) | '
                    f'{walls[len(walls) // 2]:.0f} median, {walls[-1]:.0f} max |')
    return '\n'.join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--trials', type=int, default=10, help='trials of each kind')
    parser.add_argument('--kinds', default='rank,worker', help='rank, worker or both')
    parser.add_argument('--epochs', type=int, default=8, help='total_epochs of the job')
    parser.add_argument('--rdzv', choices=['c10d', 'static'], default='c10d')
    parser.add_argument('--skew', type=float, default=0.0,
                        help='seconds rank 1 starts late on every restart')
    parser.add_argument('--max-restarts', type=int, default=3)
    parser.add_argument('--bound', type=float, default=300.0,
                        help='seconds a job may take before it counts as hung and is stopped')
    parser.add_argument('--seed', type=int, default=0, help='seed of the kill times and ranks')
    parser.add_argument('--kill-within', type=float, default=0.9,
                        help='kills land within this fraction of the reference run\'s training '
                             'time (e.g. 0.1: at start-up, as the workers come up)')
    parser.add_argument('--repo', type=Path, default=REPO, help='the checkout to run')
    parser.add_argument('--keep', help='run in this folder and keep it (default: a temp dir)')
    args = parser.parse_args(argv)
    kinds = args.kinds.split(',')
    options = dict(repo=args.repo, epochs=args.epochs, rdzv=args.rdzv, skew=args.skew,
                   max_restarts=args.max_restarts, bound_s=args.bound, log=True,
                   kill_within=args.kill_within)
    with tempfile.TemporaryDirectory(prefix='elastic_trials_') as tmp:
        root = Path(args.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        result = run_trials(root, args.trials, kinds, args.seed, **options)
    print(format_table(result['trials']))
    print(f'\nreference run: {result["reference_s"]:.0f} s of training; whole experiment '
          f'{result["total_s"]:.0f} s; /proc/loadavg at the end: '
          f'{Path("/proc/loadavg").read_text().strip()}')
    return 0 if all(t.recovered for t in result['trials']) else 1


if __name__ == '__main__':
    sys.exit(main())
