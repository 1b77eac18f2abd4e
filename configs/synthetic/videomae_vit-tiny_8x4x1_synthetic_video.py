# A VideoMAE-style ViT (MMAction2 1.x's VisionTransformer) at small width on the synthetic action
# set: 8 frames every 4th frame at 48 px, 8 x 8 px patches and 4-frame tubelets (2 x 6 x 6 = 72
# tokens), 4 blocks of width 128 with 4 heads, attention scale 0.5, from scratch, lr 5e-4,
# gradients clipped at norm 1, 30 epochs. The pipeline
# leaves the frames uint8 and the model's 1.x data_preprocessor (ActionDataPreprocessor)
# normalises each batch, as 1.x configs do. From scratch a ViT needs more clips than the demo's
# 2 500: the learning check trains on the same generator's set with 10 000 training clips (and
# the demo's 500 validation clips), `python benchmarks/vit_learning_check.py`; docs/benchmarks.md,
# "ViT learning check".
_base_ = ['./slowonly_r18_8x4x1_synthetic_video.py']

model = dict(
    _delete_=True,
    type='Recognizer3D',
    backbone=dict(type='VisionTransformer', img_size=48, patch_size=8, embed_dims=128, depth=4,
                  num_heads=4, mlp_ratio=4, qkv_bias=True, qk_scale=0.5, num_frames=8,
                  tubelet_size=4, norm_cfg=dict(type='LN', eps=1e-6)),
    cls_head=dict(type='TimeSformerHead', num_classes=10, in_channels=128, average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor', mean=[127.5, 127.5, 127.5],
                           std=[64.0, 64.0, 64.0], format_shape='NCTHW'))

train_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=4, num_clips=1),
    dict(type='PyAVDecode'),
    dict(type='RandomResizedCrop', area_range=(0.7, 1.0)),
    dict(type='Resize', scale=(48, 48), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
val_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=4, num_clips=1, test_mode=True),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(48, 48), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
data = dict(train=dict(pipeline=train_pipeline), val=dict(pipeline=val_pipeline),
            test=dict(pipeline=val_pipeline))
optimizer = dict(lr=5e-4, weight_decay=0.05)
lr_config = dict(warmup_iters=157)  # warm-up: one epoch of the demo's 2 500 clips
optimizer_config = dict(grad_clip=dict(max_norm=1.0))
total_epochs = 30
work_dir = './work_dirs/videomae_vit-tiny_8x4x1_synthetic_video/'
