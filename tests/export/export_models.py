"""Small models and helpers for the export tests.

``TINY_MODELS`` maps a name to ``(model config, input shape)``. The sizes are the smallest
that keep each architecture's structure (every stage, the lateral connections, the
boundary-matching layer), so an export takes a second or two. ``build_small`` makes the
shipped TSN / TSM configs ResNet-18-sized.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from actionkit.config import Config
from actionkit.models.builder import BACKBONES, HEADS, LOCALIZERS, RECOGNIZERS, build_model

__all__ = ['REPO', 'SMALL_2D', 'TINY_MODELS', 'TSM_CONFIG', 'TSN_CONFIG', 'build_small',
           'build_tiny', 'ort_outputs', 'small_config']

REPO = Path(__file__).resolve().parents[2]
TSN_CONFIG = REPO / 'configs' / 'recognition' / 'tsn' / 'tsn_r50_1x1x3_100e_kinetics400_rgb.py'
TSM_CONFIG = REPO / 'configs' / 'recognition' / 'tsm' / 'tsm_r50_1x1x8_50e_kinetics400_rgb.py'

# ResNet-50 -> ResNet-18, 5 classes, no ImageNet weights: the shipped configs, small
SMALL_2D = {'model.backbone.depth': 18, 'model.backbone.pretrained': None,
            'model.cls_head.in_channels': 512, 'model.cls_head.num_classes': 5}


def small_config(path: Path) -> Config:
    """A shipped 2D config with the ``SMALL_2D`` overrides."""
    cfg = Config.fromfile(str(path))
    cfg.merge_from_dict(SMALL_2D)
    return cfg


def build_small(path: Path, seed: int = 0) -> tuple[torch.nn.Module, Config]:
    """``(model in eval mode, config)`` of a shipped 2D config at ResNet-18 size."""
    cfg = small_config(path)
    torch.manual_seed(seed)
    return build_model(cfg.model).eval(), cfg


def ort_outputs(path: Any, x: torch.Tensor) -> list:
    """Run an ONNX file with onnxruntime on the CPU, independently of actionkit's runner."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})

_TEST_CFG = dict(average_clips='prob')
_SLOW = dict(type='resnet3d', depth=18, pretrained=None, lateral=True, base_channels=16,
             conv1_kernel=(1, 7, 7), inflate=(0, 0, 1, 1))
_FAST = dict(type='resnet3d', depth=18, pretrained=None, lateral=False, base_channels=2,
             conv1_kernel=(5, 7, 7))


def _recognizer3d(backbone: dict, head: dict) -> dict:
    return dict(type='Recognizer3D', backbone=backbone, cls_head=dict(head, num_classes=4),
                test_cfg=_TEST_CFG)


TINY_MODELS: dict[str, tuple[dict, tuple[int, ...]]] = {
    'I3D': (_recognizer3d(
        dict(type='ResNet3d', depth=18, pretrained=None, pretrained2d=False, base_channels=8,
             conv1_kernel=(5, 7, 7), conv1_stride_t=2, pool1_stride_t=2),
        dict(type='I3DHead', in_channels=64)), (1, 1, 3, 8, 32, 32)),
    'SlowFast': (_recognizer3d(
        dict(type='ResNet3dSlowFast', pretrained=None, slow_pathway=_SLOW, fast_pathway=_FAST),
        dict(type='SlowFastHead', in_channels=128 + 16)), (1, 1, 3, 8, 32, 32)),
    'SlowOnly': (_recognizer3d(
        dict(type='ResNet3dSlowOnly', depth=18, pretrained=None, base_channels=8),
        dict(type='I3DHead', in_channels=64)), (1, 1, 3, 4, 32, 32)),
    # SyncBN as in the R(2+1)D configs: the export turns it into a plain BatchNorm
    'R(2+1)D': (_recognizer3d(
        dict(type='ResNet2Plus1d', depth=18, pretrained=None, pretrained2d=False,
             base_channels=8, conv_cfg=dict(type='Conv2plus1d'),
             norm_cfg=dict(type='SyncBN', requires_grad=True, eps=1e-3),
             temporal_strides=(1, 2, 2, 2)),
        dict(type='I3DHead', in_channels=64)), (1, 1, 3, 8, 32, 32)),
    'X3D': (_recognizer3d(dict(type='X3D', gamma_w=0.5, gamma_b=1.5),
                          dict(type='X3DHead', in_channels=192)), (1, 1, 3, 4, 32, 32)),
    'C3D': (_recognizer3d(dict(type='C3D', out_dim=2048, pretrained=None),
                          dict(type='I3DHead', in_channels=4096, spatial_type=None)),
            (1, 1, 3, 16, 32, 32)),
    'CSN': (_recognizer3d(
        dict(type='ResNet3dCSN', depth=50, pretrained=None, pretrained2d=False,
             stage_blocks=(1, 1, 1, 1), base_channels=4, bottleneck_mode='ir'),
        dict(type='I3DHead', in_channels=128)), (1, 1, 3, 8, 32, 32)),
    'BMN': (dict(type='BMN', temporal_dim=8, boundary_ratio=0.5, num_samples=4,
                 num_samples_per_bin=2, feat_dim=16, soft_nms_alpha=0.4,
                 soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9,
                 post_process_top_k=10, hidden_dim_1d=8, hidden_dim_2d=8, hidden_dim_3d=8),
            (1, 16, 8)),
    'TEM': (dict(type='TEM', temporal_dim=8, boundary_ratio=0.1, tem_feat_dim=16,
                 tem_hidden_dim=8, tem_match_threshold=0.5), (1, 16, 8)),
    'PEM': (dict(type='PEM', pem_feat_dim=32, pem_hidden_dim=8, pem_u_ratio_m=1,
                 pem_u_ratio_l=2, pem_high_temporal_iou_threshold=0.6,
                 pem_low_temporal_iou_threshold=0.2, soft_nms_alpha=0.75,
                 soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9,
                 post_process_top_k=10), (1, 32)),
}


def _types(cfg: Any) -> list[str]:
    """Every registered-type name a model config needs (model, backbone, head)."""
    names = [cfg['type']]
    for key in ('backbone', 'cls_head'):
        if isinstance(cfg.get(key), dict):
            names.append(cfg[key]['type'])
    return names


def build_tiny(name: str) -> tuple[torch.nn.Module, tuple[int, ...]]:
    """Build ``TINY_MODELS[name]`` in eval mode; skip the test when a part is not written."""
    cfg, shape = TINY_MODELS[name]
    missing = [t for t in _types(cfg) if not any(
        t in registry for registry in (RECOGNIZERS, LOCALIZERS, BACKBONES, HEADS))]
    if missing:
        pytest.skip(f'{name}: {missing} not available in actionkit yet')
    torch.manual_seed(0)
    model = build_model(cfg)
    return model.eval(), shape
