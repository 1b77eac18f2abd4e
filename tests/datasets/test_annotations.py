import json
import re
import os

import numpy as np
import pytest

from actionkit.datasets.annotations import (AnnotationRecords, PackedStrings, load_json_list,
                                            load_rawframe_list, load_video_list)
from actionkit.datasets.errors import AnnotationError


def _write(tmp_path, text, name='list.txt', encoding='utf-8'):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


# --- the MMAction2 test lists ----------------------------------------------------------------

def test_rawframe_list_real_file(annotations_dir):
    records = load_rawframe_list(annotations_dir / 'rawframe_test_list.txt')
    assert len(records) == 2
    assert list(records) == [dict(frame_dir='imgs', total_frames=5, label=127)] * 2


def test_rawframe_list_with_offset_real_file(annotations_dir):
    records = load_rawframe_list(annotations_dir / 'rawframe_test_list_with_offset.txt',
                                 with_offset=True)
    assert records[0] == dict(frame_dir='imgs', offset=2, total_frames=5, label=127)
    assert list(records[1]) == ['frame_dir', 'offset', 'total_frames', 'label']


def test_rawframe_list_multi_label_real_file(annotations_dir):
    records = load_rawframe_list(annotations_dir / 'rawframe_test_list_multi_label.txt',
                                 multi_class=True, num_classes=6)
    assert [r['label'] for r in records] == [[1], [3, 5]]
    assert [r['total_frames'] for r in records] == [5, 5]


def test_video_lists_real_files(annotations_dir):
    plain = load_video_list(annotations_dir / 'video_test_list.txt')
    assert list(plain) == [dict(filename='test.mp4', label=0)] * 2
    multi = load_video_list(annotations_dir / 'video_test_list_multi_label.txt',
                            multi_class=True)
    assert [r['label'] for r in multi] == [[0, 3], [0, 2, 4]]


def test_offset_list_without_with_offset_is_rejected(annotations_dir):
    path = annotations_dir / 'rawframe_test_list_with_offset.txt'
    with pytest.raises(AnnotationError, match=r'with_offset\.txt:1: expected 3 fields'):
        load_rawframe_list(path)


# --- layout details --------------------------------------------------------------------------

def test_data_prefix_is_joined_like_os_path_join(tmp_path):
    path = _write(tmp_path, 'a/clip.mp4 1\n/abs/clip.mp4 2\n')
    records = load_video_list(path, data_prefix='root/videos')
    assert records[0]['filename'] == os.path.join('root/videos', 'a/clip.mp4')
    assert records[1]['filename'] == '/abs/clip.mp4'  # an absolute path stays
    assert load_video_list(path)[0]['filename'] == 'a/clip.mp4'


def test_tab_separates_a_path_with_spaces(tmp_path):
    path = _write(tmp_path, 'my clips/jump 1.mp4\t3\n  two  words \t 4\nplain.mp4 5\n')
    records = load_video_list(path)
    assert [r['filename'] for r in records] == ['my clips/jump 1.mp4', 'two  words', 'plain.mp4']
    assert [r['label'] for r in records] == [3, 4, 5]
    frames = load_rawframe_list(_write(tmp_path, 'dir with space\t12\t0 2\n', 'f.txt'),
                                multi_class=True)
    assert frames[0] == dict(frame_dir='dir with space', total_frames=12, label=[0, 2])


def test_non_ascii_crlf_bom_and_blank_lines(tmp_path):
    text = '\ufeffvidéos/naïve 1.mp4\t1\r\n\r\n   \n  日本/クリップ.mp4 2\r\nlast.mp4 0'
    records = load_video_list(_write(tmp_path, text))
    assert [r['filename'] for r in records] == ['vidéos/naïve 1.mp4', '日本/クリップ.mp4',
                                                 'last.mp4']
    assert [r['label'] for r in records] == [1, 2, 0]


def test_line_numbers_count_blank_lines(tmp_path):
    path = _write(tmp_path, 'a.mp4 1\n\n\n  b.mp4 x\n')
    with pytest.raises(AnnotationError, match=r'list\.txt:4: label \'x\' is not an integer'):
        load_video_list(path)


def _reference_parse(text, num_fixed, multi_class):
    """A plain per-line parser with the documented rules, to compare the vectorised one to."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if '\t' in line:
            head, rest = line.split('\t', 1)
            fields = [head.strip()] + rest.split()
        else:
            fields = line.split()
        ints = [int(f) for f in fields[1:]]
        labels = ints[num_fixed:]
        out.append((fields[0], ints[:num_fixed], labels if multi_class else labels[0]))
    return out


@pytest.mark.parametrize('with_offset', [False, True])
@pytest.mark.parametrize('multi_class', [False, True])
def test_random_lists_match_a_plain_parser(tmp_path, with_offset, multi_class):
    rng = np.random.default_rng(7)
    lines = []
    for i in range(2000):
        name = f'cls{rng.integers(50)}/v{i}' + (' x' if i % 7 == 0 else '')
        fixed = [rng.integers(0, 99)] if with_offset else []
        fixed.append(rng.integers(1, 10**int(rng.integers(1, 12))))
        labels = rng.integers(0, 400, size=rng.integers(1, 4) if multi_class else 1)
        sep = '\t' if ' ' in name or i % 5 == 0 else ' ' * int(rng.integers(1, 3))
        lines.append(name + sep + ' '.join(str(v) for v in [*fixed, *labels]))
    text = '\n'.join(lines) + '\n'
    records = load_rawframe_list(_write(tmp_path, text), with_offset=with_offset,
                                 multi_class=multi_class, num_classes=400)
    expected = _reference_parse(text, 1 + with_offset, multi_class)
    assert len(records) == len(expected)
    for record, (path, fixed, label) in zip(records, expected):
        assert record['frame_dir'] == path
        assert record['total_frames'] == fixed[-1]
        assert record.get('offset', None) == (fixed[0] if with_offset else None)
        assert record['label'] == label


def test_records_are_packed_arrays(tmp_path):
    text = ''.join(f'dir/{i} {i + 1} {i % 3}\n' for i in range(1000))
    records = load_rawframe_list(_write(tmp_path, text))
    assert isinstance(records.paths, PackedStrings)
    assert records.paths.buffer.dtype == np.uint8
    assert records.columns['total_frames'].dtype == np.int64
    assert records.labels.dtype == np.int64 and records.label_offsets is None
    # no per-record Python objects: the text and a few int64 arrays
    arrays = [records.paths.buffer, records.paths.starts, records.paths.ends, records.labels,
              records.columns['total_frames']]
    assert records.nbytes == sum(a.nbytes for a in arrays)
    assert records.nbytes == len(text.encode()) + 4 * 8 * len(records)
    assert records[-1] == dict(frame_dir='dir/999', total_frames=1000, label=0)


def test_record_index_errors(tmp_path):
    records = load_video_list(_write(tmp_path, 'a 1\nb 2\n'))
    assert records[-2]['filename'] == 'a'
    with pytest.raises(IndexError, match='out of range for 2 records'):
        records[2]
    with pytest.raises(TypeError, match='must be an int'):
        records['a']
    changed = records[0]
    changed['label'] = 99
    assert records[0]['label'] == 99  # as in a list: the record's own dict, edits stick
    assert records.label(0) == 99 and records.record(1) == dict(filename='b', label=2)
    assert records.edited == {0}  # only [] keeps a record; record() builds a new one


# --- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize('loader, kwargs, text, line, message', [
    ('video', {}, 'a.mp4 1\nb.mp4 1 2\n', 2, 'expected 2 fields `filename label`, got 3'),
    ('video', {}, 'a.mp4\n', 1, 'expected 2 fields'),
    ('video', dict(multi_class=True), 'a.mp4 1\nb.mp4\n', 2, 'expected 2 or more fields'),
    ('video', {}, 'a.mp4 1\nb.mp4 one\n', 2, "label 'one' is not an integer"),
    ('video', {}, 'a.mp4 -1\n', 1, 'label -1 is negative'),
    ('video', dict(num_classes=5), 'a.mp4 4\nb.mp4 5\n', 2,
     r'label 5 is out of range for num_classes=5'),
    ('video', {}, '\t3\n', 1, 'the path before the TAB is empty'),
    ('rawframe', {}, 'd 10 1\nd 0 1\n', 2, 'total_frames must be > 0, got 0'),
    ('rawframe', {}, 'd ten 1\n', 1, "total_frames 'ten' is not an integer"),
    ('rawframe', {}, 'd 1.5 1\n', 1, "total_frames '1.5' is not an integer"),
    ('rawframe', {}, 'd 99999999999999999999 1\n', 1, 'is not an integer'),
    ('rawframe', dict(with_offset=True), 'd -2 5 1\n', 1, 'offset must be >= 0, got -2'),
    ('rawframe', dict(with_offset=True), 'd 2 5\n', 1, 'expected 4 fields'),
])
def test_malformed_lines_name_file_and_line(tmp_path, loader, kwargs, text, line, message):
    path = _write(tmp_path, text)
    load = load_video_list if loader == 'video' else load_rawframe_list
    with pytest.raises(AnnotationError) as info:
        load(path, **kwargs)
    error = str(info.value)
    assert error.startswith(f'{path}:{line}: ')
    assert re.search(message, error), error
    shown = text.splitlines()[line - 1]
    assert repr(shown) in error  # the offending line is shown


def test_error_counts_further_bad_lines(tmp_path):
    path = _write(tmp_path, 'a x\nb 1\nc y\nd z\n')
    with pytest.raises(AnnotationError, match=r':1: .*\(2 more malformed lines follow\)'):
        load_video_list(path)


def test_too_many_fields_hints_at_multi_class_and_tab(tmp_path):
    with pytest.raises(AnnotationError, match='multi_class=True.*TAB'):
        load_video_list(_write(tmp_path, 'my clip.mp4 3\n'))


@pytest.mark.parametrize('text', ['', '\n\n  \n'])
def test_empty_list_is_an_error(tmp_path, text):
    with pytest.raises(AnnotationError, match='holds no records'):
        load_video_list(_write(tmp_path, text))


def test_invalid_utf8_names_the_line(tmp_path):
    path = _write(tmp_path, b'a.mp4 1\nb\xff.mp4 2\n')
    with pytest.raises(AnnotationError, match=r':2: not valid UTF-8'):
        load_video_list(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_video_list(tmp_path / 'nope.txt')


# --- JSON lists ------------------------------------------------------------------------------

def test_json_list_rawframes(tmp_path):
    items = [dict(frame_dir='imgs', total_frames=5, label=[127], extra={'a': 1}),
             dict(frame_dir='/abs', total_frames=7, label=[3])]
    path = _write(tmp_path, json.dumps(items), 'list.json')
    records = load_json_list(path, data_prefix='root')
    assert records[0] == dict(frame_dir='root/imgs', total_frames=5, label=127, extra={'a': 1})
    assert records[1] == dict(frame_dir='/abs', total_frames=7, label=3)


def test_json_list_multi_label_videos(tmp_path):
    path = _write(tmp_path, json.dumps([dict(filename='a.mp4', label=[0, 2]),
                                        dict(filename='b.mp4', label=[1])]), 'list.json')
    records = load_json_list(path, multi_class=True, num_classes=3)
    assert [(r['filename'], r['label']) for r in records] == [('a.mp4', [0, 2]), ('b.mp4', [1])]


@pytest.mark.parametrize('items, message', [
    ([dict(filename='a', label=[1, 2])], 'record 0 .*2 labels in a single-label list'),
    ([dict(filename='a', label=[1]), dict(label=[1])], "record 1 .*non-empty string 'filename'"),
    ([dict(filename='a', label='x')], "'label' must be an int or a non-empty list of ints"),
    ([dict(filename='a', label=[9])], 'label 9 is out of range for num_classes=5'),
    ([], 'non-empty JSON list'),
    ({'a': 1}, 'non-empty JSON list'),
])
def test_json_list_errors(tmp_path, items, message):
    path = _write(tmp_path, json.dumps(items), 'list.json')
    with pytest.raises(AnnotationError, match=message) as info:
        load_json_list(path, num_classes=5)
    assert str(info.value).startswith(path)


def test_json_syntax_error_names_the_line(tmp_path):
    path = _write(tmp_path, '[\n {"filename": "a", "label": [1]},\n {oops}\n]', 'list.json')
    with pytest.raises(AnnotationError, match=r'list\.json:3: invalid JSON'):
        load_json_list(path)


def test_annotation_records_validate_their_arrays():
    paths = PackedStrings.from_strings(['a', 'b'])
    with pytest.raises(ValueError, match='1 labels for 2 records'):
        AnnotationRecords('filename', paths, np.array([1]))
    with pytest.raises(ValueError, match="path_key must be one of .*'audio_path'"):
        AnnotationRecords('path', paths, np.array([1, 2]))
    packed = PackedStrings.from_strings(['', 'ü', 'abc'])
    assert list(packed) == ['', 'ü', 'abc'] and packed[-1] == 'abc'
