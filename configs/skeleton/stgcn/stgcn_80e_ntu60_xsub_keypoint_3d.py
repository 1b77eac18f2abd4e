# ST-GCN on NTU-60 X-Sub 3D skeletons (25 Kinect joints, x y z), no normalization step.
_base_ = ['./stgcn_80e_ntu60_xsub_keypoint.py']

model = dict(backbone=dict(graph_cfg=dict(layout='ntu-rgb+d')))
ann_file_train = 'data/ntu/nturgb+d_skeletons_60_3d_nmtvc/xsub/train.pkl'
ann_file_val = 'data/ntu/nturgb+d_skeletons_60_3d_nmtvc/xsub/val.pkl'
pipeline = [
    dict(type='PaddingWithLoop', clip_len=300),
    dict(type='PoseDecode'),
    dict(type='FormatGCNInput', input_format='NCTVM'),
    dict(type='Collect', keys=['keypoint', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['keypoint']),
]
train_pipeline = val_pipeline = test_pipeline = pipeline
data = dict(videos_per_gpu=32,
            train=dict(ann_file=ann_file_train, pipeline=pipeline),
            val=dict(ann_file=ann_file_val, pipeline=pipeline),
            test=dict(ann_file=ann_file_val, pipeline=pipeline))
checkpoint_config = dict(interval=3)
evaluation = dict(interval=3)
work_dir = './work_dirs/stgcn_80e_ntu60_xsub_keypoint_3d/'
