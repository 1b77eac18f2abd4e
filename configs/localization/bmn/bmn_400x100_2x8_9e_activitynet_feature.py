# BMN, ActivityNet v1.3 features (100 steps x 400-d), 2 GPUs x 8 videos, 9 epochs.
# Evaluated with AR@AN; `tools/test.py ... --out results.json` writes the proposals.
_base_ = ['../../_base_/models/bmn_400x100.py', '../../_base_/default_runtime.py']

dataset_type = 'ActivityNetDataset'
data_root = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
data_root_val = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
ann_file_test = 'data/ActivityNet/anet_anno_val.json'

video_meta_keys = [
    'video_name', 'duration_second', 'duration_frame', 'annotations', 'feature_frame'
]
train_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='GenerateLocalizationLabels'),
    dict(type='Collect', keys=['raw_feature', 'gt_bbox'], meta_name='video_meta',
         meta_keys=['video_name']),
    dict(type='ToTensor', keys=['raw_feature', 'gt_bbox']),
    dict(type='ToDataContainer', fields=[dict(key='gt_bbox', stack=False, cpu_only=True)]),
]
val_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='GenerateLocalizationLabels'),
    dict(type='Collect', keys=['raw_feature', 'gt_bbox'], meta_name='video_meta',
         meta_keys=video_meta_keys),
    dict(type='ToTensor', keys=['raw_feature', 'gt_bbox']),
    dict(type='ToDataContainer', fields=[dict(key='gt_bbox', stack=False, cpu_only=True)]),
]
test_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='Collect', keys=['raw_feature'], meta_name='video_meta',
         meta_keys=video_meta_keys),
    dict(type='ToTensor', keys=['raw_feature']),
]
data = dict(
    videos_per_gpu=8,
    workers_per_gpu=8,
    train_dataloader=dict(drop_last=True),
    val_dataloader=dict(videos_per_gpu=1),
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(type=dataset_type, ann_file=ann_file_train, pipeline=train_pipeline,
               data_prefix=data_root),
    val=dict(type=dataset_type, ann_file=ann_file_val, pipeline=val_pipeline,
             data_prefix=data_root_val),
    test=dict(type=dataset_type, ann_file=ann_file_test, pipeline=test_pipeline,
              data_prefix=data_root_val))
evaluation = dict(interval=1, metrics=['AR@AN'])

optimizer = dict(type='Adam', lr=0.001, weight_decay=0.0001)  # lr for 2 GPUs
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=7)
total_epochs = 9

log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
work_dir = './work_dirs/bmn_400x100_2x8_9e_activitynet_feature/'
output_config = dict(out=f'{work_dir}/results.json', output_format='json')
