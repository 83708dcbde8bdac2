"""Process resource monitor: samples CPU, private memory and handles of named processes."""

__version__ = "0.4.0"
