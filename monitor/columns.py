"""Column names of the CSV reports, shared by every layer."""

TIMESTAMP = "timestamp"
CPU = "cpu_percent"
MEMORY = "private_memory"
HANDLES = "handles_fds"
PROCESS_COUNT = "process_count"
PID = "pid"
NAME = "name"

METRICS = (CPU, MEMORY, HANDLES)
REPORT_COLUMNS = (TIMESTAMP, CPU, MEMORY, HANDLES, PROCESS_COUNT)
DETAIL_COLUMNS = (TIMESTAMP, PID, NAME, CPU, MEMORY, HANDLES)
