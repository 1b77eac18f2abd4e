# A narrow SlowOnly (3D ResNet-18, widths 16-32-64-128, like the demo's TSM) on the synthetic
# action set: one clip of 8 frames taken every 4th frame of the 64 px videos, trained at 48 px.
# Every stage has temporal kernels: with the 0.x SlowOnly's (0, 0, 1, 1) only the last two
# stages do, where 48 px frames are down to 3x3 and 2x2 maps. And the residual branches do not
# start at zero (ResNet3d's zero_init_residual=True): from scratch that trained several times
# slower here (docs/benchmarks.md, "3D learning check").
_base_ = ['./tsm_r18_1x1x8_synthetic_video.py']

model = dict(
    _delete_=True,
    type='Recognizer3D',
    backbone=dict(type='ResNet3dSlowOnly', depth=18, base_channels=16, pretrained=None,
                  pretrained2d=False, lateral=False, conv1_kernel=(1, 7, 7),
                  conv1_stride_t=1, pool1_stride_t=1, inflate=(1, 1, 1, 1), norm_eval=False,
                  zero_init_residual=False),
    cls_head=dict(type='I3DHead', num_classes=10, in_channels=128, spatial_type='avg',
                  dropout_ratio=0.2, init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips='prob'))

img_norm_cfg = dict(mean=[127.5, 127.5, 127.5], std=[64.0, 64.0, 64.0], to_bgr=False)
train_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=4, num_clips=1),
    dict(type='PyAVDecode'),
    dict(type='RandomResizedCrop', area_range=(0.7, 1.0)),
    dict(type='Resize', scale=(48, 48), keep_ratio=False),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
val_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=4, num_clips=1, test_mode=True),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(48, 48), keep_ratio=False),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
data = dict(train=dict(pipeline=train_pipeline), val=dict(pipeline=val_pipeline),
            test=dict(pipeline=val_pipeline))
work_dir = './work_dirs/slowonly_r18_8x4x1_synthetic_video/'
