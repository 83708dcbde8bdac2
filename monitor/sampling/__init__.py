"""Reading processes through psutil: targets, probes, the tick clock, stop signals and the session."""
