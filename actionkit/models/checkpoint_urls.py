"""Where named pretrained weights live: the URL tables behind ``torchvision://``,
``open-mmlab://`` and ``mmcls://`` names (the names MMAction2 0.x configs use, mapped to the
URLs torchvision and mmcv 1.x map them to). Data only; :mod:`actionkit.models.weights` resolves
and downloads them.

``TORCHVISION_BASE_URL`` (or the environment variable ``ACTIONKIT_TORCHVISION_BASE_URL``) is
where torchvision files are fetched from; ``OPENMMLAB_BASE_URL`` (or
``ACTIONKIT_OPENMMLAB_BASE_URL``) the same for the other two tables (a mirror, or a local server
in tests).
"""
from __future__ import annotations

__all__ = ['TORCHVISION_BASE_URL', 'OPENMMLAB_BASE_URL', 'TORCHVISION_CHECKPOINTS',
           'OPEN_MMLAB_CHECKPOINTS', 'MMCLS_CHECKPOINTS', 'MMCLS_FOLDER']

TORCHVISION_BASE_URL = 'https://download.pytorch.org/models/'
OPENMMLAB_BASE_URL = 'https://download.openmmlab.com/'
MMCLS_FOLDER = 'mmclassification/v0/'

# the file names torchvision gives its ImageNet weights (downloaded: the first, IMAGENET1K_V1,
# which MMAction2 0.x models were trained from; also accepted when already cached: V2 and the
# pre-0.13 names)
TORCHVISION_CHECKPOINTS: dict[str, tuple[str, ...]] = {
    'resnet18': ('resnet18-f37072fd.pth', 'resnet18-5c106cde.pth'),
    'resnet34': ('resnet34-b627a593.pth', 'resnet34-333f7ec4.pth'),
    'resnet50': ('resnet50-0676ba61.pth', 'resnet50-11ad3fa6.pth', 'resnet50-19c8e357.pth'),
    'resnet101': ('resnet101-63fe2227.pth', 'resnet101-cd907fc2.pth',
                  'resnet101-5d3b4d8f.pth'),
    'resnet152': ('resnet152-394f9c45.pth', 'resnet152-f82ba261.pth',
                  'resnet152-b121ed2d.pth'),
}

# open-mmlab://NAME -> path under OPENMMLAB_BASE_URL (mmcv 1.x's open_mmlab.json)
OPEN_MMLAB_CHECKPOINTS: dict[str, str] = {
    'vgg16_caffe': 'pretrain/third_party/vgg16_caffe-292e1171.pth',
    'detectron/resnet50_caffe': 'pretrain/third_party/resnet50_caffe-788b5fa3.pth',
    'detectron2/resnet50_caffe': 'pretrain/third_party/resnet50_msra-5891d200.pth',
    'detectron/resnet101_caffe': 'pretrain/third_party/resnet101_caffe-3ad79236.pth',
    'detectron2/resnet101_caffe': 'pretrain/third_party/resnet101_msra-6cc46731.pth',
    'detectron2/resnext101_32x8d': 'pretrain/third_party/resnext101_32x8d-1516f1aa.pth',
    'resnext50_32x4d': 'pretrain/third_party/resnext50-32x4d-0ab1a123.pth',
    'resnext101_32x4d': 'pretrain/third_party/resnext101_32x4d-a5af3160.pth',
    'resnext101_64x4d': 'pretrain/third_party/resnext101_64x4d-ee2c6f71.pth',
    'contrib/resnet50_gn': 'pretrain/third_party/resnet50_gn_thangvubk-ad1730dd.pth',
    'detectron/resnet50_gn': 'pretrain/third_party/resnet50_gn-9186a21c.pth',
    'detectron/resnet101_gn': 'pretrain/third_party/resnet101_gn-cac0ab98.pth',
    'jhu/resnet50_gn_ws': 'pretrain/third_party/resnet50_gn_ws-15beedd8.pth',
    'jhu/resnet101_gn_ws': 'pretrain/third_party/resnet101_gn_ws-3e3c308c.pth',
    'jhu/resnext50_32x4d_gn_ws': 'pretrain/third_party/resnext50_32x4d_gn_ws-0d87ac85.pth',
    'jhu/resnext101_32x4d_gn_ws': 'pretrain/third_party/resnext101_32x4d_gn_ws-34ac1a9e.pth',
    'jhu/resnext50_32x4d_gn': 'pretrain/third_party/resnext50_32x4d_gn-c7e8b754.pth',
    'jhu/resnext101_32x4d_gn': 'pretrain/third_party/resnext101_32x4d_gn-ac3bb84e.pth',
    'msra/hrnetv2_w18_small': 'pretrain/third_party/hrnetv2_w18_small-b5a04e21.pth',
    'msra/hrnetv2_w18': 'pretrain/third_party/hrnetv2_w18-00eb2006.pth',
    'msra/hrnetv2_w32': 'pretrain/third_party/hrnetv2_w32-dc9eeb4f.pth',
    'msra/hrnetv2_w40': 'pretrain/third_party/hrnetv2_w40-ed0b031c.pth',
    'msra/hrnetv2_w48': 'pretrain/third_party/hrnetv2_w48-d2186c55.pth',
    'bninception_caffe': 'pretrain/third_party/bn_inception_caffe-ed2e8665.pth',
    'kin400/i3d_r50_f32s2_k400': 'pretrain/third_party/i3d_r50_f32s2_k400-2c57e077.pth',
    'kin400/nl3d_r50_f32s2_k400': 'pretrain/third_party/nl3d_r50_f32s2_k400-fa7e7caa.pth',
    'res2net101_v1d_26w_4s': 'pretrain/third_party/res2net101_v1d_26w_4s_mmdetv2-f0a600f9.pth',
    'regnetx_400mf': 'pretrain/third_party/regnetx_400mf-a5b10d96.pth',
    'regnetx_800mf': 'pretrain/third_party/regnetx_800mf-1f4be4c7.pth',
    'regnetx_1.6gf': 'pretrain/third_party/regnetx_1.6gf-5791c176.pth',
    'regnetx_3.2gf': 'pretrain/third_party/regnetx_3.2gf-c2599b0f.pth',
    'regnetx_4.0gf': 'pretrain/third_party/regnetx_4.0gf-a88f671e.pth',
    'regnetx_6.4gf': 'pretrain/third_party/regnetx_6.4gf-006af45d.pth',
    'regnetx_8.0gf': 'pretrain/third_party/regnetx_8.0gf-3c68abe7.pth',
    'regnetx_12gf': 'pretrain/third_party/regnetx_12gf-4c2a3350.pth',
    'resnet18_v1c': 'pretrain/third_party/resnet18_v1c-b5776b93.pth',
    'resnet50_v1c': 'pretrain/third_party/resnet50_v1c-2cccc1ad.pth',
    'resnet101_v1c': 'pretrain/third_party/resnet101_v1c-e67eebb6.pth',
    'mmedit/vgg16': 'mmediting/third_party/vgg_state_dict.pth',
    'mmedit/res34_en_nomixup': 'mmediting/third_party/model_best_resnet34_En_nomixup.pth',
    'mmedit/mobilenet_v2': 'mmediting/third_party/mobilenet_v2.pth',
    'resnest50': 'pretrain/third_party/resnest50_d2-7497a55b.pth',
    'resnest101': 'pretrain/third_party/resnest101_d2-f3b931b2.pth',
    'resnest200': 'pretrain/third_party/resnest200_d2-ca88e41f.pth',
    'darknet53': 'pretrain/third_party/darknet53-a628ea1b.pth',
}

# mmcls://NAME -> path under OPENMMLAB_BASE_URL + MMCLS_FOLDER (mmcv 1.x's mmcls.json)
MMCLS_CHECKPOINTS: dict[str, str] = {
    'vgg11': 'vgg/vgg11_batch256_imagenet_20210208-4271cd6c.pth',
    'vgg13': 'vgg/vgg13_batch256_imagenet_20210208-4d1d6080.pth',
    'vgg16': 'vgg/vgg16_batch256_imagenet_20210208-db26f1a5.pth',
    'vgg19': 'vgg/vgg19_bn_batch256_imagenet_20210208-da620c4f.pth',
    'vgg11_bn': 'vgg/vgg11_bn_batch256_imagenet_20210207-f244902c.pth',
    'vgg13_bn': 'vgg/vgg13_bn_batch256_imagenet_20210207-1a8b7864.pth',
    'vgg16_bn': 'vgg/vgg16_bn_batch256_imagenet_20210208-7e55cd29.pth',
    'vgg19_bn': 'vgg/vgg19_bn_batch256_imagenet_20210208-da620c4f.pth',
    'resnet18': 'resnet/resnet18_batch256_imagenet_20200708-34ab8f90.pth',
    'resnet34': 'resnet/resnet34_batch256_imagenet_20200708-32ffb4f7.pth',
    'resnet50': 'resnet/resnet50_batch256_imagenet_20200708-cfb998bf.pth',
    'resnet101': 'resnet/resnet101_batch256_imagenet_20200708-753f3608.pth',
    'resnet152': 'resnet/resnet152_batch256_imagenet_20200708-ec25b1f9.pth',
    'resnet50_v1d': 'resnet/resnetv1d50_batch256_imagenet_20200708-1ad0ce94.pth',
    'resnet101_v1d': 'resnet/resnetv1d101_batch256_imagenet_20200708-9cb302ef.pth',
    'resnet152_v1d': 'resnet/resnetv1d152_batch256_imagenet_20200708-e79cb6a2.pth',
    'resnext50_32x4d': 'resnext/resnext50_32x4d_b32x8_imagenet_20210429-56066e27.pth',
    'resnext101_32x4d': 'resnext/resnext101_32x4d_b32x8_imagenet_20210506-e0fa3dd5.pth',
    'resnext101_32x8d': 'resnext/resnext101_32x8d_b32x8_imagenet_20210506-23a247d5.pth',
    'resnext152_32x4d': 'resnext/resnext152_32x4d_b32x8_imagenet_20210524-927787be.pth',
    'se-resnet50': 'se-resnet/se-resnet50_batch256_imagenet_20200804-ae206104.pth',
    'se-resnet101': 'se-resnet/se-resnet101_batch256_imagenet_20200804-ba5b51d4.pth',
    'resnest50': 'resnest/resnest50_imagenet_converted-1ebf0afe.pth',
    'resnest101': 'resnest/resnest101_imagenet_converted-032caa52.pth',
    'resnest200': 'resnest/resnest200_imagenet_converted-581a60f2.pth',
    'resnest269': 'resnest/resnest269_imagenet_converted-59930960.pth',
    'shufflenet_v1': 'shufflenet_v1/shufflenet_v1_batch1024_imagenet_20200804-5d6cec73.pth',
    'shufflenet_v2': 'shufflenet_v2/shufflenet_v2_batch1024_imagenet_20200812-5bf4721e.pth',
    'mobilenet_v2': 'mobilenet_v2/mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth',
}
