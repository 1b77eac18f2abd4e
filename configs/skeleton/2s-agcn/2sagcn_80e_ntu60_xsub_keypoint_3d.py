# 2s-AGCN, joint stream: as the bone config without JointToBone.
_base_ = ['./2sagcn_80e_ntu60_xsub_bone_3d.py']

pipeline = [
    dict(type='PaddingWithLoop', clip_len=300),
    dict(type='PoseDecode'),
    dict(type='FormatGCNInput', input_format='NCTVM'),
    dict(type='Collect', keys=['keypoint', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['keypoint']),
]
train_pipeline = val_pipeline = test_pipeline = pipeline
data = dict(train=dict(pipeline=pipeline), val=dict(pipeline=pipeline),
            test=dict(pipeline=pipeline))
work_dir = './work_dirs/2sagcn_80e_ntu60_xsub_keypoint_3d/'
