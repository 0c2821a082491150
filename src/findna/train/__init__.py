"""Training: the Lightning pretraining engine (config, data order, module, checkpoints)."""
