# ir-CSN ResNet-152: depthwise 3x3x3 convs in every bottleneck, no temporal pool after res2.
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='ResNet3dCSN',
        pretrained2d=False,
        pretrained=None,
        depth=152,
        with_pool2=False,
        bottleneck_mode='ir',
        norm_eval=False,
        zero_init_residual=False),
    cls_head=dict(
        type='I3DHead',
        num_classes=400,
        in_channels=2048,
        spatial_type='avg',
        dropout_ratio=0.5,
        init_std=0.01),
    train_cfg=None,
    # 30 views of a 152-layer network: run them 10 at a time
    test_cfg=dict(average_clips='prob', max_testing_views=10))
