# Inference-only TSN R-50 config for single videos (the getting-started guide's example):
# 25 segments x ten crops, decoded with OpenCV. `data_prefix=None` means the paths given to
# inference_recognizer are used as they are.
_base_ = ['../../_base_/models/tsn_r50.py']

dataset_type = 'VideoDataset'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
test_pipeline = [
    dict(type='OpenCVInit', num_threads=1),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=25, test_mode=True),
    dict(type='OpenCVDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='TenCrop', crop_size=224),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
data = dict(
    videos_per_gpu=1,
    workers_per_gpu=2,
    test=dict(type=dataset_type, ann_file=None, data_prefix=None, pipeline=test_pipeline))
