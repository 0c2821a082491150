"""End-to-end workflows built from the other layers (the demo)."""
