"""DataLoader workers that hang on a sample, die by a signal, or outlive a killed trainer
(issue 15, "Faults, round two")."""
from __future__ import annotations

import faulthandler
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from faults_helpers import subprocess_env, video_pipeline
from faults_media import write_clip
from torch.utils.data import get_worker_info

from actionkit.datasets import build_dataloader, build_dataset
from actionkit.datasets.builder import PIPELINES
from actionkit.errors import DataError


@PIPELINES.register_module(force=True)
class MisbehaveInWorker:
    """In a DataLoader worker, on the file whose name ends with ``name``: hang in Python
    (``'hang'``), hang where no signal handler can run, as in a native decoder
    (``'native-hang'``: SIGALRM blocked), or abort (``'abort'``: SIGABRT, as a failed
    assertion in a native decoder)."""

    def __init__(self, name: str, action: str) -> None:
        self.name, self.action = name, action

    def __call__(self, results: dict[str, Any]) -> dict[str, Any]:
        if get_worker_info() is not None and str(results['filename']).endswith(self.name):
            if self.action == 'abort':
                faulthandler.disable()  # pytest's would print the worker's stack on SIGABRT
                os.abort()
            if self.action == 'native-hang':
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(3600)  # a decoder that never returns
        return results


def _loader(root: Path, action: str, test_mode: bool = True, **kwargs: Any) -> Any:
    names = ['clip_0.mp4', 'clip_1.mp4', 'stuck.mp4', 'clip_3.mp4']
    for name in names:
        write_clip(root / name, num_frames=8)
    (root / 'list.txt').write_text(''.join(f'{name} 1\n' for name in names))
    dataset = build_dataset(dict(
        type='VideoDataset', ann_file=str(root / 'list.txt'), data_prefix=str(root),
        test_mode=test_mode, pipeline=[dict(type='MisbehaveInWorker', name='stuck.mp4',
                                            action=action)] + video_pipeline(test_mode)))
    return build_dataloader(dataset, videos_per_gpu=1, workers_per_gpu=2, shuffle=False,
                            **kwargs)


def test_a_sample_stuck_in_a_worker_stops_testing_naming_it(tmp_path: Path) -> None:
    loader = _loader(tmp_path, 'hang', batch_timeout=3)
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        for _ in loader:
            pass
    assert time.monotonic() - start < 60
    assert (f'loading sample 2 ({tmp_path / "stuck.mp4"}) took more than 3 s '
            '(data.batch_timeout): a decoder that does not return?') in str(info.value)


def test_a_sample_stuck_in_a_worker_is_skipped_in_training(tmp_path: Path) -> None:
    loader = _loader(tmp_path, 'hang', test_mode=False, batch_timeout=2, seed=0)
    batches = list(loader)  # one sample a batch, in order
    assert [sorted(batch) for batch in batches] == [['imgs', 'label']] * 2 + [
        ['bad_samples']] + [['imgs', 'label']]
    (bad,) = batches[2]['bad_samples']
    assert (bad.index, bad.path) == (2, str(tmp_path / 'stuck.mp4'))
    assert bad.reason.endswith('took more than 2 s (data.batch_timeout): a decoder that does '
                               'not return?')


def test_a_worker_stuck_in_native_code_is_named_after_the_batch_limit(tmp_path: Path) -> None:
    # the per-sample alarm cannot interrupt it: the main process's limit, (1 + 1) x 2 s, does
    loader = _loader(tmp_path, 'native-hang', batch_timeout=2)
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        for _ in loader:
            pass
    assert time.monotonic() - start < 60
    message = str(info.value)
    assert re.match(r'no batch came from the DataLoader workers within 4\.0 s: worker 0 has been '
                    rf'loading sample 2 \({re.escape(str(tmp_path / "stuck.mp4"))}\) for \d+ s\. '
                    r'A decoder stuck in native code.* \(batch size \+ 1\) x data\.batch_timeout '
                    r'\(0 turns it off\)', message), message
    assert info.value.path == str(tmp_path / 'stuck.mp4')


def test_the_batch_timeout_defaults_to_300_s_and_0_turns_it_off(tmp_path: Path) -> None:
    loader = _loader(tmp_path, 'hang')
    assert (loader.sample_log.sample_timeout, loader.timeout) == (300, 600)  # batch size 1
    loader = _loader(tmp_path, 'hang', batch_timeout=0)
    assert (loader.sample_log.sample_timeout, loader.timeout) == (0, 0)
    with pytest.raises(ValueError, match=r'batch_timeout \(data\.batch_timeout\) must be a '
                                         r'number of seconds >= 0'):
        _loader(tmp_path, 'hang', batch_timeout=-1)


def test_a_worker_killed_by_sigabrt_is_named_with_its_sample(tmp_path: Path) -> None:
    loader = _loader(tmp_path, 'abort', batch_timeout=60)
    with pytest.raises(DataError) as info:
        for _ in loader:
            pass
    message = str(info.value)
    assert re.match(r'worker 0 was killed by SIGABRT while loading sample 2 '
                    rf'\({re.escape(str(tmp_path / "stuck.mp4"))}\)', message), message


def test_a_killed_worker_is_found_at_once_even_when_its_sigchld_report_is_lost(
        tmp_path: Path) -> None:
    # PyTorch reports a dead worker from its SIGCHLD handler; code that swallows exceptions
    # when the signal lands (torch 2.13's lazy import in record_function) loses that report.
    # The wait for the batch must still find the worker dead within seconds, not after the
    # main process's batch limit ((1 + 1) x 60 s here), which PyTorch waits out in one piece
    loader = _loader(tmp_path, 'hang', batch_timeout=60)
    iterator = iter(loader)
    next(iterator)
    time.sleep(0.5)  # worker 0 is in sample 2 by now (it had sample 0 done)
    lost = ''
    try:
        os.kill(iterator._workers[0].pid, signal.SIGKILL)
        time.sleep(3)
    except RuntimeError as err:  # the report, swallowed as the lazy import does
        lost = str(err)
    assert 'is killed by signal' in lost
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        for _ in iterator:
            pass
    assert time.monotonic() - start < 10
    assert re.match(r'worker 0 was killed by SIGKILL while loading sample 2 '
                    rf'\({re.escape(str(tmp_path / "stuck.mp4"))}\)', str(info.value)), info.value


def test_a_worker_killed_between_samples_is_named(tmp_path: Path) -> None:
    # no sample to name (it was waiting for work, or had not started one): the worker and its
    # signal still are, instead of PyTorch's bare "DataLoader worker (pid(s) N) exited"
    names = [f'clip_{index}.mp4' for index in range(12)]
    write_clip(tmp_path / names[0], num_frames=8)
    for name in names[1:]:
        (tmp_path / name).write_bytes((tmp_path / names[0]).read_bytes())
    (tmp_path / 'list.txt').write_text(''.join(f'{name} 1\n' for name in names))
    dataset = build_dataset(dict(type='VideoDataset', ann_file=str(tmp_path / 'list.txt'),
                                 data_prefix=str(tmp_path), test_mode=True,
                                 pipeline=video_pipeline(True)))
    loader = build_dataloader(dataset, videos_per_gpu=1, workers_per_gpu=1, shuffle=False)
    iterator = iter(loader)
    next(iterator)
    time.sleep(2)  # the worker has loaded what it was given (2 batches ahead) and waits
    try:
        os.kill(iterator._workers[0].pid, signal.SIGKILL)
        time.sleep(1)
    except RuntimeError:  # PyTorch's SIGCHLD report, here outside the loader
        pass
    with pytest.raises(DataError) as info:
        for _ in iterator:
            pass
    assert re.match(r'worker 0 was killed by SIGKILL between samples \(PyTorch: "DataLoader '
                    r'worker \(pid.*"\)\. No sample was loading', str(info.value)), info.value


_TRAINER = '''
import os, sys, time
sys.path.insert(0, sys.argv[2])
import test_worker_guards as guards
from pathlib import Path
loader = guards._loader(Path(sys.argv[1]), 'hang', batch_timeout=0)
print('loading', flush=True)
for _ in loader:
    pass
'''


def _alive(pid: int) -> bool:
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ('Z', 'X')  # a zombie has exited


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc')
def test_workers_exit_when_the_trainer_is_killed(tmp_path: Path) -> None:
    trainer = subprocess.Popen([sys.executable, '-c', _TRAINER, str(tmp_path),
                                str(Path(__file__).parent)],
                               stdout=subprocess.PIPE, text=True, env=subprocess_env())
    try:
        assert trainer.stdout is not None and trainer.stdout.readline().strip() == 'loading'
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline:  # wait for both workers
            time.sleep(0.2)
            children = Path(f'/proc/{trainer.pid}/task/{trainer.pid}/children')
            workers = [int(pid) for pid in children.read_text().split()]
        assert len(workers) == 2, workers
        time.sleep(1.5)  # one worker is stuck in a sample, the other waits for work
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f'workers {survivors} outlived the killed trainer'


def test_an_eof_error_from_a_dead_workers_queue_names_the_worker_and_sample() -> None:
    # PyTorch sometimes reports a worker killed mid-transfer only as an EOFError (or
    # ConnectionResetError) from its queue: the workers' exit codes then say who died
    from types import SimpleNamespace

    from actionkit.datasets.loader import WorkerSampleLog, explain_worker_failure

    log = WorkerSampleLog(2)
    log.note(1, 7, 'videos/a b.mp4')  # worker 1 (this pid) starts sample 7
    workers = [SimpleNamespace(pid=-5, exitcode=None),
               SimpleNamespace(pid=os.getpid(), exitcode=-signal.SIGABRT)]
    for error in (EOFError(), ConnectionResetError(104, 'Connection reset by peer')):
        explained = explain_worker_failure(error, log, workers)
        assert explained is not None and str(explained).startswith(
            'worker 1 was killed by SIGABRT while loading sample 7 (videos/a b.mp4)')
        assert explained.path == 'videos/a b.mp4'
