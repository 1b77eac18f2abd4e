_base_ = [
    '../../_base_/models/tiny_tsn.py', '../../_base_/schedules/sgd_10e.py',
    '../../_base_/default_runtime.py'
]
import math  # noqa: E402  (modules are not config values)

# variables of this file can be used further down in it
dataset_type = 'RawframeDataset'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
_private_helper = 3  # names starting with '_' are dropped


def helper(x):  # functions are dropped
    return x


train_pipeline = [
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
]
data = dict(
    videos_per_gpu=2,
    workers_per_gpu=helper(_private_helper) - 3,
    train=dict(type=dataset_type, ann_file='train.txt', data_prefix='', pipeline=train_pipeline))
model = dict(backbone=dict(depth=50), cls_head=dict(in_channels=2048))
# `_delete_` replaces the base dict instead of merging into it
optimizer = dict(_delete_=True, type='Adam', lr=round(math.sqrt(1e-6), 6))
lr_config = dict(step=[6, 9])
total_epochs = 12
