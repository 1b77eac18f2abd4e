"""HVU: HVUDataset records, LoadHVULabel, the per-category mAP and HVULoss (MMAction2 0.x)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from actionkit.datasets import HVUDataset
from actionkit.datasets.pipelines import LoadHVULabel
from actionkit.evaluation.hvu import hvu_category_map
from actionkit.models.losses import HVULoss

CATS, NUMS = ['a', 'b'], [2, 2]
# the ranking example of the mAP test: v2 has no 'a' tags, v0 no 'b' tags
LABELS = [{'a': [1]}, {'a': [0], 'b': [0]}, {'b': [1]}]
SCORES = [np.array([0.2, 0.9, 0.9, 0.0]), np.array([0.8, 0.1, 0.3, 0.5]),
          np.array([0.9, 0.95, 0.6, 0.7])]


def _write(tmp_path: Path, records: list) -> str:
    path = tmp_path / 'hvu.json'
    path.write_text(json.dumps(records))
    return str(path)


def test_records_get_paths_and_categories(tmp_path: Path) -> None:
    videos = [dict(filename=f'v{i}.mp4', label=label) for i, label in enumerate(LABELS)]
    ds = HVUDataset(_write(tmp_path, videos), [], CATS, NUMS, data_prefix='root')
    assert ds.dataset_type == 'video' and len(ds) == 3 and ds.num_tags == 4
    assert ds.category2startidx == {'a': 0, 'b': 2}
    assert ds.video_infos[2] == dict(filename='root/v2.mp4', label={'b': [1]},
                                     categories=CATS, category_nums=NUMS)
    frames = [dict(frame_dir='f0', total_frames=5, label=LABELS[0])]
    ds = HVUDataset(_write(tmp_path, frames), [], CATS, NUMS, filename_tmpl='img_{:05}.jpg')
    assert ds.dataset_type == 'rawframe'
    assert ds.video_infos[0]['start_index'] == 0 and ds.video_infos[0]['modality'] == 'RGB'
    with pytest.raises(ValueError, match='filename_tmpl'):
        HVUDataset(_write(tmp_path, frames), [], CATS, NUMS)
    with pytest.raises(ValueError, match='record 1 needs "filename"'):
        HVUDataset(_write(tmp_path, [videos[0], {'label': {}}]), [], CATS, NUMS)


def test_load_hvu_label_builds_label_mask_and_category_mask() -> None:
    step = LoadHVULabel()
    out = step(dict(label={'b': [1], 'zzz': [7]}, categories=CATS, category_nums=NUMS))
    assert out['label'].tolist() == [0, 0, 0, 1]
    assert out['mask'].tolist() == [0, 0, 1, 1]
    assert out['category_mask'].tolist() == [0, 1]
    with pytest.raises(ValueError, match=r'a tag in \[2\] is outside \[0, 2\)'):
        step(dict(label={'a': [2]}, categories=CATS, category_nums=NUMS))


def test_category_map_uses_only_the_videos_tagged_in_the_category(tmp_path: Path) -> None:
    # a: v0, v1 only; both columns rank the positive first -> 1.0 (with v2, a0's AP is 0.5).
    # b: v1, v2 only; b0: v2 (0.6, neg) above v1 (0.3, pos) -> AP 1/2; b1: v2 first -> 1;
    # mean 0.75 (with v0, b0 would be 1/3)
    assert hvu_category_map(SCORES, LABELS, CATS, NUMS) == {'a_mAP': 1.0, 'b_mAP': 0.75}
    videos = [dict(filename=f'v{i}.mp4', label=label) for i, label in enumerate(LABELS)]
    ds = HVUDataset(_write(tmp_path, videos), [], CATS, NUMS)
    assert list(ds.evaluate(SCORES, logger='silent').items()) == [('a_mAP', 1.0),
                                                                  ('b_mAP', 0.75)]
    with pytest.raises(KeyError, match='only'):
        ds.evaluate(SCORES, metrics=['top_k_accuracy'])
    with pytest.raises(ValueError, match='2 results for the 3 videos'):
        ds.evaluate(SCORES[:2])


# two videos, categories a (2 tags) and b (1 tag): v0 tagged {'a': [1]}, v1 {'a': [0], 'b': [0]};
# all logits 0 (BCE ln 2) except v0's b logit 2 (a negative: BCE log(1 + e^2))
L0, LB = math.log(2), math.log(1 + math.exp(2))
SCORE = torch.tensor([[0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
LABEL = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
MASK = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
CAT_MASK = torch.tensor([[1.0, 0.0], [1.0, 1.0]])


@pytest.mark.parametrize('options, expected', [
    (dict(), (5 * L0 + LB) / 6),                              # mean of the 6 entries
    (dict(with_mask=True), L0),                               # v0's b entry left out
    (dict(reduction='sum'), (5 * L0 + LB) / 2),               # per-video sums, averaged
    (dict(reduction='sum', with_mask=True), 2.5 * L0),        # (2 L0 + 3 L0) / 2
    (dict(loss_type='individual', category_loss_weights=(1, 3)),
     0.25 * L0 + 0.75 * (LB + L0) / 2),                       # weights normalised to 1/4, 3/4
    (dict(loss_type='individual', category_loss_weights=(1, 3), with_mask=True), L0),
])
def test_hvu_loss(options: dict, expected: float) -> None:
    loss = HVULoss(categories=('a', 'b'), category_nums=(2, 1), **{
        'category_loss_weights': (1, 1), **options})
    out = loss(SCORE, LABEL, mask=MASK, category_mask=CAT_MASK)
    assert out['loss_cls'].item() == pytest.approx(expected, rel=1e-6)


def test_hvu_loss_individual_logs_categories_and_skips_absent_ones() -> None:
    loss = HVULoss(categories=('a', 'b'), category_nums=(2, 1), category_loss_weights=(1, 3),
                   loss_type='individual', with_mask=True, loss_weight=2.0)
    out = loss(SCORE[:1], LABEL[:1], mask=MASK[:1], category_mask=CAT_MASK[:1])
    # no video of this batch has b: its loss is 0 with weight 0, a's weight becomes 1
    assert out['b_LOSS'].item() == 0.0 and out['b_LOSS_weight'].item() == 0.0
    assert out['a_LOSS_weight'].item() == 1.0
    assert out['a_LOSS'].item() == pytest.approx(L0)  # not scaled: only keys with 'loss'
    assert out['loss_cls'].item() == pytest.approx(2 * L0)
    with pytest.raises(ValueError, match='loss_type'):
        HVULoss(loss_type='each')
    with pytest.raises(ValueError, match='one entry per category'):
        HVULoss(category_loss_weights=(1, 1))


def test_a_tsn_head_passes_the_masks_to_hvu_loss() -> None:
    from actionkit.models import build_head
    head = build_head(dict(type='TSNHead', num_classes=3, in_channels=4, multi_class=True,
                           loss_cls=dict(type='HVULoss', categories=('a', 'b'),
                                         category_nums=(2, 1), category_loss_weights=(1, 1),
                                         with_mask=True)))
    losses = head.loss(SCORE, LABEL, mask=MASK, category_mask=CAT_MASK)
    assert losses['loss_cls'].item() == pytest.approx(L0)


def test_mmaction2_hvu_annotation_files_load(annotations_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # data_prefix='data' is made absolute (realpath) only when that folder exists, as in
    # MMAction2: work where it does not (a checkout that ran the demo has a data/ folder)
    monkeypatch.chdir(tmp_path)
    cats = ['action', 'attribute', 'concept', 'event', 'object', 'scene']
    nums = [739, 117, 291, 69, 1678, 248]
    ds = HVUDataset(str(annotations_dir / 'hvu_frame_test_anno.json'),
                    [dict(type='LoadHVULabel')], cats, nums, filename_tmpl='img_{:05}.jpg',
                    data_prefix='data')
    sample = ds[0]
    assert sample['frame_dir'] == 'data/imgs' and sample['total_frames'] == 5
    assert sample['label'].sum().item() == 12  # 1 action + 7 concepts + 1 event + 2 + 1
    assert sample['mask'].sum().item() == sum(nums) - 117  # no attribute tags
    ds = HVUDataset(str(annotations_dir / 'hvu_video_eval_test_anno.json'), [],
                    ['action', 'scene', 'object'], [3, 3, 3])
    # v0 tags action 2, scene 2, object 1; v1 action 1, scene 1, object 2
    scores = [np.array([0, .2, .8, .1, .2, .7, .1, .9, .0]),
              np.array([0, .7, .3, .1, .6, .3, .2, .2, .6])]
    assert ds.evaluate(scores, logger='silent') == {'action_mAP': 1.0, 'scene_mAP': 1.0,
                                                    'object_mAP': 1.0}
