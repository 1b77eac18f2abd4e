# PoseC3D on the 17 COCO limb heatmaps instead of the joints; otherwise as the keypoint config.
_base_ = ['./slowonly_r50_u48_240e_ntu60_xsub_keypoint.py']

skeletons = [[0, 5], [0, 6], [5, 7], [7, 9], [6, 8], [8, 10], [5, 11], [11, 13], [13, 15],
             [6, 12], [12, 14], [14, 16], [0, 1], [0, 2], [1, 3], [2, 4], [11, 12]]
left_kp = [1, 3, 5, 7, 9, 11, 13, 15]
right_kp = [2, 4, 6, 8, 10, 12, 14, 16]
# the limb target, under the name of the joint one it replaces (no unused helper is left)
heatmaps = dict(type='GeneratePoseTarget', sigma=0.6, use_score=True, with_kp=False,
                with_limb=True, skeletons=skeletons)
shared = [
    dict(type='PoseDecode'),
    dict(type='PoseCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(-1, 64)),
]
tail = [
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
]
train_pipeline = [
    dict(type='UniformSampleFrames', clip_len=48), *shared,
    dict(type='RandomResizedCrop', area_range=(0.56, 1.0)),
    dict(type='Resize', scale=(56, 56), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5, left_kp=left_kp, right_kp=right_kp),
    heatmaps, *tail, dict(type='ToTensor', keys=['imgs', 'label']),
]
val_pipeline = [
    dict(type='UniformSampleFrames', clip_len=48, num_clips=1, test_mode=True), *shared,
    dict(type='CenterCrop', crop_size=64), heatmaps, *tail,
    dict(type='ToTensor', keys=['imgs']),
]
test_pipeline = [
    dict(type='UniformSampleFrames', clip_len=48, num_clips=10, test_mode=True), *shared,
    dict(type='CenterCrop', crop_size=64),
    dict(heatmaps, double=True, left_kp=left_kp, right_kp=right_kp),
    *tail, dict(type='ToTensor', keys=['imgs']),
]
data = dict(train=dict(pipeline=train_pipeline), val=dict(pipeline=val_pipeline),
            test=dict(pipeline=test_pipeline))
work_dir = './work_dirs/posec3d/slowonly_r50_u48_240e_ntu60_xsub_limb'
