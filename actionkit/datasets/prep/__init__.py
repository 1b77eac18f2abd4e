"""Dataset preparation: turning raw media and raw dataset formats into what the datasets read."""
