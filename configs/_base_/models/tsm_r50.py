# TSM: ResNet-50 whose residual branches shift 1/8 of the channels one segment back and forth.
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNetTSM', depth=50, pretrained='torchvision://resnet50', norm_eval=False,
                  shift_div=8),
    cls_head=dict(type='TSMHead', num_classes=400, in_channels=2048, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.5, init_std=0.001,
                  is_shift=True),
    train_cfg=None,
    test_cfg=dict(average_clips='prob'))
