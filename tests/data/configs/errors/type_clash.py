_base_ = '../_base_/models/tiny_tsn.py'
model = dict(backbone=dict(depth=50), test_cfg=[1, 2])
