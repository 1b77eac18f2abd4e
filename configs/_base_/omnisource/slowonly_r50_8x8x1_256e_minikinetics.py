# SlowOnly R-50 8x8, 256 epochs on Mini-Kinetics (200 classes), from scratch:
# what the OmniSource (https://arxiv.org/abs/2003.13042) configs of
# configs/recognition/omnisource/slowonly_r50_8x8x1_256e_minikinetics/ share; each adds its training
# data (data.train: one data set, or a list of them for OmniSource).
_base_ = ['../models/slowonly_r50.py',
          '../default_runtime.py']

model = dict(backbone=dict(pretrained=None), cls_head=dict(num_classes=200))

dataset_type = 'VideoDataset'
data_root = 'data/OmniSource/kinetics_200_train'
data_root_val = 'data/OmniSource/kinetics_200_val'
ann_file_train = 'data/OmniSource/annotations/kinetics_200/k200_train.txt'
ann_file_val = 'data/OmniSource/annotations/kinetics_200/k200_val.txt'
ann_file_test = 'data/OmniSource/annotations/kinetics_200/k200_val.txt'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)

val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs']),
]

data = dict(
    videos_per_gpu=12,
    workers_per_gpu=2,
    test_dataloader=dict(videos_per_gpu=1),
    val=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root_val,
             pipeline=val_pipeline),
    test=dict(type=dataset_type, ann_file=ann_file_test, data_prefix=data_root_val,
              pipeline=test_pipeline))
evaluation = dict(interval=8, metrics=['top_k_accuracy', 'mean_class_accuracy'])
# the OmniSource runner (MMAction2 sets it here too, with one training set)
omnisource = True

optimizer = dict(type='SGD', lr=0.15, momentum=0.9, weight_decay=0.0001)  # for 8 GPUs
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='CosineAnnealing', min_lr=0)
total_epochs = 256
checkpoint_config = dict(interval=8)
find_unused_parameters = False
