"""``tools/data/build_rawframes.py --help`` states MMAction2's defaults (flow, avi), which are
the ones it uses; flow without OpenCV's contrib modules is refused before any video is read."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

REPO = Path(__file__).resolve().parents[2]


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / 'tools' / 'data' / name), *args],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, COLUMNS='200'))


def test_help_states_the_defaults_it_uses():
    from actionkit.commands import data as data_commands
    import argparse

    for name, add, task, ext in [
            ('build_rawframes.py', data_commands._add_build_rawframes_arguments, 'flow', 'avi'),
            ('extract_frames.py', data_commands.add_extract_frames_arguments, 'rgb',
             'all common ones')]:
        shown = _tool(name, '--help').stdout
        assert f'RGB frames, optical flow or both (default: {task})' in shown, name
        assert f'video extensions to look for (default: {ext})' in shown, name
        parser = argparse.ArgumentParser()
        add(parser)
        args = parser.parse_args(['src', 'out'])
        assert args.task == task
        assert args.ext == (['avi'] if ext == 'avi' else None)


@pytest.mark.skipif(hasattr(getattr(cv2, 'optflow', None), 'DualTVL1OpticalFlow_create'),
                    reason='this OpenCV has the contrib modules')
def test_tvl1_without_contrib_is_refused_before_decoding(tmp_path: Path):
    (tmp_path / 'videos' / 'walk').mkdir(parents=True)
    (tmp_path / 'videos' / 'walk' / 'a.avi').write_bytes(b'not a video at all')
    done = _tool('build_rawframes.py', str(tmp_path / 'videos'), str(tmp_path / 'out'))
    assert done.returncode == 1
    assert "build_rawframes.py: error: ImportError: flow_type 'tvl1' needs OpenCV's contrib " \
        'modules' in done.stderr
    assert 'a.avi' not in done.stderr + done.stdout  # no video was opened
    assert not (tmp_path / 'out' / 'walk').exists()
