# SGD, 150 epochs with a 10-epoch linear warm-up, lr steps at 90 and 130.
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='step', step=[90, 130], warmup='linear', warmup_by_epoch=True,
                 warmup_iters=10)
total_epochs = 150
