"""Tests of tools/data/anno_txt2json.py and actionkit/datasets/prep/annotations_json.py."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from actionkit.datasets.rawframe_dataset import RawframeDataset
from actionkit.datasets.video_dataset import VideoDataset
from actionkit.datasets.prep.annotations_json import annotation_list_records, default_json_path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / 'shared' / 'data' / 'mmaction2' / 'tests' / 'data' / 'annotations'


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        '_anno_txt2json', REPO / 'tools' / 'data' / 'anno_txt2json.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _records(dataset) -> list[dict]:
    return [dataset.get_info(i) for i in range(len(dataset))]


def test_rawframes_json_loads_to_the_same_records(tmp_path):
    txt = tmp_path / 'train_list.txt'
    txt.write_text('jump/v_0001 120 3\nrun/v 0002\t75 0\n\nsit/v_0003 8 11\n')
    assert load_tool().main([str(txt)]) == 0
    out = tmp_path / 'train_list.json'
    data = json.loads(out.read_text())
    assert data == [dict(frame_dir='jump/v_0001', total_frames=120, label=[3]),
                    dict(frame_dir='run/v 0002', total_frames=75, label=[0]),
                    dict(frame_dir='sit/v_0003', total_frames=8, label=[11])]
    from_txt = RawframeDataset(str(txt), [], data_prefix=str(tmp_path))
    from_json = RawframeDataset(str(out), [], data_prefix=str(tmp_path))
    assert _records(from_json) == _records(from_txt)
    assert from_json.get_info(1)['frame_dir'] == str(tmp_path / 'run/v 0002')


def test_multi_label_videos(tmp_path):
    txt = tmp_path / 'videos.txt'
    txt.write_text('a/000.mp4 1 3 5\nb/001.mp4 2\n')
    out = tmp_path / 'sub' / 'out.json'
    assert load_tool().main([str(txt), '--format', 'videos', '--output', str(out)]) == 0
    assert json.loads(out.read_text()) == [dict(filename='a/000.mp4', label=[1, 3, 5]),
                                           dict(filename='b/001.mp4', label=[2])]
    kwargs = dict(multi_class=True, num_classes=6)
    from_txt = VideoDataset(str(txt), [], **kwargs)
    from_json = VideoDataset(str(out), [], **kwargs)
    assert _records(from_json) == _records(from_txt)
    assert from_json.get_info(0)['label'] == [1, 3, 5]


@pytest.mark.skipif(not SHARED.is_dir(), reason=f'shared test data not found at {SHARED}')
@pytest.mark.parametrize('name,format', [('rawframe_test_list_multi_label.txt', 'rawframes'),
                                         ('video_test_list_multi_label.txt', 'videos'),
                                         ('rawframe_test_list.txt', 'rawframes')])
def test_real_lists_split_like_mmaction2(name, format):
    lines = (SHARED / name).read_text().split('\n')
    expected = []
    for fields in (line.split() for line in lines if line.strip()):
        if format == 'rawframes':
            expected.append(dict(frame_dir=fields[0], total_frames=int(fields[1]),
                                 label=[int(x) for x in fields[2:]]))
        else:
            expected.append(dict(filename=fields[0], label=[int(x) for x in fields[1:]]))
    assert annotation_list_records(SHARED / name, format) == expected


def test_malformed_line_names_file_and_line(tmp_path, capsys):
    txt = tmp_path / 'bad.txt'
    txt.write_text('a 10 1\nb ten 2\n')
    assert load_tool().main([str(txt)]) == 1
    err = capsys.readouterr().err
    assert f'{txt}:2' in err
    assert not (tmp_path / 'bad.json').exists()
    assert load_tool().main([str(tmp_path / 'missing.txt')]) == 1
    with pytest.raises(ValueError, match="format must be one of"):
        annotation_list_records(txt, 'frames')


def test_default_output_never_overwrites_the_input():
    assert default_json_path('data/list.txt') == Path('data/list.json')
    assert default_json_path('data/list.lst') == Path('data/list.lst.json')
