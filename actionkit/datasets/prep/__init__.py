"""Dataset preparation: turning raw media into what the datasets read."""
