# TSN with an ImageNet ResNet-50: frames scored one by one, scores averaged over segments.
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=50, pretrained='torchvision://resnet50', norm_eval=False),
    cls_head=dict(type='TSNHead', num_classes=400, in_channels=2048, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.4, init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips=None))
