"""Models: ChordMixer and Transformer backbones, heads, and the student/teacher pair."""
