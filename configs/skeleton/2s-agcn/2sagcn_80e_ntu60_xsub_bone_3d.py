# 2s-AGCN, bone stream: NTU-60 X-Sub 3D skeletons (25 joints) as bones, 300 frames, 80 epochs.
# standalone, like MMAction2's file (no mp_start_method / opencv_num_threads)

model = dict(
    type='SkeletonGCN',
    backbone=dict(type='AGCN', in_channels=3, graph_cfg=dict(layout='ntu-rgb+d',
                                                             strategy='agcn')),
    cls_head=dict(type='STGCNHead', num_classes=60, in_channels=256,
                  loss_cls=dict(type='CrossEntropyLoss')),
    train_cfg=None,
    test_cfg=None)

dataset_type = 'PoseDataset'
ann_file_train = 'data/ntu/nturgb+d_skeletons_60_3d/xsub/train.pkl'
ann_file_val = 'data/ntu/nturgb+d_skeletons_60_3d/xsub/val.pkl'
pipeline = [  # the same for training and testing
    dict(type='PaddingWithLoop', clip_len=300),
    dict(type='PoseDecode'),
    dict(type='JointToBone'),
    dict(type='FormatGCNInput', input_format='NCTVM'),
    dict(type='Collect', keys=['keypoint', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['keypoint']),
]
train_pipeline = val_pipeline = test_pipeline = pipeline
data = dict(
    videos_per_gpu=12,
    workers_per_gpu=2,
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(type=dataset_type, ann_file=ann_file_train, data_prefix='', pipeline=pipeline),
    val=dict(type=dataset_type, ann_file=ann_file_val, data_prefix='', pipeline=pipeline),
    test=dict(type=dataset_type, ann_file=ann_file_val, data_prefix='', pipeline=pipeline))

optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001, nesterov=True)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[30, 40])
total_epochs = 80
checkpoint_config = dict(interval=3)
evaluation = dict(interval=3, metrics=['top_k_accuracy'])
log_config = dict(interval=100, hooks=[dict(type='TextLoggerHook')])
work_dir = './work_dirs/2sagcn_80e_ntu60_xsub_bone_3d/'
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
