# ST-GCN (spatial partition) on NTU-60 X-Sub 2D COCO poses: 300 looped frames, 80 epochs.
# standalone, like MMAction2's file (no mp_start_method / opencv_num_threads)

model = dict(
    type='SkeletonGCN',
    backbone=dict(type='STGCN', in_channels=3, edge_importance_weighting=True,
                  graph_cfg=dict(layout='coco', strategy='spatial')),
    cls_head=dict(type='STGCNHead', num_classes=60, in_channels=256,
                  loss_cls=dict(type='CrossEntropyLoss')),
    train_cfg=None,
    test_cfg=None)

dataset_type = 'PoseDataset'
ann_file_train = 'data/posec3d/ntu60_xsub_train.pkl'
ann_file_val = 'data/posec3d/ntu60_xsub_val.pkl'
pipeline = [  # the same for training and testing
    dict(type='PaddingWithLoop', clip_len=300),
    dict(type='PoseDecode'),
    dict(type='FormatGCNInput', input_format='NCTVM'),
    dict(type='PoseNormalize'),
    dict(type='Collect', keys=['keypoint', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['keypoint']),
]
train_pipeline = val_pipeline = test_pipeline = pipeline
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=2,
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(type=dataset_type, ann_file=ann_file_train, data_prefix='', pipeline=pipeline),
    val=dict(type=dataset_type, ann_file=ann_file_val, data_prefix='', pipeline=pipeline),
    test=dict(type=dataset_type, ann_file=ann_file_val, data_prefix='', pipeline=pipeline))

optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001, nesterov=True)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[10, 50])
total_epochs = 80
checkpoint_config = dict(interval=5)
evaluation = dict(interval=5, metrics=['top_k_accuracy'])
log_config = dict(interval=100, hooks=[dict(type='TextLoggerHook')])
work_dir = './work_dirs/stgcn_80e_ntu60_xsub_keypoint/'
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
