"""End-to-end tests: the monitor run as a user runs it, against real processes."""
