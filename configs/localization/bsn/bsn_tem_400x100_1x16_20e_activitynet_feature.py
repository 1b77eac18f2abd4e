# BSN stage 1 (TEM), ActivityNet v1.3 features, 1 GPU x 16 videos, 20 epochs.
# Testing writes one CSV of actionness/start/end per video into tem_results_dir
# (output_config), which tools/misc/bsn_proposal_generation.py reads.
_base_ = ['../../_base_/models/bsn_tem.py', '../../_base_/default_runtime.py']

dataset_type = 'ActivityNetDataset'
data_root = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
data_root_val = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
ann_file_test = 'data/ActivityNet/anet_anno_full.json'

train_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='GenerateLocalizationLabels'),
    dict(type='Collect', keys=['raw_feature', 'gt_bbox'], meta_name='video_meta',
         meta_keys=['video_name']),
    dict(type='ToTensor', keys=['raw_feature', 'gt_bbox']),
    dict(type='ToDataContainer', fields=[dict(key='gt_bbox', stack=False)]),
]
val_pipeline = train_pipeline
test_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='Collect', keys=['raw_feature'], meta_name='video_meta',
         meta_keys=['video_name']),
    dict(type='ToTensor', keys=['raw_feature']),
]
data = dict(
    videos_per_gpu=16,
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

optimizer = dict(type='Adam', lr=0.001, weight_decay=0.0001)  # lr for 1 GPU
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=7)
total_epochs = 20

checkpoint_config = dict(interval=1, filename_tmpl='tem_epoch_{}.pth')
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
workflow = [('train', 1), ('val', 1)]
work_dir = 'work_dirs/bsn_400x100_20e_1x16_activitynet_feature/'
tem_results_dir = f'{work_dir}/tem_results/'
output_config = dict(out=tem_results_dir, output_format='csv')
