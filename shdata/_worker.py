"""A long-lived build worker: executes notebook runs sent by ``shdata build``.

Importing papermill and nbconvert costs seconds; a worker pays it once and then
executes run after run. Requests arrive as JSON lines on stdin; each answer is
one JSON line on the original stdout (everything else the run prints goes to
stderr, so the channel stays clean).

A worker never outlives its build: a watchdog thread notices when the parent
process is gone (even after SIGKILL, which no handler sees) and SIGTERM is
handled; both stop the kernels the worker started and exit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
import traceback

POLL_SECONDS = 0.5
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colours in kernel tracebacks; the log is read as text


def _answer(channel, obj: dict) -> None:
    channel.write(json.dumps(obj) + "\n")
    channel.flush()


def _tail(text: str, lines: int = 8) -> str:
    useful = [line for line in str(text).splitlines() if line.strip()]
    return "\n".join(useful[-lines:])


def _children(pid: int) -> list[int]:
    """Pids of the direct children of ``pid`` (Linux /proc; elsewhere none are found).

    Kernels run in their own session (jupyter_client starts them so), so they are
    not in the worker's process group and must be stopped one by one.
    """
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(name))
    return found


def stop_kernels() -> None:
    """Kill every kernel (and its process group) this worker started.

    Kernels forked by a warm process (:mod:`shdata._kernels`) are its children, not
    ours: a warm process of our own is our child, so its kernels go first, then it and
    any kernel started cold. The build's shared warm process kills the kernels it
    forked for us as soon as our socket to it closes, which our exit does.
    """
    ours = _children(os.getpid())
    for child in [grandchild for pid in ours for grandchild in _children(pid)] + ours:
        try:
            os.killpg(child, signal.SIGKILL)  # the kernel leads its own session and group
        except OSError:
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)


def _exit(code: int) -> None:
    stop_kernels()
    os._exit(code)


def _watch_parent(parent: int) -> None:
    """Exit (with the kernels) as soon as the build that started this worker is gone."""
    event = threading.Event()
    while not event.wait(POLL_SECONDS):
        if os.getppid() != parent:
            _exit(1)


class _Collect(logging.Handler):
    """Keep papermill's warnings (e.g. a missing 'parameters' tag) for the build's error report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


def main() -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # keep stray prints off the answer channel
    if os.name == "posix":
        signal.signal(signal.SIGTERM, lambda *_: _exit(143))
        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    from shdata._startup import skip_unused_optional_imports

    skip_unused_optional_imports()  # before papermill imports nbformat and jsonschema
    from shdata import _kernels

    _kernels.start()  # its imports run beside ours
    import papermill

    from shdata.sync import html_exporter

    collect = _Collect()
    logging.getLogger("papermill").addHandler(collect)
    exporter = html_exporter()
    _answer(channel, {"ready": True})
    for line in sys.stdin:
        req = json.loads(line)
        collect.lines = []
        env = req.get("env", {})
        os.environ.update(env)  # the kernel inherits it: where the run may publish
        try:
            answer = _run(req, papermill, exporter)
        finally:
            for k in env:
                os.environ.pop(k, None)
        answer["warnings"] = collect.lines
        _answer(channel, answer)


def _run(req: dict, papermill, exporter) -> dict:
    from shdata._kernels import ForkingKernelManager

    try:
        papermill.execute_notebook(
            req["input"],
            req["output"],
            parameters=req["params"],
            cwd=req["cwd"],
            progress_bar=False,
            log_output=False,
            # One write at the end (papermill writes it on failure too), not one per cell:
            # nothing reads the executed notebook while the run goes on.
            request_save_on_cell_execute=False,
            # A kernel forked from this worker's warm process: the same kernel, without
            # two seconds of imports per run.
            kernel_manager_class=ForkingKernelManager,
            # Once the last cell has answered, the kernel has nothing left to do for the run
            # (every file it writes is written by then): stop it at once instead of waiting
            # for a graceful exit, which nbclient polls for about a second.
            shutdown_kernel="immediate",
        )
    except papermill.PapermillExecutionError as exc:
        detail = _ANSI.sub("", "\n".join(exc.traceback or []))
        return {"ok": False, "error": f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})", "detail": detail}
    except Exception as exc:  # a broken notebook file, a kernel that died...
        detail = "".join(traceback.format_exception(exc))
        last = _tail(detail, 1) or type(exc).__name__
        return {"ok": False, "error": last, "detail": detail}
    try:
        from pathlib import Path

        from shdata.sync import render_html

        # Previews point at the published figures from build/html/, where the rendering is moved.
        render_html(
            Path(req["output"]),
            Path(req["html"]),
            figures_dir=Path(req["figures"]),
            shown_from=Path(req["html_dir"]),
            exporter=exporter,
        )
    except Exception as exc:
        detail = "".join(traceback.format_exception(exc))
        return {
            "ok": False,
            "error": "HTML export failed: " + (_tail(str(exc), 1) or type(exc).__name__),
            "detail": detail,
        }
    return {"ok": True}


if __name__ == "__main__":
    main()
