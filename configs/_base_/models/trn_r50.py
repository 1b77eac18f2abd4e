# TRN: ResNet-50 (partial BN) frame features, related across 8 segments by multi-scale MLPs.
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', pretrained='torchvision://resnet50', depth=50, norm_eval=False,
                  partial_bn=True),
    cls_head=dict(type='TRNHead', num_classes=400, in_channels=2048, num_segments=8,
                  spatial_type='avg', relation_type='TRNMultiScale', hidden_dim=256,
                  dropout_ratio=0.8, init_std=0.001),
    train_cfg=None,
    test_cfg=dict(average_clips='prob'))
