# BMN on the synthetic localization set (32 steps x 16-d features), small enough for a CPU.
# Make the data first:
#   python -c "from actionkit.datasets import make_synthetic_localization as m; \
#              m('data/synthetic_localization', 240, temporal_dim=32, feat_dim=16)"
# benchmarks/localization.py trains this model with a short explicit loop and compares it
# with sliding windows.
_base_ = ['../../_base_/default_runtime.py']

temporal_dim = 32
feat_dim = 16
model = dict(
    type='BMN',
    temporal_dim=temporal_dim,
    boundary_ratio=0.5,
    num_samples=8,
    num_samples_per_bin=3,
    feat_dim=feat_dim,
    soft_nms_alpha=0.4,
    soft_nms_low_threshold=0.5,
    soft_nms_high_threshold=0.9,
    post_process_top_k=100,
    hidden_dim_1d=64,
    hidden_dim_2d=32,
    hidden_dim_3d=64)

dataset_type = 'ActivityNetDataset'
data_root = 'data/synthetic_localization/activitynet_features/'
ann_file_train = 'data/synthetic_localization/anet_anno_train.json'
ann_file_val = 'data/synthetic_localization/anet_anno_val.json'

video_meta_keys = [
    'video_name', 'duration_second', 'duration_frame', 'annotations', 'feature_frame'
]
train_pipeline = [
    dict(type='LoadLocalizationFeature', feat_dim=feat_dim),
    dict(type='GenerateLocalizationLabels'),
    dict(type='Collect', keys=['raw_feature', 'gt_bbox'], meta_name='video_meta',
         meta_keys=['video_name']),
    dict(type='ToTensor', keys=['raw_feature', 'gt_bbox']),
    dict(type='ToDataContainer', fields=[dict(key='gt_bbox', stack=False, cpu_only=True)]),
]
test_pipeline = [
    dict(type='LoadLocalizationFeature', feat_dim=feat_dim),
    dict(type='Collect', keys=['raw_feature'], meta_name='video_meta',
         meta_keys=video_meta_keys),
    dict(type='ToTensor', keys=['raw_feature']),
]
data = dict(
    videos_per_gpu=8,
    workers_per_gpu=0,
    train_dataloader=dict(drop_last=True),
    val_dataloader=dict(videos_per_gpu=1),
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(type=dataset_type, ann_file=ann_file_train, pipeline=train_pipeline,
               data_prefix=data_root),
    val=dict(type=dataset_type, ann_file=ann_file_val, pipeline=test_pipeline,
             data_prefix=data_root, test_mode=True),
    test=dict(type=dataset_type, ann_file=ann_file_val, pipeline=test_pipeline,
              data_prefix=data_root, test_mode=True))
evaluation = dict(interval=4, metrics=['AR@AN'])

optimizer = dict(type='Adam', lr=0.001, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=9)
total_epochs = 12

log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
work_dir = './work_dirs/bmn_synthetic/'
output_config = dict(out=f'{work_dir}/results.json', output_format='json')
