"""Kernels forked from a warm process (shdata._kernels, shdata._zygote)."""

from __future__ import annotations

import json
import os
import select
import sys

import nbformat
import pytest

from shdata import _kernels

# (long: sent to the workers first, see tests/conftest.py)
pytestmark = [
    pytest.mark.skipif(not _kernels.forking_supported(), reason="needs fork and pidfd (Linux)"),
    pytest.mark.long,
]

#: Facts about the kernel a cell reports: who its parent is, what it was asked to see, and what
#: a cold kernel would report the same way.
PROBE = """
import json, os, sys
import matplotlib
from ipykernel.kernelapp import IPKernelApp
app = IPKernelApp.instance()
print(json.dumps({
    "pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(),
    "sid_is_pid": os.getsid(0) == os.getpid(),
    "env": os.environ.get("SHDATA_PROBE"), "parent_handle": app.parent_handle,
    "jpy_parent": os.environ.get("JPY_PARENT_PID"),
    "backend": matplotlib.get_backend(), "argv0": os.path.basename(sys.argv[0]),
    "path0": sys.path[0], "main": type(sys.modules["__main__"]).__name__,
}))
"""


def _probe(tmp_path, manager=None, env=None) -> dict:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(PROBE)]
    kwargs = {"kernel_manager_class": manager} if manager else {}
    with pytest.MonkeyPatch.context() as mp:  # the kernel inherits this process's environment
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        NotebookClient(nb, resources={"metadata": {"path": str(tmp_path)}}, timeout=120, **kwargs).execute()
    return json.loads(nb.cells[0].outputs[0]["text"])


@pytest.fixture
def warm():
    """A warm process of this test's own (stopped after it, with its kernels)."""
    _kernels.stop()
    yield _kernels.zygote()
    _kernels.stop()


def test_a_forked_kernel_is_the_kernel_a_cold_start_gives(warm, tmp_path):
    cold = _probe(tmp_path, env={"SHDATA_PROBE": "cold"})
    forked = _probe(tmp_path, _kernels.ForkingKernelManager, env={"SHDATA_PROBE": "forked"})
    assert forked["ppid"] == warm.pid, "the kernel was forked from the warm process"
    assert cold["ppid"] != warm.pid
    assert forked["env"] == "forked", "the kernel sees the environment of its own start"
    # ipykernel reads JPY_PARENT_PID when it is imported: the forked kernel must poll its parent
    # (and print no console banner) as a cold one does.
    assert forked["parent_handle"] == int(forked["jpy_parent"]) == forked["ppid"]
    assert cold["parent_handle"] == int(cold["jpy_parent"]) == cold["ppid"]
    same = ("cwd", "sid_is_pid", "backend", "argv0", "path0", "main")
    assert {k: forked[k] for k in same} == {k: cold[k] for k in same}
    assert forked["sid_is_pid"] and forked["cwd"] == str(tmp_path)


def test_a_kernel_asked_for_with_another_import_time_environment_starts_cold(warm, tmp_path):
    seen = _probe(tmp_path, _kernels.ForkingKernelManager, env={"MPLBACKEND": "agg"})
    assert seen["ppid"] != warm.pid, "MPLBACKEND is read at import: the warm process cannot serve"
    assert seen["backend"] == "agg"
    seen = _probe(tmp_path, _kernels.ForkingKernelManager, env={"SHDATA_PROBE": "x"})
    assert seen["ppid"] == warm.pid, "shdata's own variables are read at run time"


def test_a_failed_warm_process_means_a_cold_kernel_not_an_error(warm, tmp_path):
    dead = warm.pid
    assert warm.process is not None
    warm.process.kill()
    warm.process.wait()
    seen = _probe(tmp_path, _kernels.ForkingKernelManager)
    assert seen["ppid"] != dead
    assert seen["ppid"] == _kernels.zygote().pid, "a new warm process was started for the next kernel"


def test_kernels_die_with_the_warm_process_and_it_with_its_owner(warm, tmp_path):
    conn = tmp_path / "kernel.json"
    pid = warm.spawn([_kernels._launcher_path(), "-f", str(conn)], dict(os.environ), str(tmp_path))
    kernel = os.pidfd_open(pid)
    try:
        assert not select.select([kernel], [], [], 0)[0], "the kernel runs"
        _kernels.stop()  # the owner closes the warm process's input, as when it exits or is killed
        assert select.select([kernel], [], [], 30)[0], "the kernel was stopped with the warm process"
        assert warm.process is not None and warm.process.poll() is not None
    finally:
        os.close(kernel)


def test_workers_share_the_build_s_warm_process_and_each_takes_its_kernels_along(tmp_path):
    # As shdata build does: the build starts the warm process and hands each worker a socket.
    owner = _kernels.Zygote()
    try:
        first = _kernels.Zygote(fd=owner.add_client().detach())
        second = _kernels.Zygote(fd=owner.add_client().detach())
        assert first.pid == second.pid == owner.pid
        argv = [_kernels._launcher_path(), "-f"]
        a = first.spawn([*argv, str(tmp_path / "a.json")], dict(os.environ), str(tmp_path))
        b = second.spawn([*argv, str(tmp_path / "b.json")], dict(os.environ), str(tmp_path))
        fds = {pid: os.pidfd_open(pid) for pid in (a, b)}
        try:
            first.stop()  # a worker exits (or is killed): its socket closes
            assert select.select([fds[a]], [], [], 30)[0], "the first worker's kernel went with it"
            assert not select.select([fds[b]], [], [], 0)[0], "the second worker's kernel runs on"
            second.stop()
            owner.stop()  # the build closes: the warm process and every kernel go
            assert select.select([fds[b]], [], [], 30)[0]
            assert owner.process is not None and owner.process.poll() is not None
        finally:
            for fd in fds.values():
                os.close(fd)
    finally:
        owner.stop()


def test_signals_reach_a_forked_kernel_and_its_group(warm, tmp_path):
    import asyncio

    async def run() -> tuple[bool, int | None]:
        km = _kernels.ForkingKernelManager()
        await km.start_kernel(cwd=str(tmp_path))
        try:
            assert isinstance(km.provisioner, _kernels.ForkingProvisioner)
            pid = km.provisioner.pid
            assert pid is not None
            assert os.getpgid(pid) == pid, "the kernel leads its own process group"
            await km.interrupt_kernel()  # SIGINT to the group: ipykernel survives it
            alive = await km.is_alive()
            await km.shutdown_kernel(now=True)  # SIGKILL to the group
            return alive, await km.provisioner.poll() if km.provisioner else 0
        finally:
            if await km.is_alive():
                await km.shutdown_kernel(now=True)

    alive, code = asyncio.run(run())
    assert alive
    assert code is not None


def test_the_warm_process_imports_no_inline_backend_and_chooses_no_backend():
    # matplotlib_inline hooks itself into the IPython shell it finds when imported, and
    # importing pyplot may choose a backend: neither may happen before the kernel exists.
    from shdata import _zygote

    assert not any(name.startswith(("matplotlib_inline", "matplotlib.pyplot")) for name in _zygote.PRELOAD)
    code = (
        "import sys; from shdata import _zygote; import importlib; "
        "[importlib.import_module(n) for n in _zygote.PRELOAD]; "
        "from shdata.render import warm_font_caches; warm_font_caches(); "
        "print(sorted(m for m in sys.modules if m.startswith(('matplotlib_inline', 'matplotlib.pyplot'))))"
    )
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_font_caches_filled_ahead_give_the_same_pdf(tmp_path):
    # The warm process fills render's font caches before forking: a PDF must not depend on
    # whether they were filled then or on first use. One process: each PDF is written with
    # the caches filled on first use, then again after emptying and filling them ahead.
    import subprocess

    script = (
        "import sys; from shdata import render, style\n"
        "from matplotlib.figure import Figure\n"
        "style.register_fonts()\n"
        "meta = render.Metadata(title='t', caption='c', provenance='{}')\n"
        "def pdf(lang):\n"
        "    style.apply(lang)\n"
        "    fig = Figure(figsize=(3, 2)); ax = fig.add_subplot()\n"
        "    ax.bar(['上海', 'Beijing'], [1, 2]); ax.set_title('科技 Science 1,234')\n"
        "    return render.render(fig, 'pdf', meta, 300)\n"
        "def empty():\n"
        "    for f in (render._lean_font, render._common_gids, render._few_glyphs): f.cache_clear()\n"
        "for lang in ('en', 'zh'):\n"
        "    empty(); on_first_use = pdf(lang)\n"
        "    empty(); render.warm_font_caches(); ahead = pdf(lang)\n"
        "    assert render._few_glyphs.cache_info().currsize > 0\n"
        "    print(lang, on_first_use == ahead)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["en", "True", "zh", "True"]


def _ready_client(asked: list[str], shell, iopub) -> _kernels._ReadyClient:
    """A readiness client on fake channels, for a kernel that is alive: each kernel-info request it
    sends is appended to ``asked`` as ``request-N``."""

    class Client(_kernels._ReadyClient):
        shell_channel = shell
        iopub_channel = iopub

        def kernel_info(self):
            asked.append(f"request-{len(asked)}")
            return asked[-1]

        def _handle_kernel_info_reply(self, msg):
            pass

        async def _async_is_alive(self):
            return True

    return Client()


def test_an_idle_status_dropped_before_iopub_subscribed_is_asked_for_again_at_once():
    """A kernel answers kernel-info, but its "idle" status went out before the client's IOPub
    subscription reached it (ZeroMQ drops it): readiness asks again after a quarter of a second
    at most, instead of waiting out a second for a message that will never come."""
    import asyncio
    from queue import Empty

    asked: list[str] = []
    iopub_waits: list[float] = []

    class Shell:
        async def get_msg(self, timeout=None):
            return {"msg_type": "kernel_info_reply", "content": {}, "parent_header": {"msg_id": asked[-1]}}

    class IOPub:
        async def get_msg(self, timeout=None):
            iopub_waits.append(timeout)
            if len(asked) == 1:  # the first status was dropped
                raise Empty
            return {
                "msg_type": "status",
                "content": {"execution_state": "idle"},
                "parent_header": {"msg_id": asked[-1]},
            }

    asyncio.run(_ready_client(asked, Shell(), IOPub()).wait_for_ready(timeout=60))
    assert asked == ["request-0", "request-1"]
    assert max(iopub_waits) <= _kernels._ReadyClient.STATUS_WAIT <= 0.25


def test_a_kernel_whose_idle_status_trails_by_a_request_is_ready_at_the_next_ask():
    """On a busy machine each "idle" can come later than :attr:`STATUS_WAIT` after its reply, so
    that it arrives while the client already waits for the next request's. An "idle" for any
    request asked counts: the client is ready at its second ask, not stuck a request behind
    until its deadline (a forced build beside another failed so, "didn't respond in 60 s")."""
    import asyncio
    from queue import Empty

    asked: list[str] = []
    iopub: list[dict] = []

    class Shell:
        async def get_msg(self, timeout=None):
            # the reply to the latest request; its "idle" is published only when the next
            # request comes (too late for the wait that follows this reply)
            if len(asked) > 1:
                iopub.append(
                    {
                        "msg_type": "status",
                        "content": {"execution_state": "idle"},
                        "parent_header": {"msg_id": asked[-2]},
                    }
                )
            return {"msg_type": "kernel_info_reply", "content": {}, "parent_header": {"msg_id": asked[-1]}}

    class IOPub:
        async def get_msg(self, timeout=None):
            if not iopub:
                raise Empty
            return iopub.pop(0)

    asyncio.run(_ready_client(asked, Shell(), IOPub()).wait_for_ready(timeout=5))
    assert asked == ["request-0", "request-1"]
