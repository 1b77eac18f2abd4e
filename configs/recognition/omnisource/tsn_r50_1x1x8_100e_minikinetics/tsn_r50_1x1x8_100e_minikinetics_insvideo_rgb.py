# TSN R-50, 8 segments, 100 epochs on Mini-Kinetics (200 classes),
# trained jointly with the insvideo web data (OmniSource): data.train lists the main data set
# first, then the auxiliary ones.
_base_ = ['../../../_base_/omnisource/tsn_r50_1x1x8_100e_minikinetics.py']

omnisource = True

dataset_type = 'VideoDataset'
data_root = 'data/OmniSource/kinetics_200_train'
ann_file_train = 'data/OmniSource/annotations/kinetics_200/k200_train.txt'
iv_root = 'data/OmniSource/insvideo_200'
ann_file_iv = ('data/OmniSource/annotations/insvideo_200/'
               'slowonly_8x8_insvideo_200_wodup.txt')
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]
train_iv_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs', 'label']),
]

data = dict(
    train=[
        dict(type=dataset_type, ann_file=ann_file_train, data_prefix=data_root,
             pipeline=train_pipeline),
        dict(type=dataset_type, ann_file=ann_file_iv, data_prefix=iv_root,
             pipeline=train_iv_pipeline, num_classes=200, sample_by_class=True, power=0.5),
    ])

work_dir = './work_dirs/omnisource/tsn_r50_1x1x8_100e_minikinetics_insvideo_rgb'
