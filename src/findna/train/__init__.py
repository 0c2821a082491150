"""Training: losses, schedules, and the Lightning pretraining engine."""
