# Inference-only TSN R-50 config for rawframe folders (the getting-started guide's example):
# 25 segments x three crops. `data_prefix=None` means folder paths are used as given.
_base_ = ['../../_base_/models/tsn_r50.py']

dataset_type = 'RawframeDataset'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
test_pipeline = [
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=25, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
data = dict(
    videos_per_gpu=1,
    workers_per_gpu=2,
    test=dict(type=dataset_type, ann_file=None, data_prefix=None, pipeline=test_pipeline))
