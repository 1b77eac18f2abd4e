"""Every command-line entry point ends through ``run_main``: a mistake is one line on stderr
and a non-zero status; ``ACTIONKIT_DEBUG=1`` or ``--debug`` shows the traceback."""
from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from actionkit.utils.cli_main import run_main

REPO = Path(__file__).resolve().parents[2]
ENTRY_POINTS = sorted(p for p in [*REPO.glob('tools/**/*.py'), *REPO.glob('demo/*.py')]
                      if "__name__ == '__main__'" in p.read_text())


def _disk_full(argv: list[str]) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), 'work_dirs/x/epoch_3.pth')


def test_an_error_is_one_line_and_status_1(capsys, monkeypatch):
    monkeypatch.delenv('ACTIONKIT_DEBUG', raising=False)
    assert run_main(_disk_full, ['cfg.py'], prog='train.py') == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert err.startswith("train.py: error: OSError: [Errno 28] No space left on device: "
                          "'work_dirs/x/epoch_3.pth' (ACTIONKIT_DEBUG=1 or --debug")

    def missing_key(argv: list[str]) -> int:
        raise KeyError('SLURM_PROCID')

    assert run_main(missing_key, [], prog='p') == 1
    assert "p: error: KeyError: missing key 'SLURM_PROCID'" in capsys.readouterr().err


def test_debug_flag_and_variable_show_the_traceback(monkeypatch):
    seen = []

    def main(argv: list[str]) -> int:
        seen.append(argv)
        raise ValueError('bad value in line 3')

    monkeypatch.delenv('ACTIONKIT_DEBUG', raising=False)
    with pytest.raises(ValueError, match='line 3'):
        run_main(main, ['cfg.py', '--debug', '--seed', '0'])
    assert seen == [['cfg.py', '--seed', '0']]  # --debug is not passed on
    monkeypatch.setenv('ACTIONKIT_DEBUG', '1')
    with pytest.raises(ValueError):
        run_main(main, ['cfg.py'])
    monkeypatch.setenv('ACTIONKIT_DEBUG', '0')
    assert run_main(main, ['cfg.py']) == 1
    assert run_main(lambda argv: None, []) == 0 and run_main(lambda argv: 3, []) == 3


@pytest.mark.parametrize('script', ENTRY_POINTS, ids=[str(p.relative_to(REPO))
                                                      for p in ENTRY_POINTS])
def test_every_entry_point_ends_through_run_main(script: Path):
    main_block = script.read_text().split("if __name__ == '__main__':")[-1]
    assert 'run_main(' in main_block or "main(['data'" in main_block, script


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / 'tiny.py'
    path.write_text(
        "model = dict(type='Recognizer2D', backbone=dict(type='ResNet', depth=18, "
        "base_channels=8, pretrained=None), cls_head=dict(type='TSNHead', num_classes=3, "
        "in_channels=64))\n"
        f"data = dict(videos_per_gpu=2, workers_per_gpu=0, train=dict(type='VideoDataset', "
        f"ann_file={str(tmp_path / 'no_such_list.txt')!r}, data_prefix=None, pipeline=[]))\n"
        "optimizer = dict(type='SGD', lr=0.1)\noptimizer_config = dict()\n"
        "lr_config = dict(policy='step', step=[1])\ntotal_epochs = 1\n"
        "log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])\n"
        "workflow = [('train', 1)]\n")
    return path


def _train(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(('SLURM_', 'OMPI_'))
             and k not in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'ACTIONKIT_DEBUG')}
    return subprocess.run([sys.executable, str(REPO / 'tools' / 'train.py'), str(config),
                           '--work-dir', str(config.parent / 'work'), *args],
                          env=dict(clean, CUDA_VISIBLE_DEVICES='-1', **env),
                          capture_output=True, text=True, timeout=120)


def _error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stderr[-2000:]
    assert 'Traceback' not in done.stderr, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if 'error:' in line]
    assert len(lines) == 1, done.stderr[-2000:]
    return lines[0]


@pytest.mark.slow
def test_tools_train_mistakes_are_one_line(config: Path):
    line = _error_line(_train(config))
    assert re.search(r"tiny\.py: data: train: .*no_such_list\.txt", line), line
    line = _error_line(_train(config, '--launcher', 'slurm'))
    assert 'SLURM_PROCID' in line and 'srun' in line
    line = _error_line(_train(config, '--launcher', 'pytorch'))
    assert "'RANK'" in line and 'MASTER_ADDR' in line
    line = _error_line(_train(config, '--launcher', 'mpi'))
    assert 'OMPI_COMM_WORLD_RANK' in line and 'mpirun' in line
    line = _error_line(_train(config, '--cfg-options', 'model.cls_head.new_key=1'))
    assert re.search(r"tiny\.py: model\.cls_head\.new_key: .*TSNHead.*unknown argument "
                     r"'new_key'", line), line
    debug = _train(config, '--debug')
    assert debug.returncode == 1 and 'Traceback' in debug.stderr


def test_eval_options_take_the_deprecated_and_the_dotted_forms():
    from actionkit.commands.test import _check_args, build_parser
    from actionkit.config.options import merge_dotted

    parser = build_parser()
    args = parser.parse_args(['c.py', 'k.pth', '--eval-options', 'topk=1,3',
                              'metric_options.top_k_accuracy.topk=1,3'])
    eval_config = {'metrics': ['top_k_accuracy'],
                   'metric_options': {'top_k_accuracy': {'topk': (1, 5)}, 'x': {'y': 2}}}
    merge_dotted(eval_config, args.eval_options)
    assert eval_config == {'metrics': ['top_k_accuracy'], 'topk': [1, 3],
                           'metric_options': {'top_k_accuracy': {'topk': [1, 3]}, 'x': {'y': 2}}}
    args = parser.parse_args(['c.py', 'k.pth', '--options', 'topk=1,3'])
    with pytest.warns(FutureWarning, match='--options is deprecated; use --eval-options'):
        _check_args(parser, args)
    assert args.eval_options == {'topk': [1, 3]}
