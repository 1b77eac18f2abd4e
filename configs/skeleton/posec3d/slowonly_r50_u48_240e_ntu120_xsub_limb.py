# PoseC3D (limb heatmaps) as in the NTU-60 X-Sub config, on ntu120_xsub (120 classes).
_base_ = ['./slowonly_r50_u48_240e_ntu60_xsub_limb.py']

model = dict(cls_head=dict(num_classes=120))
# MMAction2's config names NTU-60's files here
ann_file_train = 'data/posec3d/ntu60_xsub_train.pkl'
ann_file_val = 'data/posec3d/ntu60_xsub_val.pkl'
# NTU-120's second 60 classes are drawn twice as often in training
class_prob = {i: 1 + int(i >= 60) for i in range(120)}
data = dict(train=dict(class_prob=class_prob, ann_file=ann_file_train),
            val=dict(ann_file=ann_file_val), test=dict(ann_file=ann_file_val))
work_dir = './work_dirs/posec3d/slowonly_r50_u48_240e_ntu120_xsub_limb'
