"""findna: self-distillation pretraining (FinDNA) of ChordMixer DNA sequence models."""

__version__ = "0.1.0"
