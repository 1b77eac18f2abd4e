# SlowOnly R-50 4x16 as a clip feature extractor (tools/misc/clip_feature_extraction.py): no
# head; each video gives the backbone output averaged over 10 clips, time and space.
model = dict(
    type='Recognizer3D',
    backbone=dict(type='ResNet3dSlowOnly', depth=50, pretrained=None, lateral=False,
                  conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                  inflate=(0, 0, 1, 1), norm_eval=False),
    train_cfg=None,
    test_cfg=dict(feature_extraction=True))

dataset_type = 'VideoDataset'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=16, num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs'])
]
data = dict(
    videos_per_gpu=1,
    workers_per_gpu=2,
    test=dict(type=dataset_type, ann_file=None, data_prefix=None, pipeline=test_pipeline))

dist_params = dict(backend='nccl')
