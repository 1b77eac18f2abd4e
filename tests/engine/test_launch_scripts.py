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
    record = tmp_path / 'argv.txt'
    fake = tmp_path / 'bin' / stub
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a"; done > {record}\n')
    fake.chmod(0o755)
    full_env = {k: v for k, v in os.environ.items()
                if k not in ('NNODES', 'NODE_RANK', 'PORT', 'MASTER_ADDR', 'MASTER_PORT', 'GPUS',
                             'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS')}
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
