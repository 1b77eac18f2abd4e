# TANet: ResNet-50 whose bottlenecks carry a temporal adaptive module (TAM), 8 segments.
model = dict(
    type='Recognizer2D',
    backbone=dict(type='TANet', pretrained='torchvision://resnet50', depth=50, num_segments=8,
                  tam_cfg=dict()),
    cls_head=dict(type='TSMHead', num_classes=400, in_channels=2048, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.5, init_std=0.001),
    train_cfg=None,
    test_cfg=dict(average_clips='prob'))
