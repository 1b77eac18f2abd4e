# The demo recipe with TSN instead of TSM: the same narrow ResNet-18 scores each frame on its
# own and averages, so it cannot tell a clip from its time-reversed twin (e.g. "square moving
# left" vs "square moving right") and stays near 50 % on those pairs. For contrast only.
_base_ = ['./tsm_r18_1x1x8_synthetic_video.py']

model = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=18, base_channels=16, pretrained=None,
                  norm_eval=False),
    cls_head=dict(_delete_=True, type='TSNHead', num_classes=10, in_channels=128,
                  spatial_type='avg', consensus=dict(type='AvgConsensus', dim=1),
                  dropout_ratio=0.2, init_std=0.01),
    test_cfg=dict(average_clips='prob'))
work_dir = './work_dirs/tsn_r18_1x1x8_synthetic_video/'
