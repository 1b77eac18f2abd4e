"""Faults around a run rather than one sample: labels the model cannot have, a full disk at a
checkpoint, two runs in one work dir, the distributed test's temporary folder, stuck and
orphaned loader workers (issues 14 and 15, "Faults, round two")."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from faults_helpers import load_tool, subprocess_env, write_config
from faults_media import write_clip

from actionkit.errors import AnnotationError


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    root = tmp_path / 'videos'
    root.mkdir()
    for index in range(2):
        write_clip(root / f'clip_{index}.mp4', num_frames=8)
    return root


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py'])
def test_a_label_the_model_cannot_have_is_refused_before_any_sample(
        tmp_path: Path, clips: Path, tool: str) -> None:
    # the model has 10 classes; line 3 says 10. Nothing else sets num_classes.
    ann_file = clips / 'list.txt'
    ann_file.write_text('clip_0.mp4 1\nclip_1.mp4 2\nclip_0.mp4 10\n')
    config = write_config(tmp_path / 'cfg.py', ann_file, clips)
    argv = ([str(config), '--work-dir', str(tmp_path / 'work')] if tool == 'tools/train.py'
            else [str(config), str(tmp_path / 'none.pth'), '--out', str(tmp_path / 'r.json')])
    with pytest.raises(AnnotationError) as info:
        load_tool(tool).main(argv)
    message = str(info.value)
    assert message.startswith(f'{ann_file}:3: label 10 is out of range for num_classes=10')
    assert "'clip_0.mp4 10'" in message
    assert not (tmp_path / 'work' / 'epoch_1.pth').exists()


_FULL_DISK = '''
import resource, signal, sys, torch
from torch import nn
from actionkit.engine.checkpoint import save_checkpoint
target = sys.argv[1]
save_checkpoint(nn.Linear(4, 2), target)           # the previous checkpoint: a few hundred bytes
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
try:
    save_checkpoint(nn.Linear(400, 200), target)   # 320 kB: cannot be written
except BaseException as err:
    print(type(err).__name__ + ': ' + str(err))
'''


def test_a_checkpoint_that_cannot_be_written_is_one_line_and_the_previous_one_survives(
        tmp_path: Path) -> None:
    # a file-size limit stands in for a full disk: the write fails the same way, half-way
    target = tmp_path / 'epoch_2.pth'
    result = subprocess.run([sys.executable, '-c', _FULL_DISK, str(target)],
                            capture_output=True, text=True, env=subprocess_env(), timeout=120)
    out = result.stdout.strip()
    assert out.startswith(f'OSError: could not write the checkpoint {target}: '), (out,
                                                                                 result.stderr)
    assert out.endswith('the partial file was removed and any previous epoch_2.pth is left as '
                        'it was')
    assert 'inline_container' not in out and '\n' not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_2.pth']
    state = torch.load(target, weights_only=True)['state_dict']
    assert state['weight'].shape == (2, 4)  # the earlier, small checkpoint
