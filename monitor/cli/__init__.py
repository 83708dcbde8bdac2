"""The command line: options, exit statuses, and the wiring of each mode (monitor, analyze)."""

from monitor.cli.app import main

__all__ = ["main"]
