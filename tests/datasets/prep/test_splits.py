"""Tests of the official split parsers (actionkit/datasets/prep/splits.py) on tiny annotation files
written in the datasets' own formats."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from actionkit.errors import AnnotationError
from actionkit.datasets.prep.splits import (SPLIT_DATASETS, kinetics_class_name,
                                            parse_hmdb51_splits, parse_jester_splits,
                                            parse_kinetics_splits, parse_official_splits,
                                            parse_sthv1_splits, parse_sthv2_splits,
                                            parse_ucf101_splits)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from split_annotations import (K_HEADER, hmdb51_annotations,  # noqa: E402
                               kinetics_annotations, ucf101_annotations)
from split_annotations import write_files as _write  # noqa: E402


# ----------------------------------------------------------------------------- UCF101


def test_ucf101_splits(tmp_path):
    ann = ucf101_annotations(tmp_path)
    parsed = parse_ucf101_splits(ann)
    assert parsed.classes == ['ApplyEyeMakeup', 'ApplyLipstick', 'HandstandPushups']
    assert len(parsed.splits) == 3
    assert parsed.splits[1] == dict(
        train=[('ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01', 0),
               ('HandstandPushups/v_HandStandPushups_g02_c02', 2)],
        val=[('ApplyLipstick/v_ApplyLipstick_g02_c01', 1),
             ('ApplyEyeMakeup/v_ApplyEyeMakeup_g12_c04', 0)])
    flat = parse_ucf101_splits(ann, level=1, num_split=1)
    assert len(flat.splits) == 1
    assert flat.splits[0]['train'] == [('v_ApplyEyeMakeup_g01_c01', 0),
                                       ('v_HandStandPushups_g01_c02', 2)]


def test_ucf101_errors_name_file_and_line(tmp_path):
    ann = ucf101_annotations(tmp_path)
    (ann / 'testlist02.txt').write_text('ApplyLipstick/a.avi\nJuggling/v_Juggling_g01_c01.avi\n')
    with pytest.raises(AnnotationError, match=r"testlist02.txt:2: class folder 'Juggling'"):
        parse_ucf101_splits(ann)
    (ann / 'trainlist01.txt').write_text('ApplyLipstick/a.avi one\n')
    with pytest.raises(AnnotationError, match=r'trainlist01.txt:1: expected'):
        parse_ucf101_splits(ann)
    (ann / 'classInd.txt').write_text('1 ApplyEyeMakeup\nApplyLipstick\n')
    with pytest.raises(AnnotationError, match=r'classInd.txt:2: expected "<index from 1>'):
        parse_ucf101_splits(ann)
    (ann / 'classInd.txt').unlink()
    with pytest.raises(FileNotFoundError, match='classInd.txt'):
        parse_ucf101_splits(ann)
    with pytest.raises(ValueError, match='ucf101 has 3 official splits'):
        parse_ucf101_splits(ann, num_split=4)


# ----------------------------------------------------------------------------- HMDB51


def test_hmdb51_splits(tmp_path):
    ann = hmdb51_annotations(tmp_path)
    parsed = parse_hmdb51_splits(ann)
    assert parsed.classes == ['brush_hair', 'wave']  # alphabetical, as MMAction2 numbers them
    assert parsed.splits[2] == dict(train=[('brush_hair/b3_b', 0), ('wave/w3_a', 1)],
                                    val=[('brush_hair/b3_a', 0), ('wave/w3_b', 1)])
    assert parse_hmdb51_splits(ann, level=1, num_split=1).splits[0]['train'] == [
        ('b1_b', 0), ('w1_a', 1)]
    (ann / 'classInd.txt').write_text('1 wave\n2 brush_hair\n')  # an existing index wins
    assert parse_hmdb51_splits(ann).splits[0]['val'] == [('wave/w1_b', 0),
                                                         ('brush_hair/b1_a', 1)]


def test_hmdb51_errors(tmp_path):
    ann = hmdb51_annotations(tmp_path)
    (ann / 'wave_test_split2.txt').write_text('w2_a.avi 1\nw2_b.avi 3\n')
    with pytest.raises(AnnotationError, match=r'wave_test_split2.txt:2: expected'):
        parse_hmdb51_splits(ann)
    hmdb51_annotations(ann)
    (ann / 'wave_test_split3.txt').unlink()
    assert len(parse_hmdb51_splits(ann, num_split=2).splits) == 2
    with pytest.raises(FileNotFoundError, match='wave_test_split3.txt'):
        parse_hmdb51_splits(ann, num_split=3)
    with pytest.raises(FileNotFoundError, match='annotation folder not found'):
        parse_hmdb51_splits(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='no <class>_test_split1.txt files'):
        parse_hmdb51_splits(_write(tmp_path / 'empty', {}))


# ----------------------------------------------------------------------------- Kinetics


def test_kinetics_splits(tmp_path):
    ann = kinetics_annotations(tmp_path)
    parsed = parse_kinetics_splits(ann, dataset='kinetics400')
    # sorted after normalisation: 'air_drumming' < 'passing_American...' < 'zumba'
    assert parsed.classes == ['air drumming', 'passing American football (in game)', 'zumba']
    assert parsed.splits == [dict(
        train=[('zumba/aaa_000003_000013', 2), ('air_drumming/bbb_000000_000010', 0),
               ('passing_American_football_(in_game)/ccc_000100_000110', 1)],
        val=[('air_drumming/ddd_000001_000011', 0), ('zumba/eee_123456_123466', 2)],
        test=[('fff_000005_000015', -1)])]
    flat = parse_official_splits('kinetics700', kinetics_annotations(tmp_path / 'k', False),
                                 level=1)
    assert flat.dataset == 'kinetics700' and 'test' not in flat.splits[0]
    assert flat.splits[0]['val'][1] == ('eee_123456_123466', 2)
    assert kinetics_class_name('"tying tie"') == 'tying_tie'


def test_kinetics_errors(tmp_path):
    ann = kinetics_annotations(tmp_path)
    (ann / 'kinetics_val.csv').write_text(K_HEADER + 'zumba,x,1,11,val,0\nskiing,y,1,11,val,0\n')
    with pytest.raises(AnnotationError, match=r"kinetics_val.csv:3: class 'skiing'"):
        parse_kinetics_splits(ann)
    (ann / 'kinetics_val.csv').write_text(K_HEADER + 'zumba,x,one,11,val,0\n')
    with pytest.raises(AnnotationError, match=r'kinetics_val.csv:2: time_start'):
        parse_kinetics_splits(ann)
    (ann / 'kinetics_val.csv').write_text(K_HEADER + 'zumba,x\n')
    with pytest.raises(AnnotationError, match=r'kinetics_val.csv:2: expected 6 columns'):
        parse_kinetics_splits(ann)
    (ann / 'kinetics_train.csv').write_text('zumba,aaa,3,13,train\n')  # no header
    with pytest.raises(AnnotationError, match=r'kinetics_train.csv:1: expected a header'):
        parse_kinetics_splits(ann)


# ----------------------------------------------------------------------------- Something-Something


def test_sthv1_and_jester_splits(tmp_path):
    labels = 'Holding something\nPushing something from left to right\n'
    ann = _write(tmp_path, {
        'something-something-v1-labels.csv': labels,
        'something-something-v1-train.csv': '1;Pushing something from left to right\n2;Holding '
        'something\n',
        'something-something-v1-validation.csv': '7;Holding something\n',
        'something-something-v1-test.csv': '9\n10\n'})
    parsed = parse_sthv1_splits(ann)
    assert parsed.classes == ['Holding something', 'Pushing something from left to right']
    assert parsed.splits == [dict(train=[('1', 1), ('2', 0)], val=[('7', 0)],
                                  test=[('9', -1), ('10', -1)])]
    _write(tmp_path, {'something-something-v1-validation.csv': '7;Holding\n'})
    with pytest.raises(AnnotationError, match=r"validation.csv:1: class 'Holding' is not in"):
        parse_sthv1_splits(ann)
    _write(tmp_path, {'jester-v1-labels.csv': 'Swiping Left\nNo gesture\n',
                      'jester-v1-train.csv': '34870;No gesture\n',
                      'jester-v1-validation.csv': '9223;Swiping Left\n'})
    assert parse_jester_splits(ann).splits == [dict(train=[('34870', 1)],
                                                    val=[('9223', 0)])]


def test_sthv2_splits(tmp_path):
    labels = {'Holding something next to something': '1', 'Putting something on a surface': '0'}
    train = [{'id': '78687', 'label': 'holding potato next to vicks vaporub bottle',
              'template': 'Holding [something] next to [something]',
              'placeholders': ['potato', 'vicks vaporub bottle']},
             {'id': '42326', 'label': 'putting a pen on a table',
              'template': 'Putting [something] on a surface', 'placeholders': ['a pen']}]
    ann = _write(tmp_path, {
        'something-something-v2-labels.json': json.dumps(labels),
        'something-something-v2-train.json': json.dumps(train),
        'something-something-v2-validation.json': json.dumps(train[1:]),
        'something-something-v2-test.json': json.dumps([{'id': '1420'}])})
    parsed = parse_sthv2_splits(ann)
    assert parsed.classes == ['Putting something on a surface',
                              'Holding something next to something']
    assert parsed.splits == [dict(train=[('78687', 1), ('42326', 0)], val=[('42326', 0)],
                                  test=[('1420', -1)])]
    bad = [{'id': '5', 'template': 'Spinning [something]'}]
    _write(tmp_path, {'something-something-v2-validation.json': json.dumps(bad)})
    with pytest.raises(AnnotationError, match=r"clip #0 \(id 5\): template 'Spinning something'"):
        parse_sthv2_splits(ann)
    _write(tmp_path, {'something-something-v2-validation.json': '[{"id": "5"}]'})
    with pytest.raises(AnnotationError, match=r"validation.json: clip #0: expected an object"):
        parse_sthv2_splits(ann)
    _write(tmp_path, {'something-something-v2-validation.json': '[{"id": "5",'})
    with pytest.raises(AnnotationError, match=r'validation.json:1: not valid JSON'):
        parse_sthv2_splits(ann)


def test_parse_official_splits_validates(tmp_path):
    assert set(SPLIT_DATASETS) >= {'ucf101', 'hmdb51', 'kinetics400', 'kinetics600',
                                   'kinetics700', 'sthv1', 'sthv2'}
    with pytest.raises(ValueError, match="unknown dataset 'ucf"):
        parse_official_splits('ucf', tmp_path)
    with pytest.raises(ValueError, match='single official split: use --num-split 1'):
        parse_official_splits('sthv2', tmp_path, num_split=3)
    with pytest.raises(ValueError, match='level'):
        parse_official_splits('ucf101', ucf101_annotations(tmp_path), level=3)
