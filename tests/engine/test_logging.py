"""Logging: the package logger per rank, averaged log values, the progress bar, TensorBoard."""
from __future__ import annotations

import importlib.util
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from engine_toys import ToyDataset, ToyRecognizer

from actionkit.datasets.builder import build_dataloader
from actionkit.engine import (LogBuffer, TensorboardLoggerHook, TextLoggerHook, Trainer,
                              build_logger_hooks, get_logger)
from actionkit.engine import logging as ak_logging


@pytest.fixture
def fresh_logger() -> Iterator[str]:
    name = 'actionkit_test_logger'
    yield name
    logger = logging.getLogger(name)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def test_rank0_logs_to_file_other_ranks_only_errors(tmp_path: Path, fresh_logger: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    log_file = tmp_path / 'run.log'
    logger = get_logger(fresh_logger, log_file=str(log_file), log_level='INFO')
    get_logger(fresh_logger, log_file=str(log_file))  # idempotent: no duplicate handlers
    assert len(logger.handlers) == 2 and logger.level == logging.INFO
    logger.info('hello from rank 0')
    for handler in logger.handlers:
        handler.flush()
    assert 'hello from rank 0' in log_file.read_text()

    other = fresh_logger + '.rank1'
    monkeypatch.setattr(ak_logging, 'get_rank', lambda: 1)
    logger1 = get_logger(other, log_file=str(tmp_path / 'rank1.log'))
    assert logger1.level == logging.ERROR
    assert not (tmp_path / 'rank1.log').exists()
    for handler in list(logger1.handlers):
        logger1.removeHandler(handler)
    with pytest.raises(ValueError, match='log_level'):
        get_logger(fresh_logger, log_level='LOUD')


def test_log_buffer_weighted_average_of_last_n() -> None:
    buffer = LogBuffer()
    buffer.update({'loss': 1.0}, count=1)
    buffer.update({'loss': 2.0}, count=3)
    buffer.update({'loss': 4.0, 'acc': 0.5}, count=4)
    buffer.average(2)
    assert buffer.output['loss'] == pytest.approx((2.0 * 3 + 4.0 * 4) / 7)
    assert buffer.output['acc'] == pytest.approx(0.5) and buffer.ready
    buffer.average()
    assert buffer.output['loss'] == pytest.approx((1 + 6 + 16) / 8)
    buffer.clear_output()
    assert not buffer.ready and not buffer.output


def test_log_config_builds_hooks_with_its_interval() -> None:
    hooks = build_logger_hooks(dict(interval=7, hooks=[dict(type='TextLoggerHook',
                                                            by_epoch=False)]))
    assert isinstance(hooks[0], TextLoggerHook) and hooks[0].interval == 7
    assert not hooks[0].by_epoch
    with pytest.raises(KeyError, match='hook'):
        build_logger_hooks(dict(interval=7, hook=[]))
    with pytest.raises(ValueError, match='interval'):
        TextLoggerHook(interval=0)


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tiny_trainer(tmp_path: Path, hooks: list) -> Trainer:
    model = ToyRecognizer()
    loader = build_dataloader(ToyDataset(8), videos_per_gpu=2, workers_per_gpu=0, seed=0)
    return Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), [loader], max_epochs=1,
                   work_dir=str(tmp_path), hooks=hooks, timestamp='t')


def test_progress_bar_on_a_terminal_plain_lines_otherwise(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _FakeTerminal()
    monkeypatch.setattr(ak_logging.sys, 'stderr', terminal)
    _tiny_trainer(tmp_path / 'tty', [TextLoggerHook(interval=2)]).run()
    shown = terminal.getvalue()
    assert 'Epoch 1/1 [' in shown and '4/4' in shown and 'ETA' in shown and '\r' in shown

    plain = io.StringIO()
    monkeypatch.setattr(ak_logging.sys, 'stderr', plain)
    _tiny_trainer(tmp_path / 'plain', [TextLoggerHook(interval=2)]).run()
    assert plain.getvalue() == ''


def test_tensorboard_hook(tmp_path: Path) -> None:
    hook = TensorboardLoggerHook(interval=1)
    trainer = _tiny_trainer(tmp_path, [hook])
    if importlib.util.find_spec('tensorboard') is None:
        with pytest.raises(ImportError, match=r"pip install 'actionkit\[tensorboard\]'"):
            trainer.run()
    else:
        trainer.run()
        assert list((tmp_path / 'tf_logs').glob('events.out.tfevents.*'))


def test_text_logger_out_dir_copies_the_logs_as_mmcv(tmp_path: Path) -> None:
    work = tmp_path / 'exp'
    work.mkdir()
    (work / 'exp.py').write_text('total_epochs = 1\n')  # the dumped config
    (work / 'notes.txt').write_text('not a log')
    hook = TextLoggerHook(interval=2, out_dir=str(tmp_path / 'logs'), keep_local=False)
    _tiny_trainer(work, [hook]).run()
    copied = sorted(p.name for p in (tmp_path / 'logs' / 'exp').iterdir())  # out_dir/<name>
    assert copied == ['exp.py', 't.log.json']  # out_suffix: .log.json, .log, .py
    assert sorted(p.name for p in work.iterdir()) == ['notes.txt']  # keep_local=False
    assert '"mode": "train"' in (tmp_path / 'logs' / 'exp' / 't.log.json').read_text()
    with pytest.raises(ValueError, match='file_client_args needs out_dir'):
        TextLoggerHook(file_client_args=dict(backend='disk'))
    with pytest.raises(ValueError, match="io_backend='petrel'"):
        TextLoggerHook(out_dir='logs', file_client_args=dict(backend='petrel'))
    with pytest.raises(ValueError, match='read-only'):
        TextLoggerHook(out_dir='https://example.org/logs')
