"""Every localization config loads and builds; the synthetic BMN config runs end to end."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from actionkit.config import Config
from actionkit.datasets import PIPELINES, build_dataloader, build_dataset
from actionkit.models import build_model

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / 'configs' / 'localization').glob('*/*.py'))
BASES = [REPO / 'configs' / '_base_' / 'models' / f'{name}.py'
         for name in ('bmn_400x100', 'bsn_tem', 'bsn_pem', 'ssn_r50')]


def test_the_mmaction2_file_names_are_there():
    names = {p.name for p in CONFIGS}
    assert {'bmn_400x100_2x8_9e_activitynet_feature.py',
            'bsn_tem_400x100_1x16_20e_activitynet_feature.py',
            'bsn_pem_400x100_1x16_20e_activitynet_feature.py',
            'bsn_pgm_400x100_activitynet_feature.py', 'ssn_r50_450e_thumos14_rgb_train.py',
            'ssn_r50_450e_thumos14_rgb_test.py', 'bmn_synthetic.py'} <= names


@pytest.mark.parametrize('path', CONFIGS + BASES, ids=lambda p: p.name)
def test_config_builds(path):
    cfg = Config.fromfile(str(path))
    if 'model' in cfg:
        model_cfg = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
        if model_cfg['type'] == 'SSN':  # no download of ImageNet weights in a test
            model_cfg['backbone'] = dict(model_cfg['backbone'], pretrained=None)
        model = build_model(model_cfg)
        assert type(model).__name__ == model_cfg['type']
    else:  # the BSN PGM settings of tools/misc/bsn_proposal_generation.py
        assert {'tem_results_dir', 'pgm_proposals_dir', 'pgm_features_dir',
                'pgm_proposals_cfg', 'pgm_features_test_cfg'} <= set(cfg)
    for split in ('train', 'val', 'test'):
        for step in cfg.get('data', {}).get(split, {}).get('pipeline', []):
            PIPELINES.build(step)


def test_bmn_synthetic_config_end_to_end(tmp_path):
    from actionkit.datasets.synthetic_localization import make_synthetic_localization

    cfg = Config.fromfile(str(REPO / 'configs' / 'localization' / 'bmn' / 'bmn_synthetic.py'))
    paths = make_synthetic_localization(tmp_path, 8, temporal_dim=cfg.temporal_dim,
                                        feat_dim=cfg.feat_dim, seed=0)
    cfg.merge_from_dict({'data.train.ann_file': paths['ann_file_train'],
                         'data.train.data_prefix': paths['data_root'],
                         'data.test.ann_file': paths['ann_file_val'],
                         'data.test.data_prefix': paths['data_root']})
    torch.manual_seed(0)
    model = build_model(cfg.model)
    train_set = build_dataset(cfg.data.train)
    batch = next(iter(build_dataloader(train_set, 1, 0, shuffle=False)))
    out = model.train_step(batch, None)
    out['loss'].backward()
    assert out['num_samples'] == 1 and torch.isfinite(out['loss'])

    test_set = build_dataset(cfg.data.test)
    model.eval()
    results = []
    with torch.no_grad():
        for batch in build_dataloader(test_set, 1, 0, shuffle=False):
            results.extend(model(**batch, return_loss=False))
    assert [r['video_name'] for r in results] == [i['video_name'] for i in test_set.video_infos]
    metrics = test_set.evaluate(results, logger='silent')
    assert 0 <= metrics['AR@100'] <= 1
