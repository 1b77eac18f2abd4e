# SlowFast R-50 "8x8" trained with multigrid (https://arxiv.org/abs/1912.00998): the long cycle
# trains on coarser clips with larger batches first; total_epochs * epoch_factor = 358 epochs.
# Standalone, like MMAction2's file: tau=4, alpha=4, 1/beta=8, lateral norm, fusion kernel 7.
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNet3dSlowFast',
        pretrained=None,
        resample_rate=4,  # tau
        speed_ratio=4,  # alpha
        channel_ratio=8,  # 1 / beta
        slow_pathway=dict(type='resnet3d', depth=50, pretrained=None, lateral=True,
                          conv1_kernel=(1, 7, 7), dilations=(1, 1, 1, 1), conv1_stride_t=1,
                          pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False,
                          lateral_norm=True, fusion_kernel=7),
        fast_pathway=dict(type='resnet3d', depth=50, pretrained=None, lateral=False,
                          base_channels=8, conv1_kernel=(5, 7, 7), conv1_stride_t=1,
                          pool1_stride_t=1, norm_eval=False)),
    cls_head=dict(type='SlowFastHead', in_channels=2304, num_classes=400, spatial_type='avg',
                  dropout_ratio=0.5),
    train_cfg=None,
    test_cfg=dict(average_clips='prob'))
train_cfg = None
test_cfg = dict(average_clips='prob')

dataset_type = 'RawframeDataset'
data_root = 'data/kinetics400/rawframes_train'
data_root_val = 'data/kinetics400/rawframes_val'
ann_file_train = 'data/kinetics400/kinetics400_train_list_rawframes.txt'
ann_file_val = 'data/kinetics400/kinetics400_val_list_rawframes.txt'
ann_file_test = 'data/kinetics400/kinetics400_val_list_rawframes.txt'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)

train_pipeline = [
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=1),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
val_pipeline = [
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=1, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
test_pipeline = [
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=10, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
data = dict(
    videos_per_gpu=8,
    workers_per_gpu=4,
    train=dict(type=dataset_type, ann_file=ann_file_train, data_prefix=data_root,
               pipeline=train_pipeline),
    val=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root_val,
             pipeline=val_pipeline),
    test=dict(type=dataset_type, ann_file=ann_file_test, data_prefix=data_root_val,
              pipeline=test_pipeline))
evaluation = dict(interval=3, metrics=['top_k_accuracy', 'mean_class_accuracy'])

optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001)  # lr for 8 GPUs
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
# step milestones: multigrid turns them into its stages and a RelativeStep lr schedule
lr_config = dict(policy='step', step=[94, 154, 196])
total_epochs = 239

multigrid = dict(
    long_cycle=True,
    short_cycle=True,
    epoch_factor=1.5,
    long_cycle_factors=[[0.25, 0.7071], [0.5, 0.7071], [0.5, 1], [1, 1]],
    short_cycle_factors=[0.5, 0.7071],
    default_s=(224, 224),
)
precise_bn = dict(num_iters=200, interval=3)

checkpoint_config = dict(interval=3)
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = './work_dirs/slowfast_multigrid_r50_8x8x1_358e_kinetics400_rgb'
load_from = None
resume_from = None
workflow = [('train', 1)]
find_unused_parameters = False
