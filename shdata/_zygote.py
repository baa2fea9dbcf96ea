"""A warm process that forks notebook kernels (the server side of :mod:`shdata._kernels`).

A fresh kernel spends about two seconds of CPU importing IPython, pandas,
matplotlib and shdata before a notebook's first cell does anything. This
process imports them once; each kernel is then a ``fork()`` of it that runs
ipykernel exactly as ``python -m ipykernel_launcher`` would. Only imports are
done here, and the font caches of PDF subsetting are filled
(:func:`shdata.render.warm_font_caches`, pure functions of the font files);
never work whose result a notebook could see: no figure, no style applied, no
data read. So a forked kernel computes the same bytes as a fresh one.

Several processes may share one warm process (the workers of a build). The
owner that started it holds a control socket (``CONTROL_FD``, a
``SOCK_SEQPACKET`` pair) over which it hands one end of a socket pair per
client; no other process can reach it. On its socket a client first reads
``{"ready": true, "pid", "env"}`` (the environment the imports saw), then sends
one JSON request per line (``{"argv", "env", "cwd"}``) and reads one answer per
line (``{"pid": N}``). A client that goes away takes its running kernels with
it; when the owner goes away, every kernel is killed and the process exits.

Run as ``python -m shdata._zygote CONTROL_FD`` (by :mod:`shdata._kernels` only).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import random
import selectors
import signal
import socket
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


def _kernel(msg: dict, channels: list[socket.socket]) -> None:
    """In the forked child, once it leads its own session: become ``python -m ipykernel_launcher <argv>``."""
    for channel in channels:  # through the socket objects, which would otherwise close the fd at exit
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


class _Client:
    """One process asking for kernels: its socket, what it sent so far, the kernels it has."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = b""
        self.kernels: set[int] = set()

    def send(self, obj: dict) -> None:
        self.sock.sendall((json.dumps(obj) + "\n").encode())


def _kill(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)  # each kernel leads its own group


def main(argv: list[str]) -> None:
    control = socket.socket(fileno=int(argv[1]))
    # python -m put our folder first on sys.path; ipykernel_launcher removes it too.
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    for name in PRELOAD:
        importlib.import_module(name)
    from shdata.render import warm_font_caches

    warm_font_caches()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the owner decides when kernels stop
    ready = {"ready": True, "pid": os.getpid(), "env": dict(os.environ)}
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    clients: dict[socket.socket, _Client] = {}
    children: set[int] = set()
    while True:
        for key, _ in selector.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if sock is control:
                # The owner hands over one end of a new client's socket, or is gone.
                try:
                    msg, fds, _, _ = socket.recv_fds(control, 16, 1)
                except OSError:
                    msg, fds = b"", []
                if not msg:
                    _kill(children)
                    _reap(children)
                    return
                client = _Client(socket.socket(fileno=fds[0]))
                clients[client.sock] = client
                selector.register(client.sock, selectors.EVENT_READ)
                client.send(ready)
                continue
            client = clients[sock]
            try:
                data = sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:  # that client is gone: so are its kernels
                selector.unregister(sock)
                del clients[sock]
                _kill(client.kernels & children)
                sock.close()
                continue
            client.pending += data
            while b"\n" in client.pending:
                line, client.pending = client.pending.split(b"\n", 1)
                _reap(children)
                client.kernels &= children
                sys.stdout.flush()
                sys.stderr.flush()
                settled, announce = os.pipe()
                pid = os.fork()
                if pid == 0:
                    # As jupyter_client starts kernels: their own session and process group. Done
                    # before anyone learns the pid, so that a signal to the kernel's group (an
                    # interrupt, a kill) reaches it while it lives (senders still allow for a
                    # kernel that has died meanwhile).
                    os.setsid()
                    os.close(settled)
                    os.write(announce, b".")
                    os.close(announce)
                    signal.signal(signal.SIGINT, signal.SIG_DFL)
                    selector.close()
                    _kernel(json.loads(line), [control, *clients])
                os.close(announce)
                os.read(settled, 1)  # the child has its own group now (or has died: end of file)
                os.close(settled)
                children.add(pid)
                client.kernels.add(pid)
                client.send({"pid": pid})


if __name__ == "__main__":
    main(sys.argv)
