"""The version of stad, importable from every layer (``stad.__version__`` re-exports it)."""
__version__ = '0.1.0'
