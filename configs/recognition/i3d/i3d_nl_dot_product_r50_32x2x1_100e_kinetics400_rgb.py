# I3D R-50 with dot-product non-local blocks in res3 and res4 (every other block).
_base_ = ['./i3d_r50_32x2x1_100e_kinetics400_rgb.py']

model = dict(
    backbone=dict(
        non_local=((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)),
        non_local_cfg=dict(sub_sample=True, use_scale=False,
                           norm_cfg=dict(type='BN3d', requires_grad=True), mode='dot_product')))

work_dir = './work_dirs/i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb/'
