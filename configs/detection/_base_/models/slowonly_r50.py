# FastRCNN action detector on a SlowOnly-R50 backbone (AVA): RoIAlign 8x8 on the last stage
# (spatial stride 1 there), a sigmoid box head over 81 classes (class 0 is the background)
model = dict(
    type='FastRCNN',
    backbone=dict(
        type='ResNet3dSlowOnly', depth=50, pretrained=None, pretrained2d=False, lateral=False,
        num_stages=4, conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
        spatial_strides=(1, 2, 2, 1)),
    roi_head=dict(
        type='AVARoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor3D', roi_layer_type='RoIAlign', output_size=8,
            with_temporal_pool=True),
        bbox_head=dict(
            type='BBoxHeadAVA', in_channels=2048, num_classes=81, multilabel=True,
            dropout_ratio=0.5)),
    train_cfg=dict(
        rcnn=dict(
            # a proposal is an actor when its IoU with a ground-truth box reaches 0.9
            assigner=dict(type='MaxIoUAssignerAVA', pos_iou_thr=0.9, neg_iou_thr=0.9,
                          min_pos_iou=0.9),
            sampler=dict(type='RandomSampler', num=32, pos_fraction=1, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=1.0,
            debug=False)),
    test_cfg=dict(rcnn=dict(action_thr=0.002)))
