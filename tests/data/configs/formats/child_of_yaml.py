_base_ = 'child.yaml'
model = dict(cls_head=dict(type='I3DHead', num_classes=7))
