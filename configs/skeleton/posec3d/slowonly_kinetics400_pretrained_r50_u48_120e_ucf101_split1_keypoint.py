# PoseC3D fine-tuned from its Kinetics-400 pose model on UCF101 split 1 (101 classes):
# a 3-4-6 SlowOnly on 48 x 48 training crops, 12 epochs of 10 repeats.
# Standalone, like MMAction2's file (inheriting the NTU-60 config would add its file names).

model = dict(
    type='Recognizer3D',
    backbone=dict(type='ResNet3dSlowOnly', depth=50, pretrained=None, in_channels=17,
                  base_channels=32, num_stages=3, out_indices=(2, ), stage_blocks=(3, 4, 6),
                  conv1_stride_s=1, pool1_stride_s=1, inflate=(0, 1, 1),
                  spatial_strides=(2, 2, 2), temporal_strides=(1, 1, 2), dilations=(1, 1, 1)),
    cls_head=dict(type='I3DHead', in_channels=512, num_classes=101, spatial_type='avg',
                  dropout_ratio=0.5),
    train_cfg=dict(),
    test_cfg=dict(average_clips='prob'))

dataset_type = 'PoseDataset'
ann_file = 'data/posec3d/ucf101.pkl'
left_kp = [1, 3, 5, 7, 9, 11, 13, 15]
right_kp = [2, 4, 6, 8, 10, 12, 14, 16]
heatmaps = dict(type='GeneratePoseTarget', sigma=0.6, use_score=True, with_kp=True,
                with_limb=False)
shared = [
    dict(type='PoseDecode'),
    dict(type='PoseCompact', hw_ratio=1., allow_imgpad=True),
]
tail = [
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
]
train_pipeline = [
    dict(type='UniformSampleFrames', clip_len=48), *shared,
    dict(type='Resize', scale=(-1, 64)),
    dict(type='RandomResizedCrop', area_range=(0.56, 1.0)),
    dict(type='Resize', scale=(48, 48), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5, left_kp=left_kp, right_kp=right_kp),
    heatmaps, *tail, dict(type='ToTensor', keys=['imgs', 'label']),
]
val_pipeline = [
    dict(type='UniformSampleFrames', clip_len=48, num_clips=1, test_mode=True), *shared,
    dict(type='Resize', scale=(-1, 56)), dict(type='CenterCrop', crop_size=56),
    heatmaps, *tail, dict(type='ToTensor', keys=['imgs']),
]
test_pipeline = [
    dict(type='UniformSampleFrames', clip_len=48, num_clips=10, test_mode=True), *shared,
    dict(type='Resize', scale=(-1, 56)), dict(type='CenterCrop', crop_size=56),
    dict(heatmaps, double=True, left_kp=left_kp, right_kp=right_kp),
    *tail, dict(type='ToTensor', keys=['imgs']),
]
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=2,
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(type='RepeatDataset', times=10,
               dataset=dict(type=dataset_type, ann_file=ann_file, split='train1',
                            data_prefix='', pipeline=train_pipeline)),
    val=dict(type=dataset_type, ann_file=ann_file, split='test1', data_prefix='',
             pipeline=val_pipeline),
    test=dict(type=dataset_type, ann_file=ann_file, split='test1', data_prefix='',
              pipeline=test_pipeline))

optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0003)
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='step', step=[9, 11])
total_epochs = 12
checkpoint_config = dict(interval=1)
workflow = [('train', 1)]
evaluation = dict(interval=1, metrics=['top_k_accuracy', 'mean_class_accuracy'],
                  topk=(1, 5))
load_from = 'https://download.openmmlab.com/mmaction/skeleton/posec3d/k400_posec3d-041f49c6.pth'
find_unused_parameters = True
work_dir = './work_dirs/posec3d_iclr/slowonly_kinetics400_pretrained_r50_u48_120e_ucf101_split1_keypoint'  # noqa: E501
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
resume_from = None
