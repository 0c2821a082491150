"""Evaluation of accuracy: features, probes, fine-tuning, prediction, task suites and reports."""
