# PoseC3D fine-tuned from its Kinetics-400 pose model on HMDB51 split 1 (51 classes); otherwise
# as the UCF101 config.
_base_ = ['./slowonly_kinetics400_pretrained_r50_u48_120e_ucf101_split1_keypoint.py']

model = dict(cls_head=dict(num_classes=51))
ann_file = 'data/posec3d/hmdb51.pkl'
data = dict(train=dict(dataset=dict(ann_file=ann_file)), val=dict(ann_file=ann_file),
            test=dict(ann_file=ann_file))
optimizer = dict(weight_decay=0.0001)
work_dir = './work_dirs/posec3d_iclr/slowonly_kinetics400_pretrained_r50_u48_120e_hmdb51_split1_keypoint'  # noqa: E501
