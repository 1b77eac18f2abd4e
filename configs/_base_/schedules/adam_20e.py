# Adam, 20 epochs, lr divided by 10 every 10 epochs (lr for 1 GPU).
optimizer = dict(type='Adam', lr=0.01, weight_decay=0.00001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=10)
total_epochs = 20
