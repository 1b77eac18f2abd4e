total_epochs = 20
