# PoseC3D, narrow: a 3-stage SlowOnly ResNet-18 (widths 16-32-64, stem stride 2) on 17 joint
# heatmaps of 16 frames at 32 x 32, on the synthetic skeleton set
# (actionkit.datasets.synthetic_pose; 6 classes in time-reversed pairs). Unlike PoseC3D's
# inflate=(0, 1, 1), every stage has temporal kernels: with one block a stage, the first stage
# without them left "lowering the arm" unlearnt (all taken for "raising", 83 % val top-1 after 6
# epochs; docs/benchmarks.md). No Flip: "stepping right" and "stepping left" are different
# classes. Data first:
#   python tools/data/skeleton/make_synthetic_pose.py data/synthetic_pose
_base_ = ['../_base_/default_runtime.py']

model = dict(
    type='Recognizer3D',
    backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained=None, pretrained2d=False,
                  in_channels=17, base_channels=16, num_stages=3, out_indices=(2, ),
                  stage_blocks=(1, 1, 1), conv1_stride_s=2, pool1_stride_s=1,
                  inflate=(1, 1, 1), spatial_strides=(2, 2, 2), temporal_strides=(1, 1, 2),
                  dilations=(1, 1, 1), zero_init_residual=False),
    cls_head=dict(type='I3DHead', in_channels=64, num_classes=6, spatial_type='avg',
                  dropout_ratio=0.2),
    train_cfg=dict(),
    test_cfg=dict(average_clips='prob'))

dataset_type = 'PoseDataset'
ann_file_train = 'data/synthetic_pose/train.pkl'
ann_file_val = 'data/synthetic_pose/val.pkl'
heatmaps = dict(type='GeneratePoseTarget', sigma=0.6, use_score=True, with_kp=True,
                with_limb=False)
train_pipeline = [
    dict(type='UniformSampleFrames', clip_len=16),
    dict(type='PoseDecode'),
    dict(type='PoseCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='RandomResizedCrop', area_range=(0.7, 1.0)),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    heatmaps,
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
val_pipeline = [
    dict(type='UniformSampleFrames', clip_len=16, num_clips=1, test_mode=True),
    dict(type='PoseDecode'),
    dict(type='PoseCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(-1, 32)),
    dict(type='CenterCrop', crop_size=32),
    heatmaps,
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=1,
    test_dataloader=dict(videos_per_gpu=32),
    val_dataloader=dict(videos_per_gpu=32),
    train=dict(type=dataset_type, ann_file=ann_file_train, pipeline=train_pipeline),
    val=dict(type=dataset_type, ann_file=ann_file_val, pipeline=val_pipeline),
    test=dict(type=dataset_type, ann_file=ann_file_val, pipeline=val_pipeline))

optimizer = dict(type='AdamW', lr=2e-3, weight_decay=1e-4)
optimizer_config = dict(grad_clip=dict(max_norm=20, norm_type=2))
lr_config = dict(policy='CosineAnnealing', min_lr=1e-5, by_epoch=False)
total_epochs = 6
evaluation = dict(interval=1, metrics=['top_k_accuracy', 'mean_class_accuracy'], topk=(1, ))
checkpoint_config = dict(interval=6)
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
work_dir = './work_dirs/posec3d_slowonly_r18_synthetic_pose/'
