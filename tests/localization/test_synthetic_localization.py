"""The synthetic localization set: layout, determinism, consistency, signal."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from actionkit.datasets.synthetic_localization import make_synthetic_localization


def _read(paths):
    full = json.loads(Path(paths['ann_file_full']).read_text())
    features = {name: np.loadtxt(Path(paths['data_root']) / f'{name}.csv', delimiter=',',
                                 skiprows=1) for name in full}
    return full, features


def test_layout_and_splits(synthetic_loc):
    full, features = _read(synthetic_loc)
    train = json.loads(Path(synthetic_loc['ann_file_train']).read_text())
    val = json.loads(Path(synthetic_loc['ann_file_val']).read_text())
    assert len(full) == 16 and len(val) == synthetic_loc['num_val'] == 4
    assert set(train) | set(val) == set(full) and not set(train) & set(val)
    header = (Path(synthetic_loc['data_root']) / 'v_synth_00000.csv').read_text().split('\n')[0]
    assert header == ','.join(f'f{i}' for i in range(8))
    for name, info in full.items():
        assert name.startswith('v_') and features[name].shape == (32, 8)
        assert info['feature_frame'] == 32 * 16 <= info['duration_frame'] < 33 * 16
        covered = info['feature_frame'] / info['duration_frame'] * info['duration_second']
        assert 1 <= len(info['annotations']) <= 3
        segments = sorted(a['segment'] for a in info['annotations'])
        for (s, e), nxt in zip(segments, segments[1:] + [[np.inf, np.inf]]):
            assert 0 <= s < e <= covered + 1e-4 and e < nxt[0]  # inside, not overlapping


def test_deterministic_by_seed(tmp_path):
    a = make_synthetic_localization(tmp_path / 'a', 4, temporal_dim=16, feat_dim=4, seed=1)
    b = make_synthetic_localization(tmp_path / 'b', 4, temporal_dim=16, feat_dim=4, seed=1)
    c = make_synthetic_localization(tmp_path / 'c', 4, temporal_dim=16, feat_dim=4, seed=2)
    read = lambda p: (Path(p['ann_file_full']).read_text(),  # noqa: E731
                      (Path(p['data_root']) / 'v_synth_00003.csv').read_text())
    assert read(a) == read(b) and read(a) != read(c)


def test_actions_are_visible_in_the_features(synthetic_loc):
    full, features = _read(synthetic_loc)
    inside, outside = [], []
    for name, info in full.items():
        seconds_per_step = info['feature_frame'] / info['duration_frame'] * \
            info['duration_second'] / 32
        centers = (np.arange(32) + 0.5) * seconds_per_step
        mask = np.zeros(32, dtype=bool)
        for s, e in (a['segment'] for a in info['annotations']):
            mask |= (centers > s + 2 * seconds_per_step) & (centers < e - 2 * seconds_per_step)
        norms = np.linalg.norm(features[name] - features[name][~mask].mean(0), axis=1)
        inside += list(norms[mask])
        outside += list(norms[~mask])
    # the class prototypes have norm 2: deep inside an action the features move away
    assert np.mean(inside) > np.mean(outside) + 0.5


@pytest.mark.parametrize('bad', [dict(num_videos=1), dict(temporal_dim=4), dict(feat_dim=2),
                                 dict(val_fraction=1.0)])
def test_argument_validation(tmp_path, bad):
    args = dict(num_videos=4, temporal_dim=16, feat_dim=4) | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        make_synthetic_localization(tmp_path, **args)
