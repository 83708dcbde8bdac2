"""Process resource monitor: python main.py -p <process_name> -d <duration_in_seconds> [-s <interval>]."""

import sys

from monitor.sampling.signals import EndOnSignals

if __name__ == "__main__":
    # Before anything heavy is imported: Ctrl-C, SIGTERM or SIGHUP from here on ends the program with
    # its exit status (130, 143, 129) and no traceback, until main() and the run take over.
    EndOnSignals().install()

    from monitor.cli import main

    sys.exit(main())
