# TSM's SGD schedule: 5x lr on the classifier (fc_lr5), 50 epochs.
optimizer = dict(type='SGD', constructor='TSMOptimizerConstructor', paramwise_cfg=dict(fc_lr5=True),
                 lr=0.01, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=dict(max_norm=20, norm_type=2))
lr_config = dict(policy='step', step=[20, 40])
total_epochs = 50
