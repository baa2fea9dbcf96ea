"""A long-lived build worker: executes notebook runs sent by ``shdata build``.

Importing papermill and nbconvert costs seconds; a worker pays it once and then
executes run after run. Requests arrive as JSON lines on stdin; each answer is
one JSON line on the original stdout (everything else the run prints goes to
stderr, so the channel stays clean).
"""
from __future__ import annotations

import json
import os
import sys
import traceback


def _answer(channel, obj: dict) -> None:
    channel.write(json.dumps(obj) + "\n")
    channel.flush()


def _tail(text: str, lines: int = 8) -> str:
    useful = [line for line in str(text).splitlines() if line.strip()]
    return "\n".join(useful[-lines:])


def main() -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # keep stray prints off the answer channel
    import papermill
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    _answer(channel, {"ready": True})
    for line in sys.stdin:
        req = json.loads(line)
        try:
            papermill.execute_notebook(req["input"], req["output"], parameters=req["params"], cwd=req["cwd"],
                                       progress_bar=False, log_output=False)
        except papermill.PapermillExecutionError as exc:
            _answer(channel, {"ok": False, "error": f"{exc.ename}: {exc.evalue}\n(cell {exc.exec_count})"})
            continue
        except Exception as exc:  # a broken notebook file, a kernel that died...
            _answer(channel, {"ok": False, "error": _tail("".join(traceback.format_exception(exc)))})
            continue
        try:
            body, _ = exporter.from_filename(req["output"])
            with open(req["html"], "w", encoding="utf-8") as fh:
                fh.write(body)
        except Exception as exc:
            _answer(channel, {"ok": False, "error": "HTML export failed: " + _tail(str(exc))})
            continue
        _answer(channel, {"ok": True})


if __name__ == "__main__":
    main()
