"""Evaluation: metrics, linear probes, fine-tuning, embeddings and benchmark reports."""
