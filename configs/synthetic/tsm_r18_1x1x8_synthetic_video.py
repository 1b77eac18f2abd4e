# The demo's model: a narrow TSM ResNet-18 (widths 16-32-64-128) on the synthetic action set,
# 8 segments x 1 frame of 64 px videos, trained at 48 px (an epoch takes 22 s on two cores
# instead of 36 s at 64 px). Trains in a few minutes; half of the classes differ only in
# temporal order, which the temporal shift can see.
_base_ = ['../_base_/default_runtime.py']

num_segments = 8
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNetTSM', depth=18, base_channels=16, num_segments=num_segments,
                  shift_div=8, pretrained=None, norm_eval=False),
    cls_head=dict(type='TSMHead', num_classes=10, in_channels=128, num_segments=num_segments,
                  spatial_type='avg', consensus=dict(type='AvgConsensus', dim=1),
                  dropout_ratio=0.2, init_std=0.01, is_shift=True),
    train_cfg=None,
    test_cfg=dict(average_clips='prob'))

dataset_type = 'VideoDataset'
data_root = 'data/synthetic/videos'
ann_file_train = 'data/synthetic/train_list_videos.txt'
ann_file_val = 'data/synthetic/val_list_videos.txt'
img_norm_cfg = dict(mean=[127.5, 127.5, 127.5], std=[64.0, 64.0, 64.0], to_bgr=False)

# no Flip: "moving left" and "moving right" are different classes
train_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=num_segments),
    dict(type='PyAVDecode'),
    dict(type='RandomResizedCrop', area_range=(0.7, 1.0)),
    dict(type='Resize', scale=(48, 48), keep_ratio=False),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
val_pipeline = [
    dict(type='PyAVInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=num_segments,
         test_mode=True),
    dict(type='PyAVDecode'),
    dict(type='Resize', scale=(48, 48), keep_ratio=False),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=1,  # with one torch thread: the fastest split of two cores (see demo)
    val_dataloader=dict(videos_per_gpu=32),
    test_dataloader=dict(videos_per_gpu=32),
    train=dict(type=dataset_type, ann_file=ann_file_train, data_prefix=data_root,
               pipeline=train_pipeline),
    val=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root,
             pipeline=val_pipeline),
    test=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root,
              pipeline=val_pipeline))

optimizer = dict(type='AdamW', lr=1e-3, weight_decay=1e-4)
optimizer_config = dict(grad_clip=dict(max_norm=20, norm_type=2))
lr_config = dict(policy='CosineAnnealing', min_lr=1e-5, warmup='linear', warmup_iters=50,
                 warmup_ratio=0.1, by_epoch=False)
total_epochs = 9
evaluation = dict(interval=1, metrics=['top_k_accuracy', 'mean_class_accuracy'],
                  save_best='top1_acc')
checkpoint_config = dict(interval=1, max_keep_ckpts=2)
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
work_dir = './work_dirs/tsm_r18_1x1x8_synthetic_video/'
