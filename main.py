"""Process resource monitor: python main.py -p <process_name> -d <duration_in_seconds> [-s <interval>]."""

import sys

from monitor.sampling.signals import EndOnSignals

if __name__ == "__main__":
    # Before anything else is imported: a stop signal from here on (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT)
    # ends the program with its exit status and no traceback, and so again once main() has returned.
    EndOnSignals().install()

    from monitor.cli import main

    sys.exit(main())
