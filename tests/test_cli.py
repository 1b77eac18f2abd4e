"""Tests of the ``actionkit`` command line (actionkit/cli.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from actionkit.cli import COMMANDS, main
from actionkit.commands.data import DATA_COMMANDS

SMALL = ['--num-train', '10', '--num-val', '10', '--size', '16', '--frames', '4',
         '--workers', '1']


def test_data_synthetic_is_idempotent(tmp_path, capsys):
    out = tmp_path / 'synthetic'
    assert main(['data', 'synthetic', '--out', str(out), *SMALL, '--layouts', 'videos']) == 0
    printed = capsys.readouterr().out
    assert '10 train + 10 val clips' in printed and 'train_list_videos' in printed
    manifest = json.loads((out / 'manifest.json').read_text())
    assert manifest['params']['size'] == 16 and manifest['params']['layouts'] == ['videos']
    assert len((out / 'train_list_videos.txt').read_text().splitlines()) == 10
    assert not (out / 'rawframes').exists()
    stamp = (out / 'manifest.json').stat().st_mtime_ns

    assert main(['data', 'synthetic', '--out', str(out), *SMALL, '--layouts', 'videos']) == 0
    assert 'nothing to do' in capsys.readouterr().out
    assert (out / 'manifest.json').stat().st_mtime_ns == stamp

    # other parameters: refused without --overwrite, then replaced
    changed = ['data', 'synthetic', '--out', str(out), *SMALL, '--noise-std', '0']
    assert main(changed) == 1
    assert '--overwrite' in capsys.readouterr().err
    assert main([*changed, '--overwrite', '--object-size', '0.2', '0.25']) == 0
    knobs = json.loads((out / 'manifest.json').read_text())['params']['knobs']
    assert knobs['noise_std'] == 0 and knobs['object_size'] == [0.2, 0.25]
    assert (out / 'rawframes').is_dir()


def test_bad_values_exit_with_a_message(tmp_path, capsys):
    assert main(['data', 'synthetic', '--out', str(tmp_path), *SMALL, '--size', '15']) == 1
    assert 'size must be even' in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(['data', 'synthetic', '--difficulty', 'medium'])
    assert exc.value.code == 2


@pytest.mark.parametrize('command', ['demo', 'train', 'test', 'export', 'extract-features'])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, '--help'])
    assert exc.value.code == 0
    assert f'actionkit {command}' in capsys.readouterr().out


def test_tables_are_complete():
    assert {'data', 'demo'} <= set(COMMANDS)
    assert set(DATA_COMMANDS) == {'synthetic', 'build-file-list', 'extract-frames',
                                  'resize-videos', 'synthetic-audio', 'build-audio-features',
                                  'shard'}
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_module_entry_point():
    done = subprocess.run([sys.executable, '-m', 'actionkit.cli', 'data', '--help'],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    for name in DATA_COMMANDS:
        assert name in done.stdout
