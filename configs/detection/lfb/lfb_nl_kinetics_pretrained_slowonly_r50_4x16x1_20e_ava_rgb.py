# Long-term feature bank (non-local operator) on a Kinetics-pretrained SlowOnly-R50, AVA 2.1.
# The bank (lfb_train.pkl / lfb_val.pkl under lfb_prefix_path) is written beforehand with
# lfb_slowonly_r50_ava_infer.py; it is read at the first look-up.
_base_ = ['../_base_/models/slowonly_r50.py']

lfb_prefix_path = 'data/ava/lfb_half'
max_num_sampled_feat = 5  # features drawn per second
window_size = 60  # seconds around each key frame
lfb_channels = 2048
dataset_modes = ('train', 'val')

model = dict(
    roi_head=dict(
        shared_head=dict(
            type='FBOHead',
            lfb_cfg=dict(
                lfb_prefix_path=lfb_prefix_path, max_num_sampled_feat=max_num_sampled_feat,
                window_size=window_size, lfb_channels=lfb_channels,
                dataset_modes=dataset_modes, device='gpu'),
            fbo_cfg=dict(
                type='non_local', st_feat_channels=2048, lt_feat_channels=lfb_channels,
                latent_channels=512, num_st_feat=1,
                num_lt_feat=window_size * max_num_sampled_feat, num_non_local_layers=2,
                st_feat_dropout_ratio=0.2, lt_feat_dropout_ratio=0.2, pre_activate=True)),
        # the short-term feature (2048) followed by the operator's (512)
        bbox_head=dict(in_channels=2560)))

dataset_type = 'AVADataset'
data_root = 'data/ava/rawframes'
anno_root = 'data/ava/annotations'
ann_file_train = f'{anno_root}/ava_train_v2.1.csv'
ann_file_val = f'{anno_root}/ava_val_v2.1.csv'
exclude_file_train = f'{anno_root}/ava_train_excluded_timestamps_v2.1.csv'
exclude_file_val = f'{anno_root}/ava_val_excluded_timestamps_v2.1.csv'
label_file = f'{anno_root}/ava_action_list_v2.1_for_activitynet_2018.pbtxt'
proposal_file_train = f'{anno_root}/ava_dense_proposals_train.FAIR.recall_93.9.pkl'
proposal_file_val = f'{anno_root}/ava_dense_proposals_val.FAIR.recall_93.9.pkl'

img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)

train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=4, frame_interval=16),
    dict(type='RawFrameDecode'),
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=256),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='Rename', mapping=dict(imgs='img')),  # the detector's input name
    dict(type='ToTensor', keys=['img', 'proposals', 'gt_bboxes', 'gt_labels']),
    dict(type='ToDataContainer',
         fields=[dict(key=['proposals', 'gt_bboxes', 'gt_labels'], stack=False)]),
    # img_key lets the feature bank find each clip's second
    dict(type='Collect', keys=['img', 'proposals', 'gt_bboxes', 'gt_labels'],
         meta_keys=['scores', 'entity_ids', 'img_key']),
]
# no crop and no flip at test time
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=4, frame_interval=16, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='Rename', mapping=dict(imgs='img')),
    dict(type='ToTensor', keys=['img', 'proposals']),
    dict(type='ToDataContainer', fields=[dict(key='proposals', stack=False)]),
    dict(type='Collect', keys=['img', 'proposals'],
         meta_keys=['scores', 'img_shape', 'img_key'], nested=True),
]

data = dict(
    videos_per_gpu=12,
    workers_per_gpu=2,
    val_dataloader=dict(videos_per_gpu=1),
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(
        type=dataset_type, ann_file=ann_file_train, exclude_file=exclude_file_train,
        pipeline=train_pipeline, label_file=label_file, proposal_file=proposal_file_train,
        person_det_score_thr=0.9, data_prefix=data_root),
    val=dict(
        type=dataset_type, ann_file=ann_file_val, exclude_file=exclude_file_val,
        pipeline=val_pipeline, label_file=label_file, proposal_file=proposal_file_val,
        person_det_score_thr=0.9, data_prefix=data_root))
data['test'] = data['val']
evaluation = dict(interval=1, save_best='mAP@0.5IOU')

optimizer = dict(type='SGD', lr=0.15, momentum=0.9, weight_decay=1e-05)  # for 8 GPUs
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='step', step=[10, 15], warmup='linear', warmup_by_epoch=True,
                 warmup_iters=5, warmup_ratio=0.1)
total_epochs = 20

checkpoint_config = dict(interval=1)
workflow = [('train', 1)]
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = './work_dirs/lfb/lfb_nl_kinetics_pretrained_slowonly_r50_4x16x1_20e_ava_rgb'
load_from = ('https://download.openmmlab.com/mmaction/recognition/slowonly/'
             'slowonly_r50_4x16x1_256e_kinetics400_rgb/'
             'slowonly_r50_4x16x1_256e_kinetics400_rgb_20200704-a69556c6.pth')
resume_from = None
find_unused_parameters = False
