"""A warm process that forks notebook kernels (the server side of :mod:`shdata._kernels`).

A fresh kernel spends about two seconds of CPU importing IPython, pandas,
matplotlib and shdata before a notebook's first cell does anything. This
process imports them once; each kernel is then a ``fork()`` of it that runs
ipykernel exactly as ``python -m ipykernel_launcher`` would. Only imports are
done here, and the font caches of PDF subsetting are filled
(:func:`shdata.render.warm_font_caches`, pure functions of the font files);
never work whose result a notebook could see: no figure, no style applied, no
data read. So a forked kernel computes the same bytes as a fresh one.

Protocol: one JSON request per line on ``REQ_FD`` (``{"argv", "env", "cwd"}``),
one JSON answer per line on ``ANS_FD`` (``{"pid": N}``). End of input means the
owner is gone: the kernels still running are killed and the process exits.

Run as ``python -m shdata._zygote REQ_FD ANS_FD`` (by :mod:`shdata._kernels` only).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import random
import signal
import sys

#: What a kernel and the notebooks' setup import, heaviest first. Never anything whose import
#: looks for a running IPython shell (matplotlib_inline hooks itself into the shell it finds
#: then), and never pyplot, which would choose a backend.
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "pandas",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_pdf",
    "matplotlib.backends.backend_svg",
    "PIL.Image",
    "PIL.PngImagePlugin",
    "fontTools.subset",
    "shdata.notebook",
    "shdata.render",
    "shdata.standalone",
    "shdata.lint",
    "shdata.linebreak",
    "shdata.text",
    "shdata.units",
    "shdata.style",
    "shdata.figdata",
    "shdata.preview",
    "shdata.provenance",
)


def _reap(children: set[int]) -> None:
    """Collect the kernels that have exited, so none is left a zombie."""
    while children:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            children.clear()
            return
        if pid == 0:
            return
        children.discard(pid)


def _kernel(msg: dict, channels: tuple) -> None:
    """In the forked child: become ``python -m ipykernel_launcher <argv>``."""
    os.setsid()  # as jupyter_client starts kernels: their own session and process group
    for channel in channels:  # through the file objects, which would otherwise close the fd at exit
        channel.close()
    os.chdir(msg["cwd"])
    env = dict(msg["env"])
    env["JPY_PARENT_PID"] = str(os.getppid())  # ipykernel exits when this process is gone
    os.environ.clear()
    os.environ.update(env)
    random.seed()  # a fresh process would not share its parent's random state
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    sys.argv = list(msg["argv"])
    from ipykernel import kernelapp

    # ipykernel reads JPY_PARENT_PID into a class default when it is imported (here, before the
    # variable was set): given as a fresh import would read it, the kernel polls this process
    # and prints no console banner.
    code: str | int | None = 0
    try:
        kernelapp.IPKernelApp.launch_instance(parent_handle=int(env["JPY_PARENT_PID"]))
    except SystemExit as exc:
        code = exc.code
    # Leave like a normal interpreter (atexit handlers, flushed streams), never back into main().
    sys.exit(code)


def main(argv: list[str]) -> None:
    req_fd, ans_fd = int(argv[1]), int(argv[2])
    # python -m put our folder first on sys.path; ipykernel_launcher removes it too.
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    for name in PRELOAD:
        importlib.import_module(name)
    from shdata.render import warm_font_caches

    warm_font_caches()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the owner decides when kernels stop
    requests = os.fdopen(req_fd, "r", encoding="utf-8")
    answers = os.fdopen(ans_fd, "w", encoding="utf-8")
    answers.write('{"ready": true}\n')
    answers.flush()
    children: set[int] = set()
    for line in requests:
        msg = json.loads(line)
        _reap(children)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _kernel(msg, (requests, answers))
        children.add(pid)
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()
    for pid in children:  # the owner is gone: so are its kernels
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    _reap(children)


if __name__ == "__main__":
    main(sys.argv)
