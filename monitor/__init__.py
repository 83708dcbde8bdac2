"""Process resource monitor: samples CPU, private memory and handles of named processes."""
