# Long-term feature bank with the 'max' operator (the max of the sampled long-term features):
# everything else as the non-local config
_base_ = ['lfb_nl_kinetics_pretrained_slowonly_r50_4x16x1_20e_ava_rgb.py']

model = dict(
    roi_head=dict(
        shared_head=dict(fbo_cfg=dict(_delete_=True, type='max')),
        # the short-term feature (2048) followed by the pooled long-term one (2048)
        bbox_head=dict(in_channels=4096)))

work_dir = './work_dirs/lfb/lfb_max_kinetics_pretrained_slowonly_r50_4x16x1_20e_ava_rgb'
