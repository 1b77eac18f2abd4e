"""inference_recognizer on media the suite makes itself (a synthetic mp4 and a rawframe folder),
so that a bare clone without ``../shared/data`` still checks what matters: the top 5, best
first, equal to a forward done by hand; video, rawframe, results-dict and array inputs; and
``data_prefix``. test_inference.py adds the same checks on real media when it is there.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
from torch import nn

from actionkit.apis import inference_recognizer, init_recognizer
from actionkit.datasets.pipelines import Compose
from actionkit.datasets.pipelines.decoders import get_reader_class
from actionkit.datasets.synthetic import render_synthetic_clip
from actionkit.datasets.prep.video_io import write_video

# the small derived configs and random checkpoints of test_inference.py (one definition)
_spec = importlib.util.spec_from_file_location('_inference_tests',
                                               Path(__file__).with_name('test_inference.py'))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
FRAMES_CONFIG, VIDEO_CONFIG = _helpers.FRAMES_CONFIG, _helpers.VIDEO_CONFIG
_save_checkpoint, _small_config = _helpers._save_checkpoint, _helpers._small_config
NUM_FRAMES = 24


@pytest.fixture(scope='module')
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp('selfmade')
    frames = render_synthetic_clip(3, 5, num_frames=NUM_FRAMES, size=64)  # T x 64 x 64 x 3
    write_video(root / 'clip.mp4', frames, fps=25, gop=6, crf=18)
    folder = root / 'clip_frames'
    folder.mkdir()
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f'img_{i:05}.jpg'), frame[..., ::-1])
    ten_crop = "dict(type='TenCrop', crop_size=56)"
    video = _small_config(root / 'video.py', VIDEO_CONFIG, 'PyAV', ten_crop)
    return dict(
        root=root, video=root / 'clip.mp4', folder=folder, video_config=video,
        frames_config=_small_config(root / 'frames.py', FRAMES_CONFIG, None,
                                    "dict(type='ThreeCrop', crop_size=64)"),
        checkpoint=_save_checkpoint(video, root / 'tsn_r18.pth'))


@pytest.fixture(scope='module')
def model(media: dict[str, Path]) -> nn.Module:
    return init_recognizer(str(media['video_config']), str(media['checkpoint']), device='cpu')


def _all_scores(model: nn.Module, results: dict) -> np.ndarray:
    data = Compose(model.cfg.data.test.pipeline)(results)
    return model(data['imgs'][None], return_loss=False)[0]


def _check_top5(top5: list, scores: np.ndarray) -> None:
    assert len(top5) == 5 and len(scores) == 400
    values = [score for _, score in top5]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    indices = [k for k, _ in top5]
    best = sorted(range(len(scores)), key=lambda k: -scores[k])[:5]
    assert indices == best
    assert values == pytest.approx([float(scores[k]) for k in best], rel=1e-6)
    others = np.delete(scores, indices)
    assert values[-1] >= others.max()


def test_top5_of_a_video_is_best_first(model: nn.Module, media: dict[str, Path]) -> None:
    top5 = inference_recognizer(model, str(media['video']))
    scores = _all_scores(model, dict(filename=str(media['video']), label=-1, start_index=0,
                                     modality='RGB'))
    _check_top5(top5, scores)
    labels = [f'class {i}' for i in range(400)]
    assert inference_recognizer(model, str(media['video']), labels) == top5


def test_results_dict_and_array_inputs_agree(model: nn.Module, media: dict[str, Path]) -> None:
    expected = inference_recognizer(model, str(media['video']))
    results = dict(filename=str(media['video']), label=-1, start_index=0, modality='RGB')
    assert inference_recognizer(model, results) == expected
    assert 'imgs' not in results
    reader = get_reader_class('pyav')(str(media['video']))
    try:
        array = np.stack(reader.get_frames(np.arange(len(reader))))
    finally:
        reader.close()
    assert array.shape == (NUM_FRAMES, 64, 64, 3)
    assert inference_recognizer(model, array) == expected


def test_rawframe_folder_relative_to_the_working_directory(media: dict[str, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    frames = init_recognizer(str(media['frames_config']), str(media['checkpoint']),
                             device='cpu')
    top5 = inference_recognizer(frames, str(media['folder']), use_frames=True)
    scores = _all_scores(frames, dict(frame_dir=str(media['folder']), total_frames=NUM_FRAMES,
                                      label=-1, start_index=1, filename_tmpl='img_{:05}.jpg',
                                      modality='RGB'))
    _check_top5(top5, scores)
    assert inference_recognizer(frames, str(media['folder'])) == top5  # found as a folder
    # a relative folder is taken as given, from the working directory, never joined to the
    # config's data_prefix (MMAction2 0.24.1)
    frames.cfg.data.test.data_prefix = str(media['root'])
    with pytest.raises(FileNotFoundError, match="'clip_frames' is not a frame folder"):
        inference_recognizer(frames, 'clip_frames', use_frames=True)
    monkeypatch.chdir(media['root'])
    assert inference_recognizer(frames, 'clip_frames', use_frames=True) == top5
    with pytest.raises(FileNotFoundError, match='not a frame folder'):
        inference_recognizer(frames, str(media['video']), use_frames=True)
