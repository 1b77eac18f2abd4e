# PoseC3D (keypoint heatmaps) as in the NTU-60 X-Sub config, on gym (99 classes).
_base_ = ['./slowonly_r50_u48_240e_ntu60_xsub_keypoint.py']

model = dict(cls_head=dict(num_classes=99))
ann_file_train = 'data/posec3d/gym_train.pkl'
ann_file_val = 'data/posec3d/gym_val.pkl'
data = dict(train=dict(ann_file=ann_file_train), val=dict(ann_file=ann_file_val),
            test=dict(ann_file=ann_file_val))
work_dir = './work_dirs/posec3d/slowonly_r50_u48_240e_gym_keypoint'
