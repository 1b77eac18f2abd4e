# The audio learning check: a narrow ResNetAudio-50 (base_channels 8, stem stride 2) on the
# synthetic chirp set (actionkit.datasets.synthetic_audio: rising, falling, up-down and
# down-up sweeps over random bands, so only the time order of the frequencies tells the
# classes apart), on the log-mel features of tools/data/build_audio_features.py.
# Data: `actionkit data synthetic-audio data/synthetic_audio`; the whole check, with timing:
# `python benchmarks/audio_learning_check.py` (docs/benchmarks.md).
_base_ = ['../_base_/default_runtime.py']

model = dict(
    type='AudioRecognizer',
    backbone=dict(type='ResNetAudio', depth=50, pretrained=None, in_channels=1,
                  base_channels=8, conv1_stride=2, norm_eval=False,
                  zero_init_residual=False),
    cls_head=dict(type='AudioTSNHead', num_classes=4, in_channels=256, dropout_ratio=0.2,
                  init_std=0.01, topk=(1,)),
    train_cfg=None,
    test_cfg=dict(average_clips='prob'))

dataset_type = 'AudioFeatureDataset'
data_root = 'data/synthetic_audio'
ann_file_train = 'data/synthetic_audio/train_list_features.txt'
ann_file_val = 'data/synthetic_audio/val_list_features.txt'
# a 2 s clip is 60 video frames and 126 feature rows: 48 frames are about 100 rows
train_pipeline = [
    dict(type='LoadAudioFeature'),
    dict(type='SampleFrames', clip_len=48, frame_interval=1, num_clips=1),
    dict(type='AudioFeatureSelector', fixed_length=100),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='Collect', keys=['audios', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['audios', 'label']),
]
val_pipeline = [
    dict(type='LoadAudioFeature'),
    dict(type='SampleFrames', clip_len=48, frame_interval=1, num_clips=1, test_mode=True),
    dict(type='AudioFeatureSelector', fixed_length=100),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='Collect', keys=['audios', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['audios']),
]
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=1,
    val_dataloader=dict(videos_per_gpu=40),
    test_dataloader=dict(videos_per_gpu=40),
    train=dict(type=dataset_type, ann_file=ann_file_train, data_prefix=data_root,
               pipeline=train_pipeline),
    val=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root,
             pipeline=val_pipeline, test_mode=True),
    test=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root,
              pipeline=val_pipeline, test_mode=True))

optimizer = dict(type='AdamW', lr=2e-3, weight_decay=1e-4)
optimizer_config = dict(grad_clip=dict(max_norm=20, norm_type=2))
lr_config = dict(policy='CosineAnnealing', min_lr=1e-5, warmup='linear', warmup_iters=20,
                 warmup_ratio=0.1, by_epoch=False)
total_epochs = 12
evaluation = dict(interval=1, metrics=['top_k_accuracy', 'mean_class_accuracy'],
                  save_best='top1_acc', topk=(1,))
checkpoint_config = dict(interval=1, max_keep_ckpts=1)
log_config = dict(interval=5, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
work_dir = './work_dirs/audioonly_r50_48x1x1_synthetic_audio_feature/'
