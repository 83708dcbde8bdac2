"""Where samples and summaries go: CSV reports, the log, the console, the in-memory frame, JSON and the chart."""
