# ST-GCN (MMAction2's full 10-block network, spatial COCO graph) on the synthetic skeleton set
# (actionkit.datasets.synthetic_pose): 6 classes in time-reversed pairs, one person, 20 frames
# sampled uniformly. Make the data first:
#   python tools/data/skeleton/make_synthetic_pose.py data/synthetic_pose
_base_ = ['../_base_/default_runtime.py']

model = dict(
    type='SkeletonGCN',
    backbone=dict(type='STGCN', in_channels=3, edge_importance_weighting=True,
                  graph_cfg=dict(layout='coco', strategy='spatial')),
    cls_head=dict(type='STGCNHead', num_classes=6, in_channels=256, num_person=1),
    train_cfg=None,
    test_cfg=None)

dataset_type = 'PoseDataset'
ann_file_train = 'data/synthetic_pose/train.pkl'
ann_file_val = 'data/synthetic_pose/val.pkl'
# keypoints in a 320 x 240 frame, scores in [0, 1]
normalize = dict(type='PoseNormalize', mean=(160., 120., 0.5), min_value=(0., 0., 0.),
                 max_value=(320., 240., 1.))
train_pipeline = [
    dict(type='UniformSampleFrames', clip_len=20),
    dict(type='PoseDecode'),
    dict(type='FormatGCNInput', input_format='NCTVM', num_person=1),
    normalize,
    dict(type='Collect', keys=['keypoint', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['keypoint']),
]
val_pipeline = [
    dict(type='UniformSampleFrames', clip_len=20, num_clips=1, test_mode=True),
    *train_pipeline[1:],
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
total_epochs = 3
evaluation = dict(interval=1, metrics=['top_k_accuracy', 'mean_class_accuracy'], topk=(1, ))
checkpoint_config = dict(interval=3)
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
work_dir = './work_dirs/stgcn_synthetic_pose/'
