"""Models: ChordMixer and Transformer backbones, heads, networks, and loading them."""
