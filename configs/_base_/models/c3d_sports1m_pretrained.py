# C3D pretrained on Sports-1M (the checkpoint must be in the torch hub cache or given as a
# local path: actionkit never downloads); the backbone already ends in fc7, so the head
# does no pooling.
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='C3D',
        pretrained='https://download.openmmlab.com/mmaction/recognition/c3d/'
        'c3d_sports1m_pretrain_20201016-dcc47ddc.pth',
        style='pytorch',
        conv_cfg=dict(type='Conv3d'),
        norm_cfg=None,
        act_cfg=dict(type='ReLU'),
        dropout_ratio=0.5,
        init_std=0.005),
    cls_head=dict(
        type='I3DHead',
        num_classes=101,
        in_channels=4096,
        spatial_type=None,
        dropout_ratio=0.5,
        init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips='score'))
