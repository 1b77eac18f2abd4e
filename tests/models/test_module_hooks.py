"""module_hooks of a config: GPUNormalize and register_module_hooks as MMAction2 0.x's."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from actionkit.models.module_hooks import GPUNormalize, register_module_hooks


class _Recorder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x)
        return x.float() * self.scale


class _Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = _Recorder()
        self.cls_head = _Recorder()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls_head(self.backbone(x))


NORM = dict(type='GPUNormalize', input_format='NCHW', mean=[10.0, 20.0], std=[2.0, 4.0])


def test_gpu_normalize_is_a_forward_pre_hook_of_the_backbone() -> None:
    model = _Model()
    cfgs = [dict(NORM, hooked_module='backbone', hook_pos='forward_pre')]
    handles = register_module_hooks(model, cfgs)
    assert cfgs[0]['hooked_module'] == 'backbone'  # the config is not consumed
    x = torch.tensor([14, 28], dtype=torch.uint8).view(1, 2, 1, 1).repeat(3, 1, 1, 1)
    model(x)
    seen = model.backbone.seen[0]
    # channel 0: (14 - 10) / 2 = 2; channel 1: (28 - 20) / 4 = 2 (a swapped axis gives 7 / -1.5)
    assert seen.dtype == torch.float32 and seen.shape == (3, 2, 1, 1)
    assert torch.equal(seen[:, 0], torch.full((3, 1, 1), 2.0))
    assert torch.equal(seen[:, 1], torch.full((3, 1, 1), 2.0))
    handles[0].remove()
    model(x)
    assert model.backbone.seen[1].dtype == torch.uint8


def test_other_layouts_put_the_channel_where_format_shape_does() -> None:
    hook = GPUNormalize('NPTCHW', mean=[0.0, 100.0, 200.0], std=[1.0, 1.0, 1.0]).hook_func()
    x = torch.full((1, 1, 2, 3, 1, 1), 200, dtype=torch.uint8)  # N P T C H W
    out = hook(None, (x, 'extra'))
    assert out[1] == 'extra'
    assert out[0][0, 0, :, :, 0, 0].tolist() == [[200.0, 100.0, 0.0]] * 2
    hook = GPUNormalize('NCTHW', mean=[1.0, 2.0], std=[1.0, 2.0]).hook_func()
    out = hook(None, (torch.full((1, 2, 3, 1, 1), 4, dtype=torch.uint8),))[0]
    assert out[0, :, 0, 0, 0].tolist() == [3.0, 1.0]


def test_forward_hook_on_the_head_and_errors() -> None:
    model = _Model()
    register_module_hooks(model, [dict(NORM, hooked_module='cls_head')])
    x = torch.tensor([14, 28], dtype=torch.uint8).view(1, 2, 1, 1)
    with pytest.raises(TypeError, match='GPUNormalize expects uint8'):
        model(x)  # the head's input is the backbone's float output
    assert model.backbone.seen[0].dtype == torch.uint8 and not model.cls_head.seen
    normalised = _Model()
    register_module_hooks(normalised, [NORM])
    with pytest.raises(TypeError, match='GPUNormalize expects uint8'):
        normalised(x.float())
    with pytest.raises(ValueError, match="has no module 'neck'"):
        register_module_hooks(_Model(), [dict(NORM, hooked_module='neck')])
    with pytest.raises(ValueError, match='hook_pos must be one of'):
        register_module_hooks(_Model(), [dict(NORM, hook_pos='after')])
    with pytest.raises(ValueError, match='input_format'):
        GPUNormalize('NTCHW', mean=[1.0], std=[1.0])


def test_forward_and_backward_positions() -> None:
    calls: list[str] = []

    class _Probe:
        def __init__(self, tag: str) -> None:
            self.tag = tag

        def hook_func(self):  # noqa: ANN202
            return lambda *args: calls.append(self.tag)

    from actionkit.models.module_hooks import MODULE_HOOKS
    MODULE_HOOKS.register_module(name='_Probe', force=True, module=_Probe)
    model = _Model()
    register_module_hooks(model, [dict(type='_Probe', tag='fwd', hook_pos='forward'),
                                  dict(type='_Probe', tag='bwd', hook_pos='backward')])
    model(torch.ones(1, 2, 1, 1, requires_grad=True)).sum().backward()
    assert calls == ['fwd', 'bwd']


def test_the_gpu_normalize_config_gives_the_scores_of_cpu_normalisation() -> None:
    from pathlib import Path

    from actionkit.config import Config
    from actionkit.models import build_model
    root = Path(__file__).resolve().parents[2]
    cfg = Config.fromfile(str(root / 'configs/recognition/tsm/'
                                     'tsm_r50_gpu_normalize_1x1x8_50e_kinetics400_rgb.py'))
    assert not any(step['type'] == 'Normalize' for step in cfg.data.train.pipeline)
    cfg.model.backbone.update(depth=18, pretrained=None)
    cfg.model.cls_head.update(in_channels=512, num_classes=3)
    torch.manual_seed(0)
    model = build_model(cfg.model).eval()
    clip = torch.randint(0, 256, (1, 8, 3, 32, 32), dtype=torch.uint8)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    expected = model(((clip.float() - mean) / std), return_loss=False)
    register_module_hooks(model, cfg.module_hooks)
    got = model(clip, return_loss=False)
    assert got.shape == (1, 3)
    assert torch.allclose(torch.as_tensor(got), torch.as_tensor(expected), atol=1e-6)


def test_the_test_command_registers_the_config_hooks(tmp_path) -> None:  # noqa: ANN001
    import argparse
    import sys
    from pathlib import Path

    from actionkit.commands.test import _pytorch_outputs
    from actionkit.config import Config
    from actionkit.models.module_hooks import MODULE_HOOKS
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'engine'))
    from engine_toys import ToyDataset, ToyRecognizer
    calls: list[tuple] = []

    class _Shape:
        def hook_func(self):  # noqa: ANN202
            return lambda module, inputs: calls.append(tuple(inputs[0].shape))

    MODULE_HOOKS.register_module(name='_ShapeProbe', force=True, module=_Shape)
    torch.save({'state_dict': ToyRecognizer().state_dict()}, tmp_path / 'toy.pth')
    cfg = Config(dict(model=dict(type='ToyRecognizer'),
                      module_hooks=[dict(type='_ShapeProbe', hooked_module='fc1')]))
    loader = torch.utils.data.DataLoader(ToyDataset(4, test_mode=True), batch_size=2)
    args = argparse.Namespace(config='toy.py', average_clips=None,
                              checkpoint=str(tmp_path / 'toy.pth'),
                              allow_pickle=False, fuse_conv_bn=False)
    outputs = _pytorch_outputs(args, cfg, loader, distributed=False)
    assert len(outputs) == 4 and calls == [(2, 12), (2, 12)]
