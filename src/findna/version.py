"""findna's version, in a floor-0 module of its own so that any layer can name it without
importing the package face (``findna/__init__.py``, which reaches the API)."""

__version__ = "0.1.0"
