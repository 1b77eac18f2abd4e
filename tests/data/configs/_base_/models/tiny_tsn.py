# A TSN-shaped model config, small enough for tests.
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', pretrained=None, depth=18, norm_eval=False),
    cls_head=dict(
        type='TSNHead',
        num_classes=5,
        in_channels=512,
        consensus=dict(type='AvgConsensus', dim=1),
        dropout_ratio=0.4),
    train_cfg=None,
    test_cfg=dict(average_clips=None))
