"""Every MMAction2 1.2.0 config under ``configs/{recognition,skeleton,localization,
recognition_audio}`` loads with our ``Config``, builds every dataloader pipeline (train / val /
test, through ``PIPELINES``) and builds its model.

Three explicit lists, and nothing else, excuse a file:

* ``REFUSED``: the file needs a package actionkit does not ship; building it must raise an
  error that names that package.
* ``PENDING_MODELS``: model types other branches are adding now; a model naming one is not
  built yet (the lead empties this list when the branches merge).
* ``PENDING_LOAD``: files whose 1.x top-level keys our ``Config`` cannot load yet (the config
  branch's work).

Any other failure fails the test. The 1.2.0 configs come from the sdist that
``scripts/test.sh`` downloads; without it these tests skip.
"""
from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from actionkit.config import Config
from actionkit.datasets.pipelines import Compose

ROOT = Path(__file__).resolve().parents[1]
V1_CONFIGS = ROOT / '.cache' / 'mmaction2-1.2.0' / 'mmaction' / '.mim' / 'configs'
DIRS = ('recognition', 'skeleton', 'localization', 'recognition_audio')
FILES = sorted(p.relative_to(V1_CONFIGS).as_posix() for d in DIRS
               for p in (V1_CONFIGS / d).rglob('*.py')) if V1_CONFIGS.is_dir() else []
needs_v1 = pytest.mark.skipif(
    not V1_CONFIGS.is_dir(), reason=f'MMAction2 1.2.0 configs not found at {V1_CONFIGS} '
    f'(scripts/test.sh downloads them)')

_MMPRETRAIN = 'mmpretrain (MMPreTrain backbones by name)'
_TIMM = 'timm (timm backbones by name)'
_TORCHVISION = 'torchvision (torchvision backbones by name)'
# relative path -> the package it needs (its first word must be in the error), found by
# building the datasets (DRN) or the model (the others)
REFUSED: dict[str, str] = {
    **{f'localization/drn/drn_2xb16-4096-10e_c3d-feature_{part}.py':
       'nltk (CharadesSTADataset tokenises the text queries with it; dataset)'
       for part in ('first', 'second', 'third')},
    **{f'recognition/tsn/custom_backbones/tsn_imagenet-pretrained-{name}.py': package
       for name, package in (
           ('mobileone-s4_8xb32-1x1x8-100e_kinetics400-rgb', _MMPRETRAIN),
           ('mobileone-s4_deploy_8xb32-1x1x8-100e_kinetics400-rgb', _MMPRETRAIN),
           ('rn101-32x4d_8xb32-1x1x3-100e_kinetics400-rgb', 'mmcls (needs mmcv)'),
           ('swin-transformer_32xb8-1x1x8-50e_kinetics400-rgb', _TIMM),
           ('swin-transformer_8xb32-1x1x3-100e_kinetics400-rgb', _TIMM),
           ('dense161_8xb32-1x1x3-100e_kinetics400-rgb', _TORCHVISION))},
    **{f'recognition/tsm/tsm_imagenet-pretrained-mobileone-s4{kind}_8xb16-1x1x16-50e_'
       f'kinetics400-rgb.py': 'mmpretrain (MobileOneTSM is built on its MobileOne)'
       for kind in ('', '_deploy')},
}
# model types (``type`` anywhere in ``model``) that other branches are adding now
PENDING_MODELS: set[str] = set()
# files our Config cannot load yet (1.x keys the config branch translates)
PENDING_LOAD: dict[str, str] = {}


def _types(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        if isinstance(node.get('type'), str):
            yield node['type']
        for value in node.values():
            yield from _types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _types(value)


def _pipelines(cfg: Mapping) -> Iterator[tuple[str, list]]:
    """Every dataset pipeline of the train / val / test dataloaders, wrappers opened."""
    for kind in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loaders = cfg.get(kind)
        if loaders is None:
            continue
        for i, loader in enumerate(loaders if isinstance(loaders, (list, tuple)) else [loaders]):
            stack = [loader['dataset']]
            while stack:
                dataset = stack.pop()
                if 'dataset' in dataset:
                    stack.append(dataset['dataset'])
                elif 'datasets' in dataset:
                    stack.extend(dataset['datasets'])
                else:
                    yield f'{kind}[{i}] {dataset["type"]}', dataset['pipeline']


def _load(rel: str) -> Config:
    if rel in PENDING_LOAD:
        pytest.skip(f'pending (config branch): {PENDING_LOAD[rel]}')
    return Config.fromfile(V1_CONFIGS / rel)


def _build_model(cfg: Config) -> Any:
    """The config's model, without fetching pretrained weights (as the 0.x zoo tests do)."""
    from actionkit.models import build_model
    from actionkit.models.builder import turn_off_pretrained

    model_cfg = copy.deepcopy(cfg.model)
    turn_off_pretrained(model_cfg)
    return build_model(model_cfg)


def _check_refusal(rel: str, cfg: Config) -> None:
    from actionkit.datasets import build_dataset

    package = REFUSED[rel].split()[0]
    with pytest.raises((ValueError, KeyError, ImportError)) as info:
        if REFUSED[rel].endswith('dataset)'):
            build_dataset(cfg.train_dataloader.dataset)
        else:
            pending = sorted(set(_types(cfg.model)) & PENDING_MODELS)
            if pending:
                pytest.skip(f'refused, once pending model types land: {pending}')
            _build_model(cfg)
    assert package in str(info.value), f'{rel}: the refusal must name {package}: {info.value}'


def _annotation(dataset: Mapping, folder: Path) -> Path:
    """A one-record annotation file of the kind ``dataset`` reads."""
    kind = dataset['type']
    path = folder / f'{kind}.ann'
    if kind in ('VideoDataset', 'RepeatAugDataset'):
        path.write_text(f'a.mp4{dataset.get("delimiter", " ")}1\n')
    elif kind == 'RawframeDataset':
        path.write_text('f 0 10 1\n' if dataset.get('with_offset') else 'f 10 1\n')
    elif kind == 'AudioDataset':
        path.write_text('a 10 1\n')
    elif kind == 'ActivityNetDataset':
        path.write_text(json.dumps({'v_a': dict(
            duration_second=10.0, duration_frame=100, feature_frame=96,
            annotations=[dict(segment=[1.0, 4.0], label='x')])}))
    elif kind == 'PoseDataset':
        record = dict(frame_dir='x', label=0, total_frames=4, img_shape=(8, 8),
                      original_shape=(8, 8), keypoint=np.zeros((1, 4, 17, 2), np.float32),
                      keypoint_score=np.ones((1, 4, 17), np.float32))
        data: Any = [record]
        if dataset.get('split'):
            data = {'split': {dataset['split']: ['x']}, 'annotations': data}
        path = path.with_suffix('.pkl')
        path.write_bytes(pickle.dumps(data))
    else:
        raise AssertionError(f'no annotation fixture for {kind}')
    return path


def _with_fixtures(node: Any, folder: Path) -> Any:
    """``node`` (a dataset config) with every leaf dataset's ann_file made by a fixture."""
    node = copy.deepcopy(dict(node))
    if 'dataset' in node:
        node['dataset'] = _with_fixtures(node['dataset'], folder)
    elif 'datasets' in node:
        node['datasets'] = [_with_fixtures(child, folder) for child in node['datasets']]
    else:
        node['ann_file'] = str(_annotation(node, folder))
    return node


@needs_v1
def test_the_lists_name_real_files():
    assert len(FILES) >= 180  # 181 in 1.2.0
    assert not (set(REFUSED) | set(PENDING_LOAD)) - set(FILES)
    assert not set(REFUSED) & set(PENDING_LOAD)


@needs_v1
@pytest.mark.parametrize('rel', FILES)
def test_v1_config_pipelines_build(rel):
    cfg = _load(rel)
    found = 0
    for where, pipeline in _pipelines(cfg):
        try:
            Compose(pipeline)
        except Exception as err:  # noqa: BLE001 - the message names the file and loader
            raise AssertionError(f'{rel}: {where}: {type(err).__name__}: {err}') from err
        found += 1
    # BSN's PGM step and the UniFormerV2 CLIP-pretraining files define no dataloader
    assert found or 'pgm' in rel or 'clip-pre_u8_kinetics710' in rel


@needs_v1
@pytest.mark.parametrize('rel', FILES)
def test_v1_config_datasets_build(rel, tmp_path):
    """Each dataloader's dataset dict, as written (only ``ann_file`` made by a fixture)."""
    from actionkit.datasets import build_dataset

    cfg = _load(rel)
    if rel in REFUSED and REFUSED[rel].endswith('dataset)'):
        pytest.skip('refused (test_v1_config_model_builds checks the reason)')
    for kind in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loaders = cfg.get(kind)
        for loader in (loaders if isinstance(loaders, (list, tuple)) else [loaders]):
            if loader is None:
                continue
            dataset = build_dataset(_with_fixtures(loader['dataset'], tmp_path))
            assert len(dataset) >= 1, f'{rel}: {kind} is empty'


@needs_v1
@pytest.mark.parametrize('rel', FILES)
def test_v1_config_model_builds(rel):
    cfg = _load(rel)
    if rel in REFUSED:
        _check_refusal(rel, cfg)
        return
    if 'model' not in cfg:
        pytest.skip('no model (a proposal-generation step)')
    pending = sorted(set(_types(cfg.model)) & PENDING_MODELS)
    if pending:
        pytest.skip(f'pending model types (other branches): {pending}')
    _build_model(cfg)
