"""Kernels forked from a warm process instead of started cold.

Every notebook run needs a kernel, and a cold one spends about two seconds of CPU
on imports (IPython, pandas, matplotlib, shdata) before the first cell runs. The
build's workers run many notebooks, so each keeps one warm process
(:mod:`shdata._zygote`) that has done those imports once and forks a kernel per
run. The kernel is the same ``ipykernel_launcher`` a cold start runs, in its own
session, with the environment and folder jupyter_client would give it.

:class:`ForkingKernelManager` is a jupyter_client kernel manager whose kernels
come from there; nbclient and papermill take it as ``kernel_manager_class``.
Whenever forking cannot give the same kernel a cold start would (another
interpreter or kernel command, an environment variable read at import time that
differs, no ``pidfd`` on this system, or the warm process failed), the kernel is
started cold, exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName, Type

#: Variables only read while a notebook runs (by shdata, which does no work at import, and by
#: jupyter_client and ipykernel, which the warm process imports but does not start; pytest
#: changes its own for every test). Any other
#: difference between a kernel's environment and the warm process's (PYTHONPATH, a locale, a
#: thread count a library reads at import...) means the kernel is started cold.
RUNTIME_PREFIXES = ("SHDATA_", "JPY_", "PYTEST_CURRENT_TEST")
#: What ipykernel sets when no backend is asked for; the warm process sets it before importing
#: matplotlib, which reads it at import.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def _import_time_env(env: dict[str, str]) -> dict[str, str]:
    """The part of ``env`` that modules may read while they are imported."""
    seen = {k: v for k, v in env.items() if not k.startswith(RUNTIME_PREFIXES)}
    seen["MPLBACKEND"] = seen.get("MPLBACKEND") or INLINE_BACKEND  # as ipykernel sets it
    return seen


#: The environment variable that hands a worker its socket to its build's warm process.
SHARED_ENV = "SHDATA_KERNEL_FORKER_FD"


class Zygote:
    """A connection to a warm process: one this process started (``Zygote()``), or its build's.

    Parameters
    ----------
    env : dict, optional
        The warm process's environment when this process starts it (default: ours).
    fd : int, optional
        A socket to a warm process another process started (see :data:`SHARED_ENV`).
    output : int, optional
        Where the warm process and its kernels write (a file descriptor, or
        ``subprocess.DEVNULL``); default: our standard error.
    """

    def __init__(self, env: dict[str, str] | None = None, fd: int | None = None, output: int | None = None) -> None:
        self.process: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        if fd is None:
            env = dict(os.environ if env is None else env)
            env.setdefault("MPLBACKEND", INLINE_BACKEND)
            self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shdata._zygote", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=output if output is not None else _stderr(),
                stderr=output if output is not None else None,
                pass_fds=(theirs.fileno(),),
                env=env,
                start_new_session=True,  # its own group, like the kernels: terminal signals go to the owner
            )
            theirs.close()
            self._sock = self.add_client()
        else:
            self._sock = socket.socket(fileno=fd)
            self._sock.set_inheritable(False)
        self._answers = self._sock.makefile("r", encoding="utf-8")
        self._lock = threading.Lock()
        self._ready: dict | None = None

    def add_client(self) -> socket.socket:
        """A socket for another process to ask this warm process for kernels (owner only)."""
        if self._control is None:
            raise OSError("only the process that started the warm process can add clients")
        mine, theirs = socket.socketpair()
        try:
            socket.send_fds(self._control, [b"c"], [theirs.fileno()])
        finally:
            theirs.close()
        return mine

    def _hello(self) -> dict:
        if self._ready is None:
            line = self._answers.readline()
            hello = json.loads(line) if line else {}
            if hello.get("ready") is not True:
                raise OSError("the warm kernel process did not start")
            self._ready = hello
        return self._ready

    @property
    def pid(self) -> int:
        """The warm process's pid (waits until it is ready)."""
        with self._lock:
            return int(self._hello()["pid"])

    @property
    def env(self) -> dict[str, str]:
        """The part of the warm process's environment its imports could read (waits until ready)."""
        with self._lock:
            return _import_time_env(self._hello()["env"])

    def alive(self) -> bool:
        return self.process is None or self.process.poll() is None

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str) -> int:
        """Fork one kernel and return its pid (raises OSError if the warm process is gone)."""
        with self._lock:
            self._hello()
            self._sock.sendall((json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n").encode())
            answer = self._answers.readline()
            if not answer:
                raise OSError("the warm kernel process exited")
            return int(json.loads(answer)["pid"])

    def stop(self) -> None:
        """Close the connection; the owner's closing stops the warm process and every kernel."""
        for closable in (self._answers, self._sock, self._control):
            if closable is not None:
                with contextlib.suppress(OSError):
                    closable.close()
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)


def _stderr() -> int:
    return sys.__stderr__.fileno() if sys.__stderr__ else subprocess.DEVNULL


_zygote: Zygote | None = None
_zygote_lock = threading.Lock()


def zygote() -> Zygote:
    """This process's warm kernel process: its build's (:data:`SHARED_ENV`), else its own."""
    global _zygote
    with _zygote_lock:
        if _zygote is None or not _zygote.alive():
            shared = os.environ.pop(SHARED_ENV, None)  # once: a second connection would be a new one
            _zygote = Zygote(fd=int(shared)) if shared else Zygote()
        return _zygote


def start() -> None:
    """Start (or connect to) the warm process now, so its imports overlap the caller's own start-up."""
    if forking_supported():
        zygote()


def stop() -> None:
    """Stop the warm process and the kernels it forked (they are also stopped when we exit)."""
    global _zygote
    with _zygote_lock:
        if _zygote is not None:
            _zygote.stop()
            _zygote = None


def forking_supported() -> bool:
    """Whether kernels can be forked here: POSIX with ``pidfd`` (Linux 5.3 or later)."""
    return hasattr(os, "fork") and hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


class _ForkedKernel:
    """The part of :class:`subprocess.Popen` a provisioner uses, for a kernel we did not start.

    The warm process is the kernel's parent and collects it; we watch it through a pidfd,
    which stays valid (and cannot point at a reused pid) for as long as we hold it.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd = os.pidfd_open(pid)
        self.returncode: int | None = None
        self._signalled = 0

    def poll(self) -> int | None:
        return self.wait(0)

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:  # only with a timeout: without one, select returns when the kernel is gone
                return None
            # Only the parent learns the exit status: report the signal we sent, if any.
            self.returncode = -self._signalled if self._signalled else 0
            os.close(self.fd)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            self._signalled = signum if signum in (signal.SIGKILL, signal.SIGTERM) else self._signalled
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.fd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _launcher_path() -> str:
    """``sys.argv[0]`` of ``python -m ipykernel_launcher``: the module's file."""
    import importlib.util

    spec = importlib.util.find_spec("ipykernel_launcher")
    if spec is None or spec.origin is None:
        raise OSError("ipykernel_launcher is not installed")
    return spec.origin


class ForkingProvisioner(LocalProvisioner):
    """A local provisioner whose IPython kernels are forked from the warm process."""

    def _forkable(self, cmd: list[str], kwargs: dict[str, Any]) -> bool:
        if not forking_supported() or len(cmd) < 3 or cmd[1:3] != ["-m", "ipykernel_launcher"]:
            return False
        try:
            same_python = os.path.samefile(cmd[0], sys.executable)
        except OSError:
            return False
        unexpected = set(kwargs) - {"env", "cwd", "kernel_id", "extra_arguments"}
        return same_python and not unexpected

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        if not self._forkable(cmd, kwargs):
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        cwd = str(kwargs.get("cwd") or Path.cwd())
        try:
            warm = zygote()
            if _import_time_env(env) != warm.env:
                return await super().launch_kernel(cmd, **kwargs)
            pid = warm.spawn([_launcher_path(), *cmd[3:]], env, cwd)
            process = _ForkedKernel(pid)
        except OSError:  # the warm process failed: a cold kernel is slower, never wrong
            return await super().launch_kernel(cmd, **kwargs)
        self.process = process  # type: ignore[assignment]
        self.pid = pid
        self.pgid = pid  # the kernel leads its own session and group (setsid)
        self.cwd = cwd
        return self.connection_info


class _ReadyClient(AsyncKernelClient):
    """jupyter_client's async client, told a kernel is ready as soon as it is.

    jupyter_client's ``wait_for_ready`` ends by reading IOPub until it has been
    quiet for 0.2 s, every kernel start: here it ends at the "idle" status that
    answers the kernel-info request, the last message a fresh kernel sends by
    itself (anything later belongs to no request of a run and is ignored by nbclient).
    Seeing that status also proves IOPub is subscribed, so no output of the run is lost.
    """

    #: How long the "idle" status may trail the kernel-info reply before it counts as dropped. A
    #: PUB socket drops what it publishes before the subscription reaches it, and a client that
    #: connected before the kernel listened retries every 0.1 s (libzmq's reconnect interval): a
    #: dropped status is asked for again after this, not after a second (measured: one kernel
    #: start in six lost its first status, and waited a second for it).
    STATUS_WAIT = 0.25

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        asked: set[str] = set()
        while True:
            asked.add(self.kernel_info())
            if await self._answered(asked):
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _answered(self, asked: set[str]) -> bool:
        """Whether the kernel answered one of the kernel-info requests ``asked`` on the shell channel
        within a second, then said "idle" for one of them on IOPub within :attr:`STATUS_WAIT` (if
        not, the status was dropped or is late: ask again).

        Any of them, not only the latest: a kernel slowed down by a busy machine answers each
        request after the next one was sent, and its "idle" for an earlier request proves IOPub
        is subscribed as well as one for the latest. Waiting for the latest one's alone, a client
        that once fell behind stayed behind by one request until its deadline (a forced build
        beside another, four kernels starting on two cores, failed so: "didn't respond in 60 s").
        """
        try:
            reply = await self.shell_channel.get_msg(timeout=1)
        except Empty:
            return False
        if reply["msg_type"] != "kernel_info_reply":
            return False
        self._handle_kernel_info_reply(reply)
        until = time.monotonic() + self.STATUS_WAIT
        while (left := until - time.monotonic()) > 0:
            try:
                msg = await self.iopub_channel.get_msg(timeout=left)
            except Empty:
                return False
            if (
                msg["msg_type"] == "status"
                and msg["content"].get("execution_state") == "idle"
                and msg["parent_header"].get("msg_id") in asked
            ):
                return True
        return False


class ForkingKernelManager(AsyncKernelManager):
    """An async kernel manager whose kernels come from :class:`ForkingProvisioner`."""

    client_class = DottedObjectName("shdata._kernels._ReadyClient")
    client_factory = Type(klass=AsyncKernelClient, default_value=_ReadyClient)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        # jupyter_client polls every 0.1 s for the kernel to be gone; a forked kernel's
        # pidfd says so the moment it is.
        process = getattr(self.provisioner, "process", None)
        if not isinstance(process, _ForkedKernel) or process.returncode is not None:
            return await super()._async_wait(pollinterval)
        loop = asyncio.get_running_loop()
        gone: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not gone.done():
                gone.set_result(None)

        loop.add_reader(process.fd, readable)
        try:
            await gone
        finally:
            loop.remove_reader(process.fd)

    async def _async_pre_start_kernel(self, **kw: Any):
        if self.provisioner is None:  # not a restart: choose ours before the default is made
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = ForkingProvisioner(
                kernel_id=self.kernel_id,
                kernel_spec=self.kernel_spec,
                parent=self,
            )
        return await super()._async_pre_start_kernel(**kw)
