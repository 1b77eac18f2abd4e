"""tools/dist_*.sh and tools/slurm_*.sh pass their arguments on as MMAction2 0.x's do, run by
``bash`` and by ``sh`` (dash on Debian/Ubuntu: the guide's ``sh tools/dist_train.sh ...``).

``python`` and ``srun`` are replaced by stubs on PATH that record their command line.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / 'tools'
SCRIPTS = sorted(TOOLS.glob('*.sh')) + sorted(TOOLS.glob('misc/*.sh'))


@pytest.fixture(params=['bash', 'sh', 'dash'])
def shell(request: pytest.FixtureRequest) -> str:
    if shutil.which(request.param) is None:
        pytest.skip(f'needs {request.param}')
    return request.param


def _run(script: str, args: list[str], tmp_path: Path, stub: str, shell: str,
         **env: str) -> list[str]:
    """Run ``script``; return the argv its ``stub`` command got (its environment goes to
    ``tmp_path/env.txt``). ``scontrol show hostnames`` prints ``node3`` and ``node4``."""
    record = tmp_path / 'argv.txt'
    fake = tmp_path / 'bin' / stub
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a"; done > {record}\n'
                    f'env > {tmp_path / "env.txt"}\n')
    fake.chmod(0o755)
    scontrol = tmp_path / 'bin' / 'scontrol'
    scontrol.write_text('#!/bin/sh\necho node3\necho node4\n')
    scontrol.chmod(0o755)
    full_env = {k: v for k, v in os.environ.items()
                if k not in ('NNODES', 'NODE_RANK', 'PORT', 'MASTER_ADDR', 'MASTER_PORT', 'GPUS',
                             'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS', 'MAX_RESTARTS',
                             'RDZV_ID', 'SLURM_JOB_ID', 'SLURM_JOB_NODELIST')}
    full_env.update(env, PATH=f'{fake.parent}{os.pathsep}{os.environ["PATH"]}')
    subprocess.run([shell, str(TOOLS / script), *args], env=full_env, check=True,
                   capture_output=True, text=True, timeout=60)
    return record.read_text().splitlines()


def test_dist_train_defaults(tmp_path: Path, shell: str) -> None:
    argv = _run('dist_train.sh', ['cfg.py', '4', '--validate', '--seed', '0'], tmp_path,
                'python', shell)
    assert argv == ['-m', 'torch.distributed.run', '--nnodes=1', '--node_rank=0',
                    '--master_addr=127.0.0.1', '--master_port=29500', '--nproc_per_node=4',
                    str(TOOLS / 'train.py'), 'cfg.py', '--launcher', 'pytorch', '--validate',
                    '--seed', '0']


def test_dist_train_multi_node_environment(tmp_path: Path, shell: str) -> None:
    argv = _run('dist_train.sh', ['cfg.py', '8'], tmp_path, 'python', shell, NNODES='2',
                NODE_RANK='1',
                PORT='29601', MASTER_ADDR='10.1.2.3')
    assert argv[2:7] == ['--nnodes=2', '--node_rank=1', '--master_addr=10.1.2.3',
                         '--master_port=29601', '--nproc_per_node=8']


def test_dist_train_elastic_uses_c10d_rendezvous_and_resumes_auto(tmp_path: Path,
                                                                   shell: str) -> None:
    argv = _run('dist_train.sh', ['cfg.py', '2', '--seed', '0'], tmp_path, 'python', shell,
                MAX_RESTARTS='3')
    assert argv == ['-m', 'torch.distributed.run', '--nnodes=1', '--nproc_per_node=2',
                    '--max-restarts=3', '--rdzv-backend=c10d',
                    '--rdzv-endpoint=127.0.0.1:29500', '--rdzv-id=actionkit-29500',
                    str(TOOLS / 'train.py'), 'cfg.py', '--launcher', 'pytorch',
                    '--resume-from=auto', '--seed', '0']
    # a checkpoint of the user's is left alone (it is used at every restart)
    argv = _run('dist_train.sh', ['cfg.py', '2', '--resume-from', 'w/epoch_3.pth'], tmp_path,
                'python', shell, MAX_RESTARTS='1', PORT='29611', RDZV_ID='job7')
    assert argv[4:8] == ['--max-restarts=1', '--rdzv-backend=c10d',
                         '--rdzv-endpoint=127.0.0.1:29611', '--rdzv-id=job7']
    assert argv[8:] == [str(TOOLS / 'train.py'), 'cfg.py', '--launcher', 'pytorch',
                        '--resume-from', 'w/epoch_3.pth']


def test_dist_train_elastic_on_a_slurm_node_meets_on_the_first_node(tmp_path: Path,
                                                                   shell: str) -> None:
    argv = _run('dist_train.sh', ['cfg.py', '8'], tmp_path, 'python', shell, MAX_RESTARTS='2',
                NNODES='2', PORT='12345', SLURM_JOB_NODELIST='node[3-4]', SLURM_JOB_ID='777')
    assert argv[2:8] == ['--nnodes=2', '--nproc_per_node=8', '--max-restarts=2',
                         '--rdzv-backend=c10d', '--rdzv-endpoint=node3:12345', '--rdzv-id=777']


def test_slurm_train_elastic_starts_one_agent_per_node(tmp_path: Path, shell: str) -> None:
    argv = _run('slurm_train.sh', ['dev', 'tsn', 'cfg.py', '--work-dir', 'w'], tmp_path, 'srun',
                shell, GPUS='16', GPUS_PER_NODE='8', CPUS_PER_TASK='4', MAX_RESTARTS='3',
                MASTER_PORT='12345', SRUN_ARGS='-x n1')
    assert argv == ['-p', 'dev', '--job-name=tsn', '--gres=gpu:8', '--nodes=2', '--ntasks=2',
                    '--ntasks-per-node=1', '--cpus-per-task=32', '--kill-on-bad-exit=1', '-x',
                    'n1', 'sh', str(TOOLS / 'dist_train.sh'), 'cfg.py', '8', '--work-dir', 'w']
    env = (tmp_path / 'env.txt').read_text().splitlines()
    assert {'NNODES=2', 'MAX_RESTARTS=3', 'PORT=12345'} <= set(env)


def test_dist_test_passes_checkpoint_and_extra_args(tmp_path: Path, shell: str) -> None:
    argv = _run('dist_test.sh', ['cfg.py', 'ckpt.pth', '2', '--eval', 'top_k_accuracy'],
                tmp_path, 'python', shell)
    assert argv[7:] == [str(TOOLS / 'test.py'), 'cfg.py', 'ckpt.pth', '--launcher', 'pytorch',
                        '--eval', 'top_k_accuracy']
    assert '--nproc_per_node=2' in argv


def test_slurm_scripts(tmp_path: Path, shell: str) -> None:
    argv = _run('slurm_train.sh', ['dev', 'tsn', 'cfg.py', '--work-dir', 'w'], tmp_path, 'srun',
                shell,
                GPUS='16', GPUS_PER_NODE='8', CPUS_PER_TASK='4', SRUN_ARGS='--quotatype=auto -x n1')
    assert argv[:8] == ['-p', 'dev', '--job-name=tsn', '--gres=gpu:8', '--ntasks=16',
                        '--ntasks-per-node=8', '--cpus-per-task=4', '--kill-on-bad-exit=1']
    assert argv[8:11] == ['--quotatype=auto', '-x', 'n1']
    assert argv[11:] == ['python', '-u', str(TOOLS / 'train.py'), 'cfg.py', '--launcher=slurm',
                         '--work-dir', 'w']
    argv = _run('slurm_test.sh', ['dev', 'tsn', 'cfg.py', 'ckpt.pth', '--eval', 'top_k_accuracy'],
                tmp_path, 'srun', shell)
    assert '--ntasks=8' in argv and '--cpus-per-task=5' in argv
    assert argv[-6:] == [str(TOOLS / 'test.py'), 'cfg.py', 'ckpt.pth', '--launcher=slurm',
                         '--eval', 'top_k_accuracy']


def test_usage_message_when_arguments_are_missing(tmp_path: Path, shell: str) -> None:
    done = subprocess.run([shell, str(TOOLS / 'dist_train.sh'), 'cfg.py'], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and 'usage' in done.stderr


@pytest.mark.parametrize('script', SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_every_launch_script_is_posix_sh(script: Path, shell: str) -> None:
    """``sh -n`` parses it, and it uses none of bash's extensions that dash runs wrongly."""
    done = subprocess.run([shell, '-n', str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    text = script.read_text()
    for bashism in ('pipefail', '${@:', '$RANDOM', '[[', 'function ', '<<<'):
        assert bashism not in text, f'{script.name} uses {bashism!r}'
    assert text.startswith('#!/bin/sh\n')
