"""ACRNHead: actor feature tiled over its own clip's context, MMAction2's keys, in AVARoIHead."""
from __future__ import annotations

import torch

from actionkit.models import HEADS


def test_acrn_tiles_the_actor_over_its_clip_context():
    head = HEADS.build(dict(type='ACRNHead', in_channels=2, out_channels=1, norm_cfg=None,
                            act_cfg=None))
    with torch.no_grad():  # conv1 adds actor and context; conv2 is the identity
        head.conv1.conv.weight.copy_(torch.ones(1, 2, 1, 1, 1))
        head.conv2.conv.weight.zero_()
        head.conv2.conv.weight[0, 0, 0, 1, 1] = 1.
    x = torch.zeros(2, 1, 1, 2, 2)
    x[0, 0, 0, 1, 0], x[1, 0, 0, 0, 1] = 7., 3.
    ramp = torch.arange(9.).reshape(3, 3)
    feat = torch.stack([ramp, ramp + 100])[:, None, None]  # [N=2, 1, T=1, 3, 3]
    rois = torch.tensor([[1., 0, 0, 4, 4], [0., 0, 0, 4, 4]])
    out = head(x, feat=feat, rois=rois)
    assert out.shape == (2, 1, 1, 3, 3)
    torch.testing.assert_close(out[0, 0, 0], ramp + 107)  # actor 0 (max 7) in clip 1
    torch.testing.assert_close(out[1, 0, 0], ramp + 3)    # actor 1 (max 3) in clip 0


def test_acrn_keys_and_stride():
    head = HEADS.build(dict(type='ACRNHead', in_channels=6, out_channels=4, stride=2,
                            num_convs=2))
    keys = list(head.state_dict())
    assert keys[:2] == ['conv1.conv.weight', 'conv1.bn.weight']
    assert 'conv2.bn.running_var' in keys and 'convs.0.conv.weight' in keys
    head.init_weights()
    out = head.eval()(torch.randn(3, 2, 1, 4, 4), torch.randn(1, 4, 1, 5, 5),
                      torch.zeros(3, 5))
    assert out.shape == (3, 4, 1, 3, 3)  # stride 2 on 5x5
