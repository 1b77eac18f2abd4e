# BSN stage 3 (PEM) on the synthetic localization set; reads the PGM output of
# bsn_pgm_synthetic.py.
_base_ = ['../../_base_/default_runtime.py']

model = dict(
    type='PEM',
    pem_feat_dim=32,
    pem_hidden_dim=64,
    pem_u_ratio_m=1,
    pem_u_ratio_l=2,
    pem_high_temporal_iou_threshold=0.6,
    pem_low_temporal_iou_threshold=0.2,
    soft_nms_alpha=0.75,
    soft_nms_low_threshold=0.65,
    soft_nms_high_threshold=0.9,
    post_process_top_k=100)

dataset_type = 'ActivityNetDataset'
data_root = 'data/synthetic_localization/activitynet_features/'
ann_file_train = 'data/synthetic_localization/anet_anno_train.json'
ann_file_val = 'data/synthetic_localization/anet_anno_val.json'

work_dir = 'work_dirs/bsn_synthetic/'
pgm_proposals_dir = f'{work_dir}/pgm_proposals/'
pgm_features_dir = f'{work_dir}/pgm_features/'

video_meta_keys = [
    'video_name', 'duration_second', 'duration_frame', 'annotations', 'feature_frame'
]
train_pipeline = [
    dict(type='LoadProposals', top_k=150, pgm_proposals_dir=pgm_proposals_dir,
         pgm_features_dir=pgm_features_dir),
    dict(type='Collect', keys=['bsp_feature', 'reference_temporal_iou'],
         meta_name='video_meta', meta_keys=[]),
    dict(type='ToTensor', keys=['bsp_feature', 'reference_temporal_iou']),
    dict(type='ToDataContainer', fields=(dict(key='bsp_feature', stack=False),
                                         dict(key='reference_temporal_iou', stack=False))),
]
test_pipeline = [
    dict(type='LoadProposals', top_k=300, pgm_proposals_dir=pgm_proposals_dir,
         pgm_features_dir=pgm_features_dir),
    dict(type='Collect', keys=['bsp_feature', 'tmin', 'tmax', 'tmin_score', 'tmax_score'],
         meta_name='video_meta', meta_keys=video_meta_keys),
    dict(type='ToTensor', keys=['bsp_feature']),
]
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=0,
    train_dataloader=dict(drop_last=True),
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(type=dataset_type, ann_file=ann_file_train, pipeline=train_pipeline,
               data_prefix=data_root),
    val=dict(type=dataset_type, ann_file=ann_file_val, pipeline=test_pipeline,
             data_prefix=data_root, test_mode=True),
    test=dict(type=dataset_type, ann_file=ann_file_val, pipeline=test_pipeline,
              data_prefix=data_root, test_mode=True))
evaluation = dict(interval=5, metrics=['AR@AN'])

optimizer = dict(type='Adam', lr=0.01, weight_decay=0.00001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=10)
total_epochs = 20
checkpoint_config = dict(interval=5, filename_tmpl='pem_epoch_{}.pth')
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook')])
output_config = dict(out=f'{work_dir}/results.json', output_format='json')
