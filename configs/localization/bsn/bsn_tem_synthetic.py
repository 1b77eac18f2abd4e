# BSN stage 1 (TEM) on the synthetic localization set (32 steps x 16-d features), for a CPU.
# Data: see configs/localization/bmn/bmn_synthetic.py. Then:
#   tools/test.py this config tem.pth  -> TEM CSVs in tem_results_dir (output_config)
#   python tools/misc/bsn_proposal_generation.py configs/localization/bsn/bsn_pgm_synthetic.py
_base_ = ['../../_base_/default_runtime.py']

temporal_dim = 32
feat_dim = 16
model = dict(
    type='TEM',
    temporal_dim=temporal_dim,
    boundary_ratio=0.1,
    tem_feat_dim=feat_dim,
    tem_hidden_dim=64,
    tem_match_threshold=0.5)

dataset_type = 'ActivityNetDataset'
data_root = 'data/synthetic_localization/activitynet_features/'
ann_file_train = 'data/synthetic_localization/anet_anno_train.json'
ann_file_val = 'data/synthetic_localization/anet_anno_val.json'
ann_file_test = 'data/synthetic_localization/anet_anno_full.json'

train_pipeline = [
    dict(type='LoadLocalizationFeature', feat_dim=feat_dim),
    dict(type='GenerateLocalizationLabels'),
    dict(type='Collect', keys=['raw_feature', 'gt_bbox'], meta_name='video_meta',
         meta_keys=['video_name']),
    dict(type='ToTensor', keys=['raw_feature', 'gt_bbox']),
    dict(type='ToDataContainer', fields=[dict(key='gt_bbox', stack=False)]),
]
test_pipeline = [
    dict(type='LoadLocalizationFeature', feat_dim=feat_dim),
    dict(type='Collect', keys=['raw_feature'], meta_name='video_meta',
         meta_keys=['video_name']),
    dict(type='ToTensor', keys=['raw_feature']),
]
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=0,
    train_dataloader=dict(drop_last=True),
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(type=dataset_type, ann_file=ann_file_train, pipeline=train_pipeline,
               data_prefix=data_root),
    test=dict(type=dataset_type, ann_file=ann_file_test, pipeline=test_pipeline,
              data_prefix=data_root, test_mode=True))

optimizer = dict(type='Adam', lr=0.001, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=15)
total_epochs = 20

checkpoint_config = dict(interval=5, filename_tmpl='tem_epoch_{}.pth')
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
work_dir = 'work_dirs/bsn_synthetic/'
tem_results_dir = f'{work_dir}/tem_results/'
output_config = dict(out=tem_results_dir, output_format='csv')
