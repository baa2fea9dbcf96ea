#!/usr/bin/env python3
"""Set up the locked environment and run the project's main jobs.

Usage
-----
    python3 dev.py build     # set up .venv, then run the main job (the figure build)
    python3 dev.py test      # set up .venv, then run the whole test suite
    python3 dev.py setup     # only set up .venv
    python3 dev.py lock      # re-resolve requirements.lock (needs network; maintainers only)

Only the standard library is used here, so the script runs on a fresh machine
that has nothing but Python 3.11+. The virtual environment is rebuilt only when
``requirements.lock`` or ``pyproject.toml`` changed since it was last set up.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".shdata-setup-stamp"


def _venv_bin(name: str) -> Path:
    sub = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / sub / f"{name}{suffix}"


def _fingerprint() -> str:
    h = hashlib.sha256()
    for p in (LOCK, ROOT / "pyproject.toml"):
        h.update(p.read_bytes())
    h.update(sys.version.encode())
    return h.hexdigest()


def _run(cmd: list[str | Path], **kw) -> None:
    printable = " ".join(str(c) for c in cmd)
    print(f"+ {printable}", flush=True)
    done = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kw)
    if done.returncode != 0:
        sys.exit(f"dev.py: command failed (exit {done.returncode}): {printable}")


def _run_job(cmd: list[str | Path]) -> int:
    """Run the job and return its exit code; on Ctrl-C or SIGTERM let it clean up first.

    The terminal's Ctrl-C reaches the job as well (same process group); a
    SIGTERM or a SIGINT sent to dev.py alone is passed on. Either way dev.py
    waits for the job to finish its clean-up (``subprocess.run`` would kill it
    after a quarter of a second) and exits 130 (143 for SIGTERM) with one line.
    """
    printable = " ".join(str(c) for c in cmd)
    print(f"+ {printable}", flush=True)
    proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT)
    stopped_by: list[int] = []

    def forward(signum, frame) -> None:
        stopped_by.append(signum)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signum)

    old = {
        sig: signal.signal(sig, forward)
        for sig in (signal.SIGINT, signal.SIGTERM)
        if signal.getsignal(sig) is not signal.SIG_IGN
    }
    try:
        code = proc.wait()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if stopped_by:
        signum = stopped_by[0]
        print(
            f"dev.py: {'terminated' if signum == signal.SIGTERM else 'interrupted'}; "
            f"{Path(str(cmd[0])).name} stopped cleanly (exit {code})",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(128 + signum)
    return code


def setup() -> None:
    """Create ``.venv`` and install the locked dependencies plus shdata itself."""
    # dev.py runs under whatever python3 the user has, before any .venv exists
    if sys.version_info < (3, 11):  # noqa: UP036 -- the check is for interpreters older than target-version
        sys.exit(f"dev.py: Python 3.11 or newer is required, this is {sys.version.split()[0]}")
    want = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == want and _venv_bin("python").exists():
        return
    if not _venv_bin("python").exists():
        print(f"Creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    py = _venv_bin("python")
    _run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes", "-r", LOCK])
    # The project itself, editable so that notebooks and tests see edits at once.
    _run(
        [
            py,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            ROOT,
        ]
    )
    STAMP.write_text(want)


def _compile_bytecode() -> None:
    """Write the bytecode of the project's own modules (shdata/, tests/) unless it is up to date.

    Every process of a build or of the test suite (the CLI, workers, warm kernel process,
    pytest workers) imports shdata. An editable install leaves its bytecode to be written on
    first import, which never happens when PYTHONDONTWRITEBYTECODE is set (as in some CI and
    container images): then each process compiled shdata from source again, ~0.1 s of CPU.
    Python still reads bytecode that exists, and recompiles any module whose source changed.
    """
    py = _venv_bin("python")
    subprocess.run(
        [str(py), "-m", "compileall", "-q", "shdata", "tests"], cwd=ROOT, stdout=subprocess.DEVNULL, check=False
    )


def main(argv: list[str]) -> None:
    jobs = {"setup", "build", "test", "lock"}
    if len(argv) < 1 or argv[0] not in jobs:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(sorted(jobs))}}} [args...]")
    job, rest = argv[0], argv[1:]
    if job == "lock":
        _run(
            [
                sys.executable,
                "-m",
                "uv",
                "pip",
                "compile",
                "pyproject.toml",
                "--extra",
                "dev",
                "--universal",
                "--generate-hashes",
                "--python-version",
                "3.11",
                "-o",
                LOCK,
            ]
        )
        return
    setup()
    _compile_bytecode()
    if job == "build":
        # shdata's exit code is ours (1: a notebook failed, 2: the build could not start).
        sys.exit(_run_job([_venv_bin("shdata"), "build", *rest]))
    elif job == "test":
        # pytest's exit code is ours: CI reads it.
        sys.exit(_run_job([_venv_bin("python"), "-m", "pytest", *rest]))


if __name__ == "__main__":
    main(sys.argv[1:])
