"""The exporter mode (--serve): sample on the same clock, serve /metrics to Prometheus until stopped.

Nothing is written to disk but the log, unless -r asks for the report CSVs too.
"""

from __future__ import annotations

import datetime
import os
import signal
from typing import Callable

from prometheus_client import start_http_server

from monitor.analysis.trend import load_statistics
from monitor.cli.options import LOGS_OPTION, REPORTS_OPTION, ServeOptions, described
from monitor.cli.pipeline import open_run
from monitor.cli.status import ExitStatus, status_for_signal
from monitor.cli.target import resolve_target
from monitor.errors import MonitorError
from monitor.output.console import Console
from monitor.output.exporter import ExporterSink, registry_for
from monitor.output.files import DETAIL_SUFFIX, LOG_SUFFIX, REPORT_SUFFIX, prepare_dir, run_stem
from monitor.output.units import pid_list, plural
from monitor.sampling import finders, names, targets
from monitor.sampling.limits import headroom
from monitor.sampling.session import Session
from monitor.sampling.signals import StopSignals


def serve(options: ServeOptions, console: Console) -> ExitStatus:
    """Serve the watched processes' metrics and verdicts on /metrics until SIGINT or SIGTERM (or -d)."""
    host, port = options.address
    started = datetime.datetime.now().astimezone()
    places = {LOG_SUFFIX: prepare_dir(options.logs_dir, "logs", LOGS_OPTION)}
    if options.reports_dir is not None:
        reports_dir = prepare_dir(options.reports_dir, "reports", REPORTS_OPTION)
        places |= {REPORT_SUFFIX: reports_dir, DETAIL_SUFFIX: reports_dir}
    find_roots, label_of_root, labels = _targets(options)
    watched = targets.TargetSet(find_roots, include_children=options.selection.include_children)

    def label_of(pid: int, name: str) -> str:
        # A child is labelled by the -p name its root matched.
        return label_of_root(watched.root_of.get(pid, pid))

    exporter = ExporterSink(
        label_of,
        options.window_s,
        options.interval_s,
        labels=labels,
        per_pid=options.per_pid,
        headroom=_headroom(watched, label_of),
        min_rates=dict(options.min_leak_rates),
    )
    shown = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    session = Session(watched, keep_running=True)
    # The start's reading is served from the first scrape on: with a long interval, a restarted
    # exporter would otherwise say `procmon_processes 0` until its first sample, as if the process were down.
    first = session.start()
    exporter.start(first)
    try:
        # Bound before any file is claimed: a port in use leaves no empty log behind.
        server, thread = start_http_server(port, addr=host, registry=registry_for(exporter))
    except OSError as exc:
        raise MonitorError(
            f"cannot serve on {shown} ({exc.strerror or exc}); "
            "give a free port, and an address of this machine, with --serve [HOST:]PORT"
        ) from None
    try:
        stem = run_stem("-".join(labels), started)
        # No summary at the end: the README rule per process would be kept for nobody.
        with open_run(session, stem, places, per_process_rule=False) as pipeline, StopSignals() as stop:
            log = pipeline.log
            pipeline.add(exporter)
            if options.reports_dir is not None:
                pipeline.write_reports(rows_only=True)
            # A day at -s 1 would add 86,400 sample lines: the log keeps events, /metrics the samples.
            pipeline.log_samples(every_sample=False)
            # scipy.stats loads in a second: before the first tick, not inside the first verdict.
            load_statistics()
            every = f"sampling every {options.interval_s:g} s"
            line = f"Serving http://{shown}/metrics for {', '.join(labels)}, {every}; stop with Ctrl-C or SIGTERM"
            console.line(line)
            log.info("options: %s", described(options))
            log.info(line)
            for label in labels:
                pids = [reading.pid for reading in first if label_of(reading.pid, reading.name) == label]
                log.info("watching '%s': %s", label, pid_list(pids, limit=None) if pids else "no process yet")
            result = pipeline.run(options.interval_s, options.sample_count, stop)
            if result.error is not None:
                log.error(result.error)
                raise MonitorError(result.error)
            if stop.signum is not None:
                status = status_for_signal(stop.signum)
                stopped_by = f"by {signal.Signals(stop.signum).name} (exit status {status.value})"
            else:
                stopped_by = "at the end of -d"
            log.info("stopped %s after %s", stopped_by, plural(result.samples, "sample"))
    finally:
        # Shut down and close the listening socket: the port is free the moment we exit.
        server.shutdown()
        server.server_close()
        thread.join(timeout=1.0)
    if stop.signum is not None:
        return status_for_signal(stop.signum)
    return ExitStatus.SUCCESS


def _targets(options: ServeOptions) -> tuple[finders.RootFinder, Callable[[int], str], tuple[str, ...]]:
    """The root finder, the label of each root PID, and the labels known from the start."""
    selection = options.selection
    if selection.process_names:
        by_label = {
            names.clean_name(name): finders.NameFinder(name, exclude={os.getpid()}) for name in selection.process_names
        }
        labelled = finders.LabelledFinders(by_label)
        first = next(iter(by_label))
        return labelled, lambda pid: labelled.label_of.get(pid, first), tuple(by_label)
    target = resolve_target(selection, None)  # --pid or --cmdline: one label, the target's name
    return target.find_roots, lambda pid: target.name, (target.name,)


def _headroom(
    watched: targets.TargetSet, label_of: Callable[[int, str], str]
) -> Callable[[str], dict[str, float | None]]:
    """What is left before the limits of one label's processes: available memory, and their open-file limit."""

    def room(label: str) -> dict[str, float | None]:
        return headroom(
            [proc for pid, proc in watched.live.items() if label_of(pid, watched.seen.get(pid, "")) == label]
        )

    return room
