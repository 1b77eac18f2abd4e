"""Tests of the official-split annotation lists (actionkit/datasets/prep/file_lists.py) and of
``tools/data/build_file_list.py DATASET SRC_FOLDER`` (actionkit/commands/data.py)."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from actionkit.datasets.annotations import load_json_list, load_rawframe_list
from actionkit.commands.data import build_file_list_main
from actionkit.datasets.prep.file_lists import build_split_file_lists, scan_rawframes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from split_annotations import kinetics_annotations, ucf101_annotations  # noqa: E402

EYE = 'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01'
LIP = 'ApplyLipstick/v_ApplyLipstick_g01_c01'
HAND = 'HandstandPushups/v_HandStandPushups_g01_c02'


def _frames(folder: Path, rgb: int, flow_x: int = 0, flow_y: int = 0) -> None:
    folder.mkdir(parents=True)
    for prefix, count in (('img_', rgb), ('flow_x_', flow_x), ('flow_y_', flow_y)):
        for i in range(1, count + 1):
            (folder / f'{prefix}{i:05d}.jpg').write_bytes(b'')


@pytest.fixture
def ucf101(tmp_path: Path) -> dict[str, Path]:
    """UCF101's split-1 clips on disk except ApplyEyeMakeup g11_c04; flow for one clip, and
    an unequal number of x and y flow frames for another."""
    root = tmp_path / 'data' / 'ucf101'
    ann = ucf101_annotations(root / 'annotations')
    frames = root / 'rawframes'
    _frames(frames / EYE, rgb=3, flow_x=2, flow_y=2)
    _frames(frames / HAND, rgb=4)
    _frames(frames / LIP, rgb=2, flow_x=1)
    _frames(frames / 'ApplyLipstick' / 'empty', rgb=0)
    videos = root / 'videos'
    for clip in (EYE, LIP, HAND):
        (videos / clip).parent.mkdir(parents=True, exist_ok=True)
        (videos / f'{clip}.avi').write_bytes(b'')
    return dict(root=root, ann=ann, frames=frames, videos=videos)


def _read(path: str | Path) -> str:
    return Path(path).read_text()


def test_scan_rawframes(ucf101, caplog):
    with caplog.at_level(logging.WARNING):
        found = scan_rawframes(ucf101['frames'])
    assert found == {EYE: (3, 2), LIP: (2, 0), HAND: (4, 0), 'ApplyLipstick/empty': (0, 0)}
    assert 'v_ApplyLipstick_g01_c01 holds 1 flow_x_* but 0 flow_y_*' in caplog.text
    assert scan_rawframes(ucf101['frames'] / 'HandstandPushups', level=1) == {
        'v_HandStandPushups_g01_c02': (4, 0)}


def test_ucf101_rawframe_lists(ucf101, tmp_path):
    out = tmp_path / 'lists'
    result = build_split_file_lists('ucf101', ucf101['frames'], ucf101['ann'], out, num_split=1)
    assert _read(out / 'ucf101_train_split_1_rawframes.txt') == f'{EYE} 3 0\n{HAND} 4 2\n'
    assert _read(out / 'ucf101_val_split_1_rawframes.txt') == f'{LIP} 2 1\n'
    # flow lists count the x frames; folders without (complete) flow are left out
    assert _read(out / 'ucf101_flow_train_split_1_rawframes.txt') == f'{EYE} 2 0\n'
    assert _read(out / 'ucf101_flow_val_split_1_rawframes.txt') == ''
    assert _read(out / 'ucf101_label_map.txt').splitlines() == [
        'ApplyEyeMakeup', 'ApplyLipstick', 'HandstandPushups']
    assert result['lists'] == {str(out / f'ucf101{kind}_{subset}_split_1_rawframes.txt'): count
                               for kind, subset, count in (('', 'train', 2), ('_flow', 'train', 1),
                                                           ('', 'val', 1), ('_flow', 'val', 0))}
    val = str(out / 'ucf101_val_split_1_rawframes.txt')
    assert result['missing'][val] == (1, ['ApplyEyeMakeup/v_ApplyEyeMakeup_g11_c04'])
    assert result['missing'][str(out / 'ucf101_flow_train_split_1_rawframes.txt')] == (1, [HAND])
    records = load_rawframe_list(out / 'ucf101_train_split_1_rawframes.txt')
    assert [r['total_frames'] for r in records] == [3, 4]
    every = build_split_file_lists('ucf101', ucf101['frames'], ucf101['ann'], out)
    assert len(every['lists']) == 12  # 3 splits x train/val x RGB/flow


def test_ucf101_video_and_json_lists(ucf101, tmp_path):
    out = tmp_path / 'lists'
    build_split_file_lists('ucf101', ucf101['videos'], ucf101['ann'], out, format='videos',
                           num_split=2, exts=['avi'])
    assert _read(out / 'ucf101_train_split_1_videos.txt') == f'{EYE}.avi 0\n{HAND}.avi 2\n'
    assert _read(out / 'ucf101_train_split_2_videos.txt') == ''  # split 2's clips are absent
    assert not list(out.glob('*flow*'))
    build_split_file_lists('ucf101', ucf101['frames'], ucf101['ann'], out, num_split=1,
                           output_format='json')
    records = json.loads(_read(out / 'ucf101_train_split_1_rawframes.json'))
    assert records == [dict(frame_dir=EYE, total_frames=3, label=[0]),
                       dict(frame_dir=HAND, total_frames=4, label=[2])]
    assert [r['label'] for r in load_json_list(out / 'ucf101_train_split_1_rawframes.json')] == [
        0, 2]
    build_split_file_lists('ucf101', ucf101['videos'], ucf101['ann'], out, format='videos',
                           num_split=1, output_format='json', exts=['avi'])
    assert json.loads(_read(out / 'ucf101_val_split_1_videos.json')) == [
        dict(filename=f'{LIP}.avi', label=[1])]


def test_single_split_subsets_and_shuffle(tmp_path):
    ann = kinetics_annotations(tmp_path / 'annotations')
    videos = tmp_path / 'videos_val'
    for clip in ('air_drumming/ddd_000001_000011', 'zumba/eee_123456_123466'):
        (videos / clip).parent.mkdir(parents=True, exist_ok=True)
        (videos / f'{clip}.mp4').write_bytes(b'')
    out = tmp_path / 'lists'
    result = build_split_file_lists('kinetics400', videos, ann, out, format='videos',
                                    subset='val')
    assert list(result['lists']) == [str(out / 'kinetics400_val_list_videos.txt')]
    assert _read(out / 'kinetics400_val_list_videos.txt') == (
        'air_drumming/ddd_000001_000011.mp4 0\nzumba/eee_123456_123466.mp4 2\n')
    assert _read(out / 'kinetics400_label_map.txt').splitlines()[0] == 'air drumming'
    orders = set()
    for seed in range(6):
        build_split_file_lists('kinetics400', videos, ann, out, format='videos', subset='val',
                               shuffle=True, seed=seed)
        lines = _read(out / 'kinetics400_val_list_videos.txt')
        build_split_file_lists('kinetics400', videos, ann, out, format='videos', subset='val',
                               shuffle=True, seed=seed)
        assert _read(out / 'kinetics400_val_list_videos.txt') == lines  # seeded
        assert sorted(lines.splitlines()) == sorted(_read(out / 'kinetics400_val_list_videos.txt')
                                                    .splitlines())
        orders.add(lines)
    assert len(orders) == 2  # both orders of the two lines occur
    (ann / 'kinetics_test.csv').unlink()
    with pytest.raises(FileNotFoundError, match='no test annotation file'):
        build_split_file_lists('kinetics400', videos, ann, out, format='videos', subset='test')
    with pytest.raises(ValueError, match='no videos found'):
        build_split_file_lists('kinetics400', tmp_path / 'annotations', ann, out,
                               format='videos')
    with pytest.raises(ValueError, match="output_format must be 'txt' or 'json'"):
        build_split_file_lists('kinetics400', videos, ann, out, output_format='csv')


def test_build_file_list_cli_dataset_mode(ucf101, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the defaults are data/ucf101/annotations and data/ucf101
    status = build_file_list_main(['ucf101', str(ucf101['frames']), '--num-split', '1',
                                   '--shuffle', '--seed', '0'])
    assert status == 0
    printed = capsys.readouterr().out
    assert 'ucf101: 3 classes' in printed
    assert '1 not found, e.g. ApplyEyeMakeup/v_ApplyEyeMakeup_g11_c04' in printed
    lists = tmp_path / 'data' / 'ucf101'
    assert sorted(_read(lists / 'ucf101_train_split_1_rawframes.txt').splitlines()) == [
        f'{EYE} 3 0', f'{HAND} 4 2']
    status = build_file_list_main(['kinetics400', str(ucf101['frames']), '--out-dir',
                                   str(tmp_path / 'out'), '--ann-dir', str(ucf101['ann'])])
    assert status == 1 and 'kinetics_train.csv' in capsys.readouterr().err
    assert build_file_list_main(['ucf101', str(ucf101['frames']), '--split-ratio', '0.5']) == 1
    assert '--split-ratio only apply in folder mode' in capsys.readouterr().err
    assert build_file_list_main(['ucf1O1', str(ucf101['frames'])]) == 1
    assert "unknown DATASET 'ucf1O1'" in capsys.readouterr().err
    assert build_file_list_main(['hmdb51']) == 1
    assert 'SRC_FOLDER is missing' in capsys.readouterr().err


def test_build_file_list_cli_folder_mode_is_unchanged(ucf101, tmp_path, capsys):
    out = tmp_path / 'folder_lists'
    status = build_file_list_main([str(ucf101['videos']), '--out-dir', str(out), '--ext', 'avi',
                                   '--split-ratio', '1', '--name', 'mine'])
    assert status == 0
    assert '3 classes, 3 train and 0 val videos' in capsys.readouterr().out
    assert _read(out / 'mine_train_list_videos.txt') == f'{EYE}.avi 0\n{LIP}.avi 1\n{HAND}.avi 2\n'
    assert build_file_list_main([str(ucf101['videos']), '--num-split', '1']) == 1
    assert '--num-split only apply with a DATASET' in capsys.readouterr().err


SHARED_TEST_DATA = Path(__file__).resolve().parents[3].parent / 'shared' / 'data' / 'mmaction2'


@pytest.mark.skipif(not (SHARED_TEST_DATA / 'tests/data/imgs').is_dir(),
                    reason='the shared MMAction2 test data (../shared/data) is not here')
def test_scan_mmaction2_test_frames():
    """MMAction2's own frame folder: 10 RGB frames and 5 x/y flow frames named x_/y_."""
    data = SHARED_TEST_DATA / 'tests' / 'data'
    assert scan_rawframes(data, level=1, flow_x_prefix='x_', flow_y_prefix='y_')['imgs'] == (
        10, 5)
    assert scan_rawframes(data, level=1)['imgs'] == (10, 0)  # no flow_x_* files there
