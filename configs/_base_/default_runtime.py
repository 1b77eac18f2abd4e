# Runtime defaults shared by every training config (MMAction2 0.x keys).
checkpoint_config = dict(interval=1)
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
opencv_num_threads = 0  # keep OpenCV single-threaded inside data-loader workers
mp_start_method = 'fork'
