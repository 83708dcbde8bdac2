"""Process resource monitor: python main.py -p <process_name> -d <duration_in_seconds> [-s <interval>]."""

import sys

from monitor.cli import main

if __name__ == "__main__":
    sys.exit(main())
