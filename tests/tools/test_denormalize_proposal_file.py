"""Tests of tools/data/denormalize_proposal_file.py and
actionkit/datasets/prep/proposal_files.py."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from actionkit.datasets.ssn_dataset import load_localize_proposal_file
from actionkit.datasets.prep.proposal_files import denormalize_proposal_file, denormalized_path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / 'shared' / 'data' / 'mmaction2' / 'tests' / 'data' / 'annotations'

NORMALIZED = """# 0
video_a
1
1
2
4 0.1000 0.3000
7 0.5500 0.9990
3
4 0.8123 0.7000 0.1000 0.2500
0 0.0000 0.0000 0.0000 1.0000
7 0.4567 0.9876 0.5000 0.9000
# 1
video_b
1
1
0
1
0 0.1000 0.2000 0.3333 0.6667
"""


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        '_denormalize', REPO / 'tools' / 'data' / 'denormalize_proposal_file.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _frame_root(root: Path, counts: dict[str, int]) -> Path:
    for name, num in counts.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(1, num + 1):
            (folder / f'img_{i:05d}.jpg').write_bytes(b'')
        (folder / 'flow_x_00001.jpg').write_bytes(b'')  # not counted
    return root


def test_times_become_frames(tmp_path):
    norm = tmp_path / 'thumos14_tag_val_normalized_proposal_list.txt'
    norm.write_text(NORMALIZED)
    frames = _frame_root(tmp_path / 'rawframes', {'video_a': 200, 'video_b': 30, 'other': 5})
    status = load_tool().main(['thumos14', '--norm-proposal-file', str(norm),
                               '--data-prefix', str(frames)])
    assert status == 0
    out = tmp_path / 'thumos14_tag_val_proposal_list.txt'
    videos = load_localize_proposal_file(str(out))
    assert [(v, n) for v, n, _, _ in videos] == [('video_a', 200), ('video_b', 30)]
    _, _, gts, proposals = videos[0]
    assert gts == [['4', '20', '60'], ['7', '110', '199']]    # int(fraction * frames)
    assert proposals == [['4', '0.8123', '0.7000', '20', '50'],
                         ['0', '0.0000', '0.0000', '0', '200'],
                         ['7', '0.4567', '0.9876', '100', '180']]
    assert videos[1][2] == [] and videos[1][3] == [['0', '0.1000', '0.2000', '9', '20']]
    assert out.read_text().startswith('# 0\nvideo_a\n200\n1\n2\n4 20 60\n')


@pytest.mark.skipif(not SHARED.is_dir(), reason=f'shared test data not found at {SHARED}')
def test_mmaction2_test_lists_agree(tmp_path):
    """MMAction2's normalized test list of a 5-frame video gives its denormalized list."""
    norm = tmp_path / 'proposal_normalized_list.txt'
    shutil.copy(SHARED / 'proposal_normalized_list.txt', norm)
    frames = _frame_root(tmp_path / 'data', {'imgs': 5})
    out = denormalize_proposal_file(norm, frames)
    assert out == tmp_path / 'proposal_list.txt'
    expected = (SHARED / 'proposal_test_list.txt').read_text()
    assert out.read_text().split() == expected.split()


def test_errors_name_file_and_video(tmp_path, capsys):
    frames = _frame_root(tmp_path / 'rawframes', {'video_a': 10})
    norm = tmp_path / 'normalized_list.txt'
    norm.write_text(NORMALIZED)
    assert load_tool().main(['thumos14', '--norm-proposal-file', str(norm),
                             '--data-prefix', str(frames)]) == 1
    err = capsys.readouterr().err
    assert str(norm) in err and "'video_b'" in err and '--data-prefix' in err
    assert not (tmp_path / 'list.txt').exists()
    bad = tmp_path / 'bad_normalized_list.txt'
    bad.write_text(NORMALIZED.replace('7 0.5500 0.9990', '7 0.5500'))
    with pytest.raises(ValueError, match=f'{bad}:7'):
        denormalize_proposal_file(bad, frames)
    with pytest.raises(ValueError, match="'normalized_'"):
        denormalized_path(tmp_path / 'list.txt')
