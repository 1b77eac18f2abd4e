"""Distributed helpers on CPU: launchers' environments, DDP equivalence, result collection,
and a failing rank that must not leave the other one hanging."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
from engine_toys import ToyDataset, ToyRecognizer
from torch import nn

from actionkit.datasets.builder import build_dataloader
from actionkit.datasets.loader import DistributedSampler
from actionkit.engine import (CheckpointHook, EvalHook, HookBase, Trainer, collect_results_cpu,
                              collect_results_gpu, find_free_port, get_dist_info, init_dist,
                              launch, revert_sync_batchnorm, wrap_model)
from actionkit.engine.dist import _interleave

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
_ENV_KEYS = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'PORT')


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in _ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    yield monkeypatch
    if dist.is_initialized():
        dist.destroy_process_group()


def test_pytorch_launcher_needs_torchrun_variables(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(KeyError, match=r"\['RANK', 'WORLD_SIZE', 'MASTER_ADDR'\].*torchrun"):
        init_dist('pytorch')
    with pytest.raises(ValueError, match='launcher'):
        init_dist('torchrun')


def test_pytorch_launcher_single_process(clean_env: pytest.MonkeyPatch) -> None:
    port = find_free_port()
    for key, value in dict(RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(port)).items():
        clean_env.setenv(key, value)
    assert init_dist('pytorch', backend='nccl', timeout=30) == (0, 1)  # nccl -> gloo on CPU
    assert dist.get_backend() == 'gloo' and get_dist_info() == (0, 1)
    assert os.environ['LOCAL_RANK'] == '0'


def test_slurm_launcher_reads_slurm_variables(clean_env: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    scontrol = tmp_path / 'scontrol'
    scontrol.write_text('#!/bin/sh\n[ "$1 $2 $3" = "show hostnames node[1-2]" ] || exit 3\n'
                        'echo localhost\necho node2\n')
    scontrol.chmod(0o755)
    port = find_free_port()
    for key, value in dict(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_LOCALID='0',
                           SLURM_NODELIST='node[1-2]', PORT='1', MASTER_PORT='2',
                           PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}').items():
        clean_env.setenv(key, value)
    assert init_dist('slurm', backend='gloo', port=port, timeout=30) == (0, 1)
    assert os.environ['MASTER_ADDR'] == 'localhost'
    assert os.environ['MASTER_PORT'] == str(port)  # dist_params.port wins over the env
    assert (os.environ['RANK'], os.environ['WORLD_SIZE']) == ('0', '1')


def test_mpi_launcher_reads_openmpi_variables(clean_env: pytest.MonkeyPatch) -> None:
    port = find_free_port()
    for key, value in dict(OMPI_COMM_WORLD_RANK='0', OMPI_COMM_WORLD_SIZE='1',
                           OMPI_COMM_WORLD_LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(port)).items():
        clean_env.setenv(key, value)
    assert init_dist('mpi', backend='gloo', timeout=30) == (0, 1)
    clean_env.delenv('MASTER_ADDR')
    dist.destroy_process_group()
    with pytest.raises(KeyError, match='MASTER_ADDR'):
        init_dist('mpi')


def test_interleave_restores_dataset_order_and_drops_padding() -> None:
    # 7 samples on 3 ranks, padded to 9: rank r holds r, r+3, r+6 (rank 1 and 2 end in padding)
    parts = [[0, 3, 6], [1, 4, 0], [2, 5, 1]]
    assert _interleave(parts, 7) == list(range(7))
    assert _interleave([[0, 2, 4], [1, 3]], 5) == list(range(5))  # unpadded, uneven
    assert collect_results_gpu(['a', 'b'], 2) == ['a', 'b']  # no process group: identity


def test_sync_bn_reverts_to_plain_bn_on_cpu() -> None:
    model = nn.Sequential(nn.Conv3d(2, 4, 1), nn.SyncBatchNorm(4))
    model[1].running_mean.fill_(0.5)
    keys = list(model.state_dict())
    wrapped = wrap_model(model, torch.device('cpu'), distributed=False)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in wrapped.modules())
    assert list(wrapped.state_dict()) == keys
    assert torch.all(wrapped[1].running_mean == 0.5)
    assert wrapped(torch.randn(2, 2, 3, 4, 4)).shape == (2, 4, 3, 4, 4)
    assert revert_sync_batchnorm(nn.Linear(2, 2)).__class__ is nn.Linear


class _LossRecorder(HookBase):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def after_step(self, trainer: Trainer) -> None:
        self.losses.append(trainer.outputs['log_vars']['loss'])


def _train(model: nn.Module, loader: Any, work_dir: str, hooks: list) -> Trainer:
    recorder = _LossRecorder()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    trainer = Trainer(model, optimizer, [loader], max_epochs=2, work_dir=work_dir,
                      hooks=[*hooks, recorder])
    trainer.run()
    trainer.recorded = recorder.losses  # type: ignore[attr-defined]
    return trainer


def _two_rank_worker(out_dir: str) -> None:
    torch.set_num_threads(1)
    os.chdir(out_dir)
    rank, world_size = get_dist_info()
    sampler = DistributedSampler(list(range(7)), world_size, rank, shuffle=False)
    part = [f'sample-{i}' for i in sampler]
    collected = dict(cpu=collect_results_cpu(part, 7, tmpdir=os.path.join(out_dir, 'parts')),
                     cpu_auto=collect_results_cpu(part, 7), gpu=collect_results_gpu(part, 7))

    torch.manual_seed(0)
    model = wrap_model(ToyRecognizer(), torch.device('cpu'), distributed=True)
    loader = build_dataloader(ToyDataset(16, jitter=0.0), videos_per_gpu=2, workers_per_gpu=0,
                              dist=True, shuffle=False)
    val = build_dataloader(ToyDataset(7, test_mode=True), videos_per_gpu=2, workers_per_gpu=0,
                           dist=True, shuffle=False)
    trainer = _train(model, loader, os.path.join(out_dir, 'work'),
                     [CheckpointHook(interval=1), EvalHook(val)])
    if rank == 0:
        weights = {k: v.tolist() for k, v in trainer.model.module.state_dict().items()}
        Path(out_dir, 'result.json').write_text(json.dumps(
            dict(collected, losses=trainer.recorded, weights=weights)))
    else:
        assert all(v is None for v in collected.values())


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_double_batch(tmp_path: Path) -> None:
    launch(_two_rank_worker, nprocs=2, args=(str(tmp_path),), timeout=120)
    result = json.loads((tmp_path / 'result.json').read_text())
    expected = [f'sample-{i}' for i in range(7)]
    assert result['cpu'] == result['cpu_auto'] == result['gpu'] == expected
    assert not (tmp_path / 'parts').exists() and os.listdir(tmp_path / '.dist_test') == []

    torch.manual_seed(0)
    single = _train(ToyRecognizer(), build_dataloader(ToyDataset(16, jitter=0.0), 4, 0,
                                                      shuffle=False), str(tmp_path / 'single'), [])
    assert len(result['losses']) == len(single.recorded) == 8
    assert result['losses'] == pytest.approx(single.recorded, rel=1e-5, abs=1e-6)
    for key, value in single.model.state_dict().items():
        assert torch.allclose(torch.tensor(result['weights'][key]), value.float(), atol=1e-5), key
    latest = torch.load(tmp_path / 'work' / 'latest.pth', weights_only=True)
    assert len(latest['resume_state']['rng']) == 2 and latest['meta']['epoch'] == 2
    assert (tmp_path / 'work' / 'best_top1_acc_epoch_1.pth').exists() or \
        (tmp_path / 'work' / 'best_top1_acc_epoch_2.pth').exists()


def _run_ranks(mode: str, tmp_path: Path) -> tuple[list[subprocess.CompletedProcess], float]:
    port = find_free_port()
    procs = []
    start = time.monotonic()
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2',
                   MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), CUDA_VISIBLE_DEVICES='-1',
                   OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join([str(HERE), str(REPO)]))
        procs.append(subprocess.Popen(
            [sys.executable, str(HERE / 'dist_failure_worker.py'), mode, str(tmp_path)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    done = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=150)
        except subprocess.TimeoutExpired as err:
            for other in procs:
                other.kill()
            raise AssertionError(f'rank {procs.index(proc)} is still running after 150 s') \
                from err
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done, time.monotonic() - start


@pytest.mark.slow
@pytest.mark.parametrize('mode,reason', [
    ('raise', 'rank 1 failed (ValueError: boom on purpose)'),
    ('kill', 'rank 1 stopped responding'),
])
def test_a_failing_rank_stops_the_other_naming_it(tmp_path: Path, mode: str, reason: str) -> None:
    (rank0, rank1), elapsed = _run_ranks(mode, tmp_path)
    assert rank1.returncode != 0
    assert rank0.returncode != 0, rank0.stderr[-2000:]
    assert f'rank 0 stops because {reason}' in rank0.stderr, rank0.stderr[-3000:]
    assert elapsed < 120


class _UnansweringStore:
    """A store whose host does not answer: the watchdog's calls wait for their timeout, then
    fail (the stop marker, written by the main thread, goes through)."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s

    def clone(self) -> _UnansweringStore:
        return _UnansweringStore(self.timeout_s)

    def set_timeout(self, delta: Any) -> None:
        self.timeout_s = delta.total_seconds()

    def _no_answer(self, *args: Any) -> Any:
        time.sleep(self.timeout_s)
        raise RuntimeError('store timeout')

    add = check = get = _no_answer

    def set(self, *args: Any) -> None:
        pass


def test_watchdog_thread_has_ended_when_stop_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    # A daemon thread still inside a store call when the interpreter shuts down is unwound by
    # force: "terminate called without an active exception", SIGABRT (the flaky end of the
    # two-process test under load). So stop() must return only once the thread has ended.
    from actionkit.engine import dist as comm
    monkeypatch.setattr(comm, '_store', _UnansweringStore)
    monkeypatch.setattr(comm, 'get_dist_info', lambda: (0, 2))
    watchdog = comm.Watchdog(interval_s=0.2, stale_s=100.0).start()
    thread = watchdog._thread
    assert thread is not None and thread.is_alive()
    time.sleep(0.5)  # the thread is inside its first store call now
    start = time.monotonic()
    watchdog.stop()
    assert not thread.is_alive()
    assert time.monotonic() - start < 2 * watchdog.call_timeout_s + 1.0


# ----------------------------------------------------------------------------- forming the group
def test_a_rank_that_never_arrives_is_named_within_the_init_timeout(
        clean_env: pytest.MonkeyPatch) -> None:
    """Restart 1 of a torchrun job (the agent hosts the store): rank 2 arrived, rank 1 did not.
    Rank 1's arrival in attempt 0, still in the agent's store, must not count."""
    port = find_free_port()
    agent = dist.TCPStore('127.0.0.1', port, is_master=True, wait_for_workers=False)
    for key, value in dict(RANK='0', WORLD_SIZE='3', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(port), TORCHELASTIC_USE_AGENT_STORE='True',
                           TORCHELASTIC_RUN_ID='job7', TORCHELASTIC_RESTART_COUNT='1').items():
        clean_env.setenv(key, value)
    for attempt, rank in ((0, 1), (0, 0), (1, 2)):
        store = dist.PrefixStore(f'actionkit/job7/{attempt}/', agent)
        store.set(f'arrived/{rank}', 'host pid 1')
        store.add('arrived', 1)
    start = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        init_dist('pytorch', backend='gloo', init_timeout=2)
    assert time.monotonic() - start < 10
    assert str(info.value) == (
        f'rank 0: the process group of 3 ranks did not form within 2 s '
        f'(dist_params.init_timeout): rank(s) 1 never arrived at the rendezvous store '
        f'127.0.0.1:{port} (attempt job7/1); see the log of the missing rank(s): they died or '
        f'never started')
    assert not dist.is_initialized()


def test_a_store_that_cannot_be_reached_is_named(clean_env: pytest.MonkeyPatch) -> None:
    port = find_free_port()  # nobody listens there
    for key, value in dict(RANK='1', WORLD_SIZE='2', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(port)).items():
        clean_env.setenv(key, value)
    with pytest.raises(TimeoutError, match=rf'^rank 1: the rendezvous store at 127.0.0.1:{port}, '
                                           r'hosted by rank 0, cannot be reached or started '
                                           r'within 1 s \(dist_params.init_timeout\)'):
        init_dist('pytorch', backend='gloo', init_timeout=1)
    with pytest.raises(ValueError, match='init_timeout must be a positive number'):
        init_dist('pytorch', backend='gloo', init_timeout=0)
