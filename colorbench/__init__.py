"""colorbench: a benchmark suite for automatic image colorization."""

__version__ = "0.1.0"
