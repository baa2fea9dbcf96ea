"""`shdata build` as processes: one build at a time per project, concurrent forced builds,
Ctrl-C / SIGTERM / SIGKILL, and the per-run time limit. Each test works on its own copy of
the session's built mini project (see tests/buildkit.py), like tests/test_build.py.

A module of its own so that pytest-xdist (``--dist loadscope``) can run it beside
tests/test_build.py rather than after it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from shdata.manifest import unaccounted

from .buildkit import (
    FAST,
    HANG_CODE,
    PARALLEL,
    SHDATA,
    build,
    copy_project,
    explain,
    one_line,
    project_processes,
    snapshot,
    start_blocking_build,
    statuses,
    temp_files,
    wait_for,
    write_notebook,
)

#: A long module: sent to the workers first, so that the session ends on short ones (tests/conftest.py).
pytestmark = pytest.mark.long

POSIX_WITH_PROC = os.name == "posix" and os.path.isdir("/proc")
posix_only = pytest.mark.skipif(not POSIX_WITH_PROC, reason="signals and /proc process checks")


def test_a_second_build_exits_at_once_with_no_wait_or_waits_for_the_first(project):
    from filelock import FileLock

    lock = FileLock(str(project / "build" / "build.lock"))
    (project / "build" / "build.lock.json").write_text(json.dumps({"pid": os.getpid(), "started": "now"}))
    with lock:
        done = build(project, "--no-wait")
        assert done.returncode == 2
        line = one_line(done.stderr)
        assert line.startswith("shdata: error: another shdata build is running") and f"pid {os.getpid()}" in line
        waiting = subprocess.Popen(
            [*SHDATA, "build", *FAST], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert waiting.stdout is not None  # piped above
        first = waiting.stdout.readline()
        assert first.startswith("Waiting for the shdata build already running"), first
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, first + out + err
    assert not (project / "build" / "staging").exists() or not any((project / "build" / "staging").iterdir())


def test_two_concurrent_forced_builds_rebuild_everything_and_change_no_byte(project):
    """``--force`` rebuilds every run; two forced builds at once queue on the lock and lose
    nothing; the manifest, the HTML renderings and the site are rewritten byte-identically,
    and the manifest lists exactly the files. Both
    builds run two workers, as a build does by default on a two-core machine.

    The second build selects one notebook and one language, which is all it rebuilds: the
    queueing does not depend on what is built, and one run fewer keeps the test short.
    """
    before = snapshot(project / "figures")
    pages = {d: snapshot(project / "build" / d) for d in ("html", "site")}
    manifests = {n: (project / "figures" / n).read_bytes() for n in ("manifest.json", "manifest.csv")}
    expected = {(): {"mini-en": "built", "mini-zh": "built"}, ("mini", "--lang", "en"): {"mini-en": "built"}}
    procs = {
        args: subprocess.Popen(
            [*SHDATA, "build", *PARALLEL, "--force", *args],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in expected
    }
    outs = {args: p.communicate(timeout=300) for args, p in procs.items()}
    for args, (out, err) in outs.items():
        assert procs[args].returncode == 0, out + err
        assert statuses(subprocess.CompletedProcess([], 0, out, err)) == expected[args], out
    assert snapshot(project / "figures") == before
    # The same results render the same pages: the HTML renderings and the whole site, byte for byte
    # (a run's staging folder, timings and papermill's random cell id do not reach them).
    assert {d: snapshot(project / "build" / d) for d in pages} == pages
    assert not temp_files(project)
    assert not any((project / "build" / "staging").glob("*"))
    for n, data in manifests.items():
        assert (project / "figures" / n).read_bytes() == data, n
    m = json.loads(manifests["manifest.json"])
    fig = m["figures"][0]
    assert set(fig["title"]) == {"en", "zh"} and fig["sections"] == ["§8.2"]
    assert all(len(f["sha256"]) == 64 for f in fig["files"])
    text = manifests["manifest.json"].decode()
    assert "timestamp" not in text and "seconds" not in text
    assert unaccounted(project / "figures") == ([], [])


@posix_only
@pytest.mark.parametrize(
    "sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")]
)
def test_signal_stops_workers_and_kernels_and_leaves_only_complete_files(project, sig, code, word):
    before = snapshot(project / "figures")
    proc = start_blocking_build(project)
    assert project_processes(project), "a worker and a kernel run"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, out + err
    assert one_line(err).startswith(f"shdata: {word}")
    wait_for(lambda: not project_processes(project), "the workers and kernels to exit")
    assert snapshot(project / "figures") == before
    assert not temp_files(project)
    assert not any((project / "build" / "staging").glob("*"))
    os.remove(project / "notebooks" / "slow.ipynb")
    done = build(project, "--no-wait")
    assert done.returncode == 0, explain(project, done)


@posix_only
def test_workers_and_kernels_exit_when_the_build_is_killed(project):
    proc = start_blocking_build(project)
    assert project_processes(project)
    proc.kill()
    proc.communicate(timeout=60)
    wait_for(lambda: not project_processes(project), "the orphaned workers and kernels to exit")
    # the lock died with the build: the next build runs at once and clears the dead build's staging
    os.remove(project / "notebooks" / "slow.ipynb")
    done = build(project, "--no-wait")
    assert done.returncode == 0, explain(project, done)
    assert not (project / "build" / "staging").exists() or not any((project / "build" / "staging").iterdir())


# The runaway notebook always runs this long; the other run must finish within it too. mini-en
# takes about 4 s alone and took up to 14 s on the 2-core machine while two test suites ran at
# once, so 30 s is still generous for it.
RUNAWAY_TIMEOUT = 30


@pytest.fixture(scope="module")
def runaway_build(template, tmp_path_factory):
    """A build of a private project whose second notebook never finishes, started at once.

    Waiting out the time limit takes no CPU, so the build is started when the module's first
    test starts (see the next fixture) and waits beside the module's other tests; the test
    that checks its outcome comes last.
    """
    project = copy_project(template, tmp_path_factory.mktemp("runaway") / "project")
    write_notebook(project / "notebooks" / "slow.ipynb", extra=HANG_CODE)
    proc = subprocess.Popen(
        [*SHDATA, "build", *FAST, "--force", "--lang", "en", "--timeout", str(RUNAWAY_TIMEOUT)],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield project, proc
    if proc.poll() is None:  # the test failed before it ended: stop it and what it started
        proc.kill()
    proc.communicate()


@pytest.fixture(scope="module", autouse=True)
def runaway_build_starts_with_the_module(request):
    """Start :func:`runaway_build` before the module's first test, if its test was selected."""
    selected = (i.module is request.module and "runaway_build" in i.fixturenames for i in request.session.items)
    if POSIX_WITH_PROC and any(selected):
        request.getfixturevalue("runaway_build")


@posix_only
def test_a_runaway_notebook_times_out_and_the_others_go_on(runaway_build):
    project, proc = runaway_build
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, out + err
    line = next(line for line in out.splitlines() if line.startswith("FAILED slow (en)"))
    assert f"timed out after {RUNAWAY_TIMEOUT} s (--timeout)" in line
    assert statuses(subprocess.CompletedProcess([], 1, out, err))["mini-en"] == "built"
    wait_for(lambda: not project_processes(project), "the timed-out kernel to exit")
