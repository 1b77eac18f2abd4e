# TPN on SlowOnly R-50 trained from scratch, 8 frames x interval 8, 150 epochs on Kinetics-400.
_base_ = ['./tpn_imagenet_pretrained_slowonly_r50_8x8x1_150e_kinetics_rgb.py']

model = dict(backbone=dict(pretrained=None))

work_dir = './work_dirs/tpn_slowonly_r50_8x8x1_150e_kinetics400_rgb'
