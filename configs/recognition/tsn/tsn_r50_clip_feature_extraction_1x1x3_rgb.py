# TSN R-50 as a clip feature extractor (tools/misc/clip_feature_extraction.py): no head; each
# video gives the backbone output averaged over 25 frames and space (2048 values).
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', pretrained='torchvision://resnet50', depth=50,
                  norm_eval=False),
    train_cfg=None,
    test_cfg=dict(feature_extraction=True))

dataset_type = 'VideoDataset'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
test_pipeline = [
    dict(type='DecordInit', num_threads=1),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=25, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs'])
]
data = dict(
    videos_per_gpu=1,
    workers_per_gpu=2,
    test_dataloader=dict(videos_per_gpu=1),
    test=dict(type=dataset_type, ann_file=None, data_prefix=None, pipeline=test_pipeline))

dist_params = dict(backend='nccl')
