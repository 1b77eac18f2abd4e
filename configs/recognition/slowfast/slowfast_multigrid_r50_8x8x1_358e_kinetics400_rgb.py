# SlowFast R-50 "8x8" trained with multigrid (https://arxiv.org/abs/1912.00998): the long cycle
# trains on coarser clips with larger batches first; total_epochs * epoch_factor = 358 epochs.
_base_ = ['./slowfast_r50_4x16x1_256e_kinetics400_rgb.py']

model = dict(
    backbone=dict(
        resample_rate=4,  # tau
        speed_ratio=4,  # alpha
        channel_ratio=8,  # 1 / beta
        slow_pathway=dict(lateral_norm=True, fusion_kernel=7)))

evaluation = dict(interval=3)
# step milestones: multigrid turns them into its stages and a RelativeStep lr schedule
lr_config = dict(_delete_=True, policy='step', step=[94, 154, 196])
total_epochs = 239
checkpoint_config = dict(interval=3)

multigrid = dict(
    long_cycle=True,
    short_cycle=True,
    epoch_factor=1.5,
    long_cycle_factors=[[0.25, 0.7071], [0.5, 0.7071], [0.5, 1], [1, 1]],
    short_cycle_factors=[0.5, 0.7071],
    default_s=(224, 224),
)
precise_bn = dict(num_iters=200, interval=3)

work_dir = './work_dirs/slowfast_multigrid_r50_8x8x1_358e_kinetics400_rgb'
