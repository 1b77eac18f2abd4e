"""AudioDataset and AudioFeatureDataset: MMAction2's lists, the suffix rule, bad files."""
from __future__ import annotations

import numpy as np
import pytest

from actionkit.datasets import AudioDataset, AudioFeatureDataset, build_dataset
from actionkit.datasets.synthetic_audio import write_wav
from actionkit.errors import AnnotationError, BadSample

FEATURE_PIPELINE = [
    dict(type='LoadAudioFeature'),
    dict(type='SampleFrames', clip_len=4, frame_interval=1, num_clips=1, test_mode=True),
    dict(type='AudioFeatureSelector', fixed_length=6),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='Collect', keys=['audios', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['audios']),
]


def test_mmaction_test_lists(annotations_dir):
    data = annotations_dir.parent.resolve()  # BaseDataset resolves an existing data_prefix
    audio = AudioDataset(annotations_dir / 'audio_test_list.txt', [], data_prefix=data)
    assert len(audio) == 2 and audio.modality == 'Audio' and audio.start_index == 1
    assert audio.get_info(0) == dict(audio_path=str(data / 'test.wav'), total_frames=100,
                                     label=127)
    feats = AudioFeatureDataset(annotations_dir / 'audio_feature_test_list.txt', [],
                                data_prefix=data)
    assert feats.get_info(1)['audio_path'] == str(data / 'test.npy')  # 'test' + '.npy'


def test_suffix_only_with_a_prefix(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text('a 10 0\nb.wav 10 1\nc.npy 10 1\n')
    with_prefix = AudioDataset(ann, [], data_prefix=tmp_path)
    assert [with_prefix.get_info(i)['audio_path'] for i in range(3)] == [
        str(tmp_path / 'a.wav'), str(tmp_path / 'b.wav'), str(tmp_path / 'c.npy.wav')]
    assert [AudioDataset(ann, []).get_info(i)['audio_path'] for i in range(3)] == [
        'a', 'b.wav', 'c.npy']
    custom = AudioFeatureDataset(ann, [], data_prefix=tmp_path, suffix='.feat')
    assert custom.get_info(0)['audio_path'] == str(tmp_path / 'a.feat')


def test_malformed_line_names_file_and_line(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text('a.wav 10 0\nb.wav 1\n')  # the second line lacks total_frames or label
    with pytest.raises(AnnotationError, match=r'list.txt:2'):
        AudioDataset(ann, [])


def test_feature_dataset_end_to_end(tmp_path):
    # 20 rows for 10 frames: the test clip is frames 3..6 of 0..9 (centred), 4..7 with
    # start_index 1 -> rows round(5 / 10 * 20) = 10 to round(8 / 10 * 20) = 16 -> rows 10..15
    np.save(tmp_path / 'x.npy', np.arange(40, dtype=np.float32).reshape(20, 2))
    (tmp_path / 'list.txt').write_text('x 10 1\n')
    dataset = build_dataset(dict(type='AudioFeatureDataset', ann_file=str(tmp_path / 'list.txt'),
                                 data_prefix=str(tmp_path), pipeline=FEATURE_PIPELINE,
                                 test_mode=True))
    sample = dataset[0]
    assert sample['audios'].shape == (1, 1, 6, 2) and sample['label'] == 1
    assert sample['audios'][0, 0, :, 0].tolist() == [20, 22, 24, 26, 28, 30]


def test_bad_feature_file_is_skipped_in_training(tmp_path):
    np.save(tmp_path / 'bad.npy', np.zeros(5, np.float32))
    (tmp_path / 'list.txt').write_text('bad 10 0\n')
    train = AudioFeatureDataset(tmp_path / 'list.txt', FEATURE_PIPELINE, data_prefix=tmp_path)
    sample = train[0]
    assert isinstance(sample, BadSample) and sample.path.endswith('bad.npy')
    assert '2-D' in sample.reason


def test_audio_dataset_decodes(tmp_path):
    write_wav(tmp_path / 'tone.wav', 0.5 * np.sin(np.arange(16000) / 3), 16000)
    (tmp_path / 'list.txt').write_text('tone 30 0\n')
    pipeline = [dict(type='AudioDecodeInit'),
                dict(type='SampleFrames', clip_len=8, frame_interval=1, num_clips=3,
                     test_mode=True),
                dict(type='AudioDecode', fixed_length=4000),
                dict(type='MelSpectrogram', fixed_length=20, n_mels=40),
                dict(type='FormatAudioShape', input_format='NCTF')]
    out = AudioDataset(tmp_path / 'list.txt', pipeline, data_prefix=tmp_path, test_mode=True)[0]
    assert out['audios'].shape == (3, 1, 20, 40)
    assert out['audios'].max() > 0
