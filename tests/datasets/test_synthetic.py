"""Tests of the synthetic action dataset (actionkit/datasets/synthetic.py)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from actionkit.datasets.synthetic import (DIFFICULTIES, SYNTHETIC_CLASSES, SYNTHETIC_TWINS,
                                          SyntheticDifficulty, make_synthetic_dataset,
                                          make_synthetic_video, render_synthetic_clip,
                                          synthetic_dataset_status, synthetic_params)
from actionkit.datasets.prep.video_io import read_video

TINY = dict(num_train=20, num_val=10, num_frames=8, size=32, workers=1)


def _read_rawframes(frame_dir: Path) -> np.ndarray:
    files = sorted(frame_dir.glob('img_*.jpg'))
    return np.stack([cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files])


def _lines(path: str) -> list[list[str]]:
    return [line.split() for line in Path(path).read_text().splitlines()]


# ----------------------------------------------------------------------------- classes


def test_classes_come_in_reversed_pairs():
    assert len(SYNTHETIC_CLASSES) >= 10
    assert len(set(SYNTHETIC_CLASSES)) == len(SYNTHETIC_CLASSES)
    twins = {label for pair in SYNTHETIC_TWINS for label in pair}
    assert len(twins) >= len(SYNTHETIC_CLASSES) / 2
    for a, b in SYNTHETIC_TWINS:
        clip_a = render_synthetic_clip(a, 11, num_frames=8, size=32)
        clip_b = render_synthetic_clip(b, 11, num_frames=8, size=32)
        np.testing.assert_array_equal(clip_b, clip_a[::-1])
        assert not np.array_equal(clip_a, clip_b)


def _centroid(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[:alpha.shape[1], :alpha.shape[2]]
    mass = alpha.sum((1, 2))
    return (alpha * xs).sum((1, 2)) / mass, (alpha * ys).sum((1, 2)) / mass


def _orientation(alpha: np.ndarray) -> np.ndarray:
    """Angle of the principal axis of each frame's object mask, in image coordinates."""
    cx, cy = _centroid(alpha)
    ys, xs = np.mgrid[:alpha.shape[1], :alpha.shape[2]]
    dx, dy = xs[None] - cx[:, None, None], ys[None] - cy[:, None, None]
    mxx, myy, mxy = ((alpha * d).sum((1, 2)) for d in (dx * dx, dy * dy, dx * dy))
    return 0.5 * np.arctan2(2 * mxy, mxx - myy)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_class_names_describe_the_motion(seed):
    """Measured on the object's mask, each class moves the way its name says."""
    def track(label: int) -> np.ndarray:
        _, alpha = render_synthetic_clip(label, seed, num_frames=12, size=64, difficulty='easy',
                                         return_alpha=True)
        return alpha

    by_name = {name: track(i) for i, name in enumerate(SYNTHETIC_CLASSES)}
    x_right, _ = _centroid(by_name['square moving right'])
    x_left, _ = _centroid(by_name['square moving left'])
    assert np.all(np.diff(x_right) > 0) and np.all(np.diff(x_left) < 0)
    _, y_down = _centroid(by_name['disc moving down'])
    _, y_up = _centroid(by_name['disc moving up'])
    assert np.all(np.diff(y_down) > 0) and np.all(np.diff(y_up) < 0)
    # clockwise on screen (y pointing down) is an increasing angle; the turn is < 180 degrees
    turn_cw = np.diff(np.unwrap(2 * _orientation(by_name['bar rotating clockwise'])) / 2)
    turn_acw = np.diff(np.unwrap(2 * _orientation(by_name['bar rotating anticlockwise'])) / 2)
    assert np.all(turn_cw > 0) and np.all(turn_acw < 0)
    area_grow = by_name['diamond growing'].sum((1, 2))
    area_shrink = by_name['diamond shrinking'].sum((1, 2))
    assert np.all(np.diff(area_grow) > 0) and np.all(np.diff(area_shrink) < 0)
    shown_in = by_name['triangle appearing'].sum((1, 2))
    shown_out = by_name['triangle vanishing'].sum((1, 2))
    assert shown_in[0] < 0.05 * shown_in[-1] and np.all(np.diff(shown_in) >= 0)
    assert shown_out[-1] < 0.05 * shown_out[0] and np.all(np.diff(shown_out) <= 0)


def _average_features(label: int, count: int, seed_offset: int) -> np.ndarray:
    """Per clip, features of its frame average: the mean colour, and the mass, centre and
    spread of the time-averaged object mask. Returns ``[count, 9]``."""
    rows = []
    ys, xs = np.mgrid[:24, :24]
    for i in range(count):
        clip, alpha = render_synthetic_clip(label, seed_offset + i, num_frames=8, size=24,
                                            return_alpha=True)
        smear = alpha.mean(0)  # where the object is, on average over the clip
        mass = smear.sum()
        cx, cy = (smear * xs).sum() / mass, (smear * ys).sum() / mass
        spread_x = (smear * (xs - cx) ** 2).sum() / mass
        spread_y = (smear * (ys - cy) ** 2).sum() / mass
        rows.append([*clip.mean((0, 1, 2)), mass, cx, cy, spread_x, spread_y, smear.max()])
    return np.array(rows)


def _max_abs_z(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |z| over features of the difference of the two sample means."""
    stderr = np.sqrt(a.var(0, ddof=1) / len(a) + b.var(0, ddof=1) / len(b))
    return float(np.max(np.abs(a.mean(0) - b.mean(0)) / stderr))


def test_twins_have_the_same_frame_average_distribution():
    """Over independent samples, the clip-average statistics of the two classes of a pair
    agree (|z| small for all 9 features), while classes of different pairs differ."""
    count = 150
    feats = {label: _average_features(label, count, 1000 * label) for label in range(6)}
    for a, b in ((0, 1), (2, 3), (4, 5)):
        assert _max_abs_z(feats[a], feats[b]) < 4.0, (a, b)
    # the statistic has power: a horizontal and a vertical motion smear the object differently
    assert _max_abs_z(feats[0], feats[3]) > 6.0
    assert _max_abs_z(feats[1], feats[2]) > 6.0


def test_difficulty_knobs():
    easy = render_synthetic_clip(0, 3, num_frames=4, size=32, difficulty='easy')
    hard = render_synthetic_clip(0, 3, num_frames=4, size=32, difficulty='hard')
    # pixel noise: frame-to-frame differences far from the object are larger when harder
    assert np.abs(np.diff(hard.astype(int), axis=0)).mean() > \
        np.abs(np.diff(easy.astype(int), axis=0)).mean()
    quiet = SyntheticDifficulty(noise_std=0.0, texture_prob=0.0)
    clip, alpha = render_synthetic_clip(8, 5, num_frames=6, size=32, difficulty=quiet,
                                        return_alpha=True)
    background = alpha.sum((1, 2)) == 0  # frames where the triangle has not appeared yet
    assert background.any()
    first = np.flatnonzero(background)
    np.testing.assert_array_equal(clip[first], np.broadcast_to(clip[first[0]], clip[first].shape))
    with pytest.raises(ValueError, match='object_size'):
        SyntheticDifficulty(object_size=(0.2, 0.1))
    with pytest.raises(ValueError, match='difficulty'):
        render_synthetic_clip(0, 0, difficulty='impossible')
    with pytest.raises(ValueError, match='label'):
        render_synthetic_clip(len(SYNTHETIC_CLASSES), 0)
    assert set(DIFFICULTIES) == {'easy', 'default', 'hard'}


# ----------------------------------------------------------------------------- on disk


def test_session_fixture_layout(synthetic_data):
    root = Path(synthetic_data['root'])
    manifest = json.loads(Path(synthetic_data['manifest']).read_text())
    params = manifest['params']
    assert manifest['complete'] and manifest['classes'] == list(SYNTHETIC_CLASSES)
    assert Path(synthetic_data['label_map']).read_text().splitlines() == list(SYNTHETIC_CLASSES)
    for split in ('train', 'val'):
        videos = _lines(synthetic_data[f'{split}_list_videos'])
        frames = _lines(synthetic_data[f'{split}_list_rawframes'])
        assert len(videos) == len(frames) == params[f'num_{split}']
        for (path, label), (frame_dir, total, label2) in zip(videos, frames):
            assert label == label2 and path.split('/')[0] == \
                SYNTHETIC_CLASSES[int(label)].replace(' ', '_')
            assert (root / 'videos' / path).is_file()
            assert int(total) == params['num_frames']
            assert len(list((root / 'rawframes' / frame_dir).glob('img_*.jpg'))) == int(total)
            assert (root / 'rawframes' / frame_dir / f'img_{int(total):05d}.jpg').is_file()


def test_classes_are_balanced(synthetic_data):
    for split in ('train', 'val'):
        counts = Counter(int(label) for _, label in _lines(synthetic_data[f'{split}_list_videos']))
        assert set(counts) == set(range(len(SYNTHETIC_CLASSES)))
        assert max(counts.values()) - min(counts.values()) <= 1


def test_videos_decode_and_match_rawframes(synthetic_data):
    import av

    params = json.loads(Path(synthetic_data['manifest']).read_text())['params']
    videos = _lines(synthetic_data['val_list_videos'])[:3]
    frames = _lines(synthetic_data['val_list_rawframes'])[:3]
    clips = []
    for (path, _label), (frame_dir, _, _) in zip(videos, frames):
        video_path = Path(synthetic_data['videos_root'], path)
        with av.open(str(video_path)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == 'h264'
            assert stream.codec_context.pix_fmt == 'yuv420p'
            keyframes = sum(p.is_keyframe for p in container.demux(stream) if p.size)
        assert keyframes == -(-params['num_frames'] // params['gop'])
        clip = read_video(video_path)
        assert clip.shape == (params['num_frames'], params['size'], params['size'], 3)
        raw = _read_rawframes(Path(synthetic_data['rawframes_root'], frame_dir))
        assert raw.shape == clip.shape
        # H.264 and JPEG are lossy and the clips are noisy: close, not equal
        assert np.abs(raw.astype(int) - clip.astype(int)).mean() < 12
        clips.append(clip)
    # ... and much closer than two different clips are
    assert np.abs(clips[0].astype(int) - clips[1].astype(int)).mean() > 20


def test_deterministic_by_seed(tmp_path):
    first = make_synthetic_dataset(tmp_path / 'a', seed=3, **TINY)
    second = make_synthetic_dataset(tmp_path / 'b', seed=3, **{**TINY, 'workers': 2})
    other = make_synthetic_dataset(tmp_path / 'c', seed=4, layouts=['videos'], **TINY)
    for key in ('train_list_videos', 'val_list_videos', 'train_list_rawframes', 'label_map'):
        assert Path(first[key]).read_bytes() == Path(second[key]).read_bytes()
    for path, _ in _lines(first['val_list_videos'])[:3]:
        np.testing.assert_array_equal(read_video(Path(first['videos_root'], path)),
                                      read_video(Path(second['videos_root'], path)))
    frame_dir = _lines(first['train_list_rawframes'])[0][0]
    np.testing.assert_array_equal(_read_rawframes(Path(first['rawframes_root'], frame_dir)),
                                  _read_rawframes(Path(second['rawframes_root'], frame_dir)))
    assert Path(first['train_list_videos']).read_bytes() != \
        Path(other['train_list_videos']).read_bytes()
    assert 'rawframes_root' not in other and not (tmp_path / 'c' / 'rawframes').exists()
    path = _lines(first['val_list_videos'])[0][0]
    same_name = Path(other['videos_root'], path)
    if same_name.exists():  # same class drawn for this id: the clip itself must differ
        assert not np.array_equal(read_video(same_name),
                                  read_video(Path(first['videos_root'], path)))


def test_idempotent_and_overwrite(tmp_path):
    out = tmp_path / 'synthetic'
    small = dict(TINY, num_train=10, num_val=0, layouts=['rawframes'])
    paths = make_synthetic_dataset(out, **small)
    manifest_time = Path(paths['manifest']).stat().st_mtime_ns
    listed = Path(paths['train_list_rawframes']).read_bytes()
    params = synthetic_params(**{k: v for k, v in small.items() if k != 'workers'})
    assert synthetic_dataset_status(out, params) == 'complete'
    make_synthetic_dataset(out, **small)  # same parameters: nothing is rewritten
    assert Path(paths['manifest']).stat().st_mtime_ns == manifest_time
    changed = dict(small, seed=1)
    with pytest.raises(FileExistsError, match='overwrite'):
        make_synthetic_dataset(out, **changed)
    (out / 'notes.txt').write_text('mine')
    make_synthetic_dataset(out, overwrite=True, **changed)
    assert Path(paths['train_list_rawframes']).read_bytes() != listed
    assert (out / 'notes.txt').read_text() == 'mine'  # only generated files were replaced
    # an interrupted run (manifest not complete) is regenerated without overwrite
    manifest = json.loads((out / 'manifest.json').read_text())
    (out / 'manifest.json').write_text(json.dumps(dict(manifest, complete=False)))
    assert synthetic_dataset_status(out, synthetic_params(seed=1, **{
        k: v for k, v in small.items() if k != 'workers'})) == 'incomplete'
    make_synthetic_dataset(out, **changed)
    assert json.loads((out / 'manifest.json').read_text())['complete']


def test_refuses_foreign_folder(tmp_path):
    (tmp_path / 'data.csv').write_text('not a synthetic dataset')
    with pytest.raises(FileExistsError, match='not a synthetic dataset'):
        make_synthetic_dataset(tmp_path, **TINY)


@pytest.mark.parametrize('kwargs, match', [
    (dict(size=33), 'size must be even'),
    (dict(num_train=0), 'num_train'),
    (dict(layouts=['frames']), 'layouts'),
    (dict(layouts='videos'), 'layouts'),
    (dict(difficulty='medium'), 'difficulty'),
    (dict(speed=(0.5, 0.2)), 'speed'),
])
def test_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_dataset(tmp_path / 'x', **{**TINY, **kwargs})
    assert not (tmp_path / 'x').exists()


# ----------------------------------------------------------------------------- one video


@pytest.mark.parametrize('gop, keyframes', [(4, 4), (250, 1)])
def test_make_synthetic_video_gop(tmp_path, gop, keyframes):
    import av

    clip = render_synthetic_clip(2, 0, num_frames=16, size=32)
    path = make_synthetic_video(tmp_path / 'sub' / 'clip.mp4', clip, fps=25, gop=gop)
    with av.open(path) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 25
        flags = [p.is_keyframe for p in container.demux(stream) if p.size]
    assert len(flags) == 16 and sum(flags) == keyframes
    assert np.abs(read_video(path).astype(int) - clip).mean() < 8


def test_make_synthetic_video_edge_cases(tmp_path):
    one = np.full((1, 24, 40, 3), 200, dtype=np.uint8)
    decoded = read_video(make_synthetic_video(tmp_path / 'one.mp4', one))
    assert decoded.shape == (1, 24, 40, 3) and abs(int(decoded.mean()) - 200) <= 2
    with pytest.raises(ValueError, match='even'):
        make_synthetic_video(tmp_path / 'odd.mp4', np.zeros((2, 15, 16, 3), np.uint8))
    with pytest.raises(TypeError, match='uint8'):
        make_synthetic_video(tmp_path / 'f.mp4', np.zeros((2, 16, 16, 3), np.float32))
    with pytest.raises(ValueError, match=r'\[T, H, W, 3\]'):
        make_synthetic_video(tmp_path / 'g.mp4', np.zeros((16, 16, 3), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['one.mp4']  # no partial files left


def test_the_rotating_bar_is_not_half_turn_symmetric():
    """A plain bar turned by 180 - x degrees one way looks turned by x the other way; the knob
    at one end keeps the direction of large turns visible."""
    from actionkit.datasets.synthetic import _signed_distance

    v, u = np.mgrid[-20:21, -20:21].astype(np.float32)
    inside = _signed_distance('bar', u, v, np.float32(10)) < 0
    half_turn = inside[::-1, ::-1]
    assert (inside != half_turn).sum() > 0.2 * inside.sum()
    assert np.array_equal(inside, inside[::-1, :])  # still mirror-symmetric along its axis
