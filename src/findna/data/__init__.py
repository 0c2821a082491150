"""Data: DNA encoding, genome FASTA windows and benchmark task datasets."""
