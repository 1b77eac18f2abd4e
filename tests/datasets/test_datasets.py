import copy
import json
import logging
import os
import pickle

import numpy as np
import pytest
import torch
import yaml

from actionkit.datasets import (ConcatDataset, RawframeDataset, RepeatDataset, VideoDataset,
                                build_dataset)
from actionkit.datasets.annotations import AnnotationRecords
from actionkit.datasets.base import BaseDataset
from actionkit.datasets.errors import AnnotationError, BadSample, DataError, DecodeError


def _write(tmp_path, text, name='list.txt'):
    path = tmp_path / name
    path.write_text(text, encoding='utf-8')
    return str(path)


def _identity(results):
    return results


class _FailOn:
    """A transform that raises ``error`` for the listed paths."""

    def __init__(self, paths, error=DecodeError):
        self.paths, self.error = set(paths), error

    def __call__(self, results):
        path = results.get('filename', results.get('frame_dir'))
        if os.path.basename(path) in self.paths:
            raise self.error(f'cannot decode {path}', path)
        return results


# --- RawframeDataset / VideoDataset ----------------------------------------------------------

def test_rawframe_results_keys(annotations_dir):
    prefix = annotations_dir.parent  # an existing folder: resolved with realpath, as in 0.x
    dataset = RawframeDataset(annotations_dir / 'rawframe_test_list.txt', [_identity],
                              data_prefix=prefix)
    assert len(dataset) == 2
    results = dataset[0]
    assert results == dict(frame_dir=os.path.join(os.path.realpath(prefix), 'imgs'),
                           total_frames=5, label=127, modality='RGB', start_index=1,
                           filename_tmpl='img_{:05}.jpg')


def test_rawframe_with_offset_and_flow(annotations_dir):
    dataset = RawframeDataset(str(annotations_dir / 'rawframe_test_list_with_offset.txt'),
                              [_identity], with_offset=True, modality='Flow',
                              filename_tmpl='{}_{:05d}.jpg', test_mode=True)
    results = dataset[1]
    assert (results['offset'], results['total_frames']) == (2, 5)
    assert results['modality'] == 'Flow' and results['filename_tmpl'] == '{}_{:05d}.jpg'


def test_video_results_keys(annotations_dir):
    dataset = VideoDataset(annotations_dir / 'video_test_list.txt', [_identity])
    assert dataset[1] == dict(filename='test.mp4', label=0, modality='RGB', start_index=0)


def test_data_prefix_kept_when_not_a_directory(tmp_path):
    ann = _write(tmp_path, 'a.mp4 1\n/abs/b.mp4 2\n')
    dataset = VideoDataset(ann, [_identity], data_prefix='no/such/dir')
    assert dataset.data_prefix == 'no/such/dir'
    assert [dataset[i]['filename'] for i in range(2)] == ['no/such/dir/a.mp4', '/abs/b.mp4']


def test_data_prefix_symlink_resolved(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    (tmp_path / 'link').symlink_to(real)
    dataset = VideoDataset(_write(tmp_path, 'a.mp4 1\n'), [_identity],
                           data_prefix=tmp_path / 'link')
    assert dataset[0]['filename'] == os.path.join(os.path.realpath(real), 'a.mp4')


@pytest.mark.parametrize('cls', [RawframeDataset, VideoDataset])
def test_multi_label_becomes_multi_hot(annotations_dir, cls):
    name = 'rawframe' if cls is RawframeDataset else 'video'
    dataset = cls(annotations_dir / f'{name}_test_list_multi_label.txt', [_identity],
                  multi_class=True, num_classes=8)
    label = dataset[1]['label']
    expected = [0, 0, 0, 1, 0, 1, 0, 0] if cls is RawframeDataset else [1, 0, 1, 0, 1, 0, 0, 0]
    assert label.dtype == torch.float32 and label.tolist() == expected
    assert dataset[1]['num_classes'] == 8
    assert dataset.gt_labels()[1] == [i for i, v in enumerate(expected) if v]


def test_label_out_of_range_for_num_classes(annotations_dir):
    with pytest.raises(AnnotationError, match=r'multi_label\.txt:2: label 5 is out of range'):
        RawframeDataset(annotations_dir / 'rawframe_test_list_multi_label.txt', [_identity],
                        multi_class=True, num_classes=5)


def test_json_annotations(tmp_path):
    ann = _write(tmp_path, json.dumps([dict(frame_dir='x', total_frames=4, label=[2])]),
                 'list.json')
    dataset = RawframeDataset(ann, [_identity], data_prefix='p')
    assert dataset[0]['frame_dir'] == 'p/x' and dataset[0]['label'] == 2
    assert dataset[0]['total_frames'] == 4


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(multi_class=True), ValueError, 'multi_class=True needs num_classes'),
    (dict(multi_class=True, num_classes=3, sample_by_class=True), ValueError,
     'sample_by_class works only with single-label'),
    (dict(modality='Depth'), ValueError, "modality must be one of .*'Depth'"),
    (dict(num_classes=0), ValueError, 'num_classes must be a positive int'),
    (dict(start_index=-1), ValueError, 'start_index must be an int >= 0'),
    (dict(data_prefix=False), TypeError, 'data_prefix must be a path or None'),
    (dict(filename_tmpl=None), TypeError, 'filename_tmpl must be a str'),
])
def test_invalid_arguments(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        RawframeDataset(_write(tmp_path, 'd 3 1\n'), [_identity], **kwargs)


def test_build_from_config_names_the_class(tmp_path):
    cfg = dict(type='VideoDataset', ann_file=_write(tmp_path, 'a.mp4 1\n'), pipeline=[],
               modality='X')
    with pytest.raises(ValueError, match='VideoDataset.*modality'):
        build_dataset(cfg)


# --- bad samples -----------------------------------------------------------------------------

def test_bad_sample_skipped_in_train_mode(tmp_path, caplog):
    ann = _write(tmp_path, 'good.mp4 1\nbroken.mp4 2\n')
    dataset = VideoDataset(ann, [_FailOn({'broken.mp4'})], data_prefix='root')
    assert dataset[0]['filename'] == 'root/good.mp4'
    with caplog.at_level(logging.WARNING, logger='actionkit.datasets.base'):
        bad = dataset[1]
    assert isinstance(bad, BadSample)
    assert (bad.index, bad.path) == (1, 'root/broken.mp4')
    assert 'cannot decode' in bad.reason
    assert 'sample 1' in caplog.text and 'root/broken.mp4' in caplog.text


def test_bad_sample_without_path_uses_the_record_path(tmp_path):
    def fail(results):
        raise DataError('frames missing')

    dataset = RawframeDataset(_write(tmp_path, 'clip 3 1\n'), [fail])
    assert dataset[0] == BadSample(0, 'clip', 'frames missing')


def test_pipeline_returning_none_is_a_bad_sample(tmp_path):
    dataset = VideoDataset(_write(tmp_path, 'a.mp4 1\n'), [lambda results: None])
    assert dataset[0] == BadSample(0, 'a.mp4', 'a pipeline step returned None')


def test_bad_sample_raises_in_test_mode(tmp_path):
    ann = _write(tmp_path, 'broken.mp4 2\n')
    dataset = VideoDataset(ann, [_FailOn({'broken.mp4'})], test_mode=True)
    with pytest.raises(DecodeError, match='cannot decode'):
        dataset[0]


def test_other_errors_are_not_swallowed(tmp_path):
    dataset = VideoDataset(_write(tmp_path, 'a.mp4 1\n'), [_FailOn({'a.mp4'}, KeyError)])
    with pytest.raises(KeyError):
        dataset[0]


# --- compatibility: video_infos, custom subclasses -------------------------------------------

def test_video_infos_view(tmp_path):
    dataset = VideoDataset(_write(tmp_path, 'a.mp4 1\nb.mp4 2\n'), [_identity])
    infos = dataset.video_infos
    assert isinstance(infos, AnnotationRecords) and len(infos) == 2
    assert [info['filename'] for info in infos] == ['a.mp4', 'b.mp4']
    infos[0]['label'] = 7  # as with MMAction2's list: the edit sticks
    assert dataset[0]['label'] == 7 and dataset.gt_labels() == [7, 2]
    dataset[0]['label'] = 8  # the pipeline's results are a copy: the record stays 7
    assert infos[0]['label'] == 7


def test_rawframe_video_infos_equal_mmaction2_list(tmp_path):
    # MMAction2 0.24.1's RawframeDataset.load_annotations: frame_dir joined to the (realpath)
    # data_prefix, offset and total_frames as ints, label an int (a list when multi_class)
    prefix = tmp_path / 'frames'
    prefix.mkdir()
    real = os.path.realpath(prefix)
    ann = _write(tmp_path, 'v1 2 30 4\nv2 0 12 1\n')
    dataset = RawframeDataset(ann, [_identity], data_prefix=prefix, with_offset=True)
    expected = [dict(frame_dir=os.path.join(real, 'v1'), offset=2, total_frames=30, label=4),
                dict(frame_dir=os.path.join(real, 'v2'), offset=0, total_frames=12, label=1)]
    assert dataset.video_infos == expected and expected == dataset.video_infos
    assert dataset.video_infos.edited == frozenset()  # comparing keeps no dicts
    assert dataset.video_infos != expected[:1] and dataset.video_infos != [expected[1],
                                                                           expected[0]]
    multi = RawframeDataset(_write(tmp_path, 'v1 30 4 6\nv2 12 1\n', 'multi.txt'),
                            [_identity], multi_class=True, num_classes=8)
    assert multi.video_infos == [dict(frame_dir='v1', total_frames=30, label=[4, 6]),
                                 dict(frame_dir='v2', total_frames=12, label=[1])]
    assert multi.video_infos[:1] == [dict(frame_dir='v1', total_frames=30, label=[4, 6])]


def test_video_infos_post_processing_sticks_and_length_changes_fail_loudly(tmp_path):
    dataset = RawframeDataset(_write(tmp_path, 'v1 30 4\nv2 12 1\nv3 9 0\n'), [_identity])
    for info in dataset.video_infos:  # a 0.x custom dataset remapping its labels
        info['label'] = {4: 0, 1: 1, 0: 2}[info['label']]
        info['note'] = info['frame_dir'].upper()
    dataset.video_infos[2] = dict(frame_dir='v9', total_frames=5, label=1)
    assert dataset.gt_labels() == [0, 1, 1]
    assert [dataset[i]['label'] for i in range(3)] == [0, 1, 1]
    assert dataset[0]['note'] == 'V1' and dataset[2]['frame_dir'] == 'v9'
    assert dataset.video_infos[0] == dict(frame_dir='v1', total_frames=30, label=0, note='V1')
    for change in (lambda v: v.append({}), lambda v: v.pop(), lambda v: v.__delitem__(0),
                   lambda v: v.extend([{}])):
        with pytest.raises(TypeError, match='fixed number of records.*video_infos'):
            change(dataset.video_infos)
    with pytest.raises(TypeError, match='a record must be a dict'):
        dataset.video_infos[0] = 'v1 30 4'
    # assigning a list (the way to drop records) still works
    dataset.video_infos = [info for info in dataset.video_infos if info['label'] == 1]
    assert len(dataset) == 2 and dataset[1]['frame_dir'] == 'v9'
    # edits survive pickling (DataLoader workers under spawn)
    again = pickle.loads(pickle.dumps(RawframeDataset(_write(tmp_path, 'v1 3 4\n', 'b.txt'),
                                                      [_identity])))
    again.video_infos[0]['label'] = 2
    assert pickle.loads(pickle.dumps(again))[0]['label'] == 2


class _ListDataset(BaseDataset):
    """A 0.x-style custom dataset: load_annotations returns a list of dicts."""

    def load_annotations(self):
        infos = []
        with open(self.ann_file) as fin:
            for line in fin:
                name, frames, label = line.strip().split(',')
                infos.append(dict(frame_dir=name, total_frames=int(frames), label=int(label)))
        return infos


def test_custom_dataset_returning_dicts(tmp_path):
    def mutate(results):
        results['label'] = -1
        return results

    dataset = _ListDataset(_write(tmp_path, 'x,10,2\ny,12,0\n'), [mutate])
    assert dataset[1]['label'] == -1
    assert dataset.video_infos[1]['label'] == 0  # the pipeline works on a copy
    assert dataset.gt_labels() == [2, 0]


def test_load_annotations_must_return_records(tmp_path):
    class Wrong(BaseDataset):
        def load_annotations(self):
            return 42

    with pytest.raises(TypeError, match='Wrong.load_annotations.*got int'):
        Wrong(_write(tmp_path, 'x'), [])


def test_class_prob(tmp_path):
    ann = _write(tmp_path, 'a 1 0\nb 1 0\nc 1 0\nd 1 1\n')
    uniform_classes = RawframeDataset(ann, [], sample_by_class=True, power=0)
    assert uniform_classes.class_prob == pytest.approx({0: 0.5, 1: 0.5})
    uniform_clips = RawframeDataset(ann, [], sample_by_class=True, power=1)
    assert uniform_clips.class_prob == pytest.approx({0: 0.75, 1: 0.25})
    by_class = uniform_clips.parse_by_class()
    assert [info['frame_dir'] for info in by_class[0]] == ['a', 'b', 'c']


# --- evaluate / dump_results -----------------------------------------------------------------

def _scored_dataset(tmp_path, labels, **kwargs):
    text = ''.join(f'v{i}.mp4 {label}\n' for i, label in enumerate(labels))
    return VideoDataset(_write(tmp_path, text), [_identity], **kwargs)


def test_evaluate_checks_its_input(tmp_path):
    dataset = _scored_dataset(tmp_path, [0, 1])
    scores = [np.zeros(3), np.zeros(3)]
    with pytest.raises(TypeError, match='results must be a list'):
        dataset.evaluate(tuple(scores))
    with pytest.raises(ValueError, match='got 1 results for a dataset of 2 samples'):
        dataset.evaluate(scores[:1])
    with pytest.raises(KeyError, match="metric 'top1' is not supported"):
        dataset.evaluate(scores, metrics=['top1'])
    with pytest.raises(ValueError, match='needs num_classes'):
        dataset.evaluate(scores, metrics='mean_average_precision')


def _needs_metrics():
    from actionkit.evaluation import recognition
    if not hasattr(recognition, 'top_k_accuracy'):
        pytest.skip('actionkit.evaluation.recognition is not written yet')


def test_evaluate_top_k_and_mean_class_accuracy(tmp_path):
    _needs_metrics()
    dataset = _scored_dataset(tmp_path, [0, 1, 2, 2])
    scores = [np.array([.9, .05, .05]), np.array([.1, .2, .7]), np.array([.1, .1, .8]),
              np.array([.6, .3, .1])]  # correct: yes, no (2nd), yes, no (3rd)
    result = dataset.evaluate(scores, metrics=['top_k_accuracy', 'mean_class_accuracy'],
                              metric_options=dict(top_k_accuracy=dict(topk=(1, 2))))
    assert list(result) == ['top1_acc', 'top2_acc', 'mean_class_accuracy']
    assert result['top1_acc'] == pytest.approx(0.5)
    assert result['top2_acc'] == pytest.approx(0.75)
    assert result['mean_class_accuracy'] == pytest.approx((1 + 0 + 0.5) / 3)
    with pytest.warns(UserWarning, match='deprecated'):
        old_style = dataset.evaluate(scores, topk=1, logger='silent')
    assert list(old_style) == ['top1_acc']


def test_evaluate_mean_average_precision(tmp_path):
    _needs_metrics()
    text = 'a.mp4 0 1\nb.mp4 1\nc.mp4 0\n'
    dataset = VideoDataset(_write(tmp_path, text), [_identity], multi_class=True,
                           num_classes=2)
    perfect = [np.array([.9, .8]), np.array([.1, .7]), np.array([.8, .2])]
    result = dataset.evaluate(perfect, metrics=['mean_average_precision',
                                                'mmit_mean_average_precision'])
    assert result['mean_average_precision'] == pytest.approx(1.0)
    assert result['mmit_mean_average_precision'] == pytest.approx(1.0)


@pytest.mark.parametrize('suffix', ['.json', '.yaml', '.pkl'])
def test_dump_results(tmp_path, suffix):
    results = [np.array([0.25, 0.75], dtype=np.float32), np.array([1.0, 0.0])]
    out = tmp_path / f'results{suffix}'
    BaseDataset.dump_results(results, str(out))
    if suffix == '.json':
        loaded = json.loads(out.read_text())
    elif suffix == '.yaml':
        loaded = yaml.safe_load(out.read_text())
    else:
        loaded = [a.tolist() for a in pickle.loads(out.read_bytes())]
    assert loaded == [[0.25, 0.75], [1.0, 0.0]]


def test_dump_results_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"results\.txt.*\.json, \.yaml"):
        BaseDataset.dump_results([1], str(tmp_path / 'results.txt'))


# --- wrappers --------------------------------------------------------------------------------

def _video_cfg(tmp_path, names, list_name):
    text = ''.join(f'{name}.mp4 {i}\n' for i, name in enumerate(names))
    return dict(type='VideoDataset', ann_file=_write(tmp_path, text, list_name),
                pipeline=[_identity])


def test_repeat_dataset(tmp_path):
    cfg = dict(type='RepeatDataset', times=3, dataset=_video_cfg(tmp_path, 'ab', 'a.txt'))
    original = copy.deepcopy(cfg)
    dataset = build_dataset(cfg, dict(test_mode=True))
    assert isinstance(dataset, RepeatDataset) and len(dataset) == 6
    assert [dataset[i]['filename'] for i in range(6)] == ['a.mp4', 'b.mp4'] * 3
    assert dataset[-1]['filename'] == 'b.mp4'
    assert dataset.dataset.test_mode is True
    assert cfg == original  # the config is not changed
    with pytest.raises(IndexError):
        dataset[6]
    with pytest.raises(ValueError, match='RepeatDataset: times must be a positive int'):
        RepeatDataset(cfg['dataset'], times=0)


def test_concat_dataset(tmp_path):
    first, second = _video_cfg(tmp_path, 'ab', 'a.txt'), _video_cfg(tmp_path, 'xyz', 'x.txt')
    dataset = build_dataset(dict(type='ConcatDataset', datasets=[first, second]))
    assert isinstance(dataset, ConcatDataset) and len(dataset) == 5
    names = [dataset[i]['filename'] for i in range(5)]
    assert names == ['a.mp4', 'b.mp4', 'x.mp4', 'y.mp4', 'z.mp4']
    assert dataset[-3]['filename'] == 'x.mp4'
    with pytest.raises(IndexError):
        dataset[5]


def test_list_of_configs_is_concatenated(tmp_path):
    cfgs = [_video_cfg(tmp_path, 'ab', 'a.txt'), _video_cfg(tmp_path, 'x', 'x.txt')]
    dataset = build_dataset(cfgs, dict(test_mode=True))
    assert isinstance(dataset, ConcatDataset) and len(dataset) == 3
    assert all(child.test_mode for child in dataset.datasets)
    assert 'test_mode' not in cfgs[0]


def test_wrappers_accept_built_datasets(tmp_path):
    built = build_dataset(_video_cfg(tmp_path, 'ab', 'a.txt'))
    repeated = RepeatDataset(built, times=2)
    assert repeated.dataset is built and len(repeated) == 4
    assert len(ConcatDataset([built, repeated])) == 6
