"""A bubblewrap sandbox for one submission's run.

The run sees a root made of read-only binds only: the system's ``/usr`` (and the links ``/bin``, ``/lib``...),
the Python installation and the folders its imports come from (the environment's ``site-packages``, the teachbind
package), the data mirror and cache at ``/data``, and the grader's files for this run at ``/grader``. Its one
writable place is a private ``/tmp`` of capped size (its home, working folder and caches); ``/dev/shm`` is another,
as small. It has its own network namespace (no network, not even the loopback of anyone else), its own PID
namespace (it sees only its own processes, and all of them end when the run ends or the grader dies), IPC and UTS
namespaces, a cleared environment, and a new session. When the grader runs as root the run is an unprivileged user
of its own (one uid per concurrent slot, so that process limits are per run) with no capabilities; otherwise it is
the grader's user inside a user namespace. Resource limits (address space, processes, file size, CPU time, open
files, no core dumps) are set before the sandbox starts, so nothing inside can raise them.

Bubblewrap rather than ``unshare``: one command builds the whole mount tree from nothing (no bind of ``/`` to hide
things from), its ``--die-with-parent`` ties the run's lifetime to the grader's, and it runs the same way as root and
as an ordinary user; Debian ships it as ``bubblewrap``.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

UID_BASE = 61000
HOME = "/tmp/home"
WORK = "/tmp/work"


class SandboxUnavailable(RuntimeError):
    """No sandbox can start here; the message says why and what to do."""


@dataclass(frozen=True)
class Caps:
    """Per-run limits: ``memory`` (bytes of address space headroom is added), ``disk`` (bytes of /tmp),
    ``processes`` (processes and threads of the run's user), ``cpu_seconds``."""

    memory: int
    disk: int
    processes: int
    cpu_seconds: int


@functools.cache
def import_roots() -> tuple[str, ...]:
    """The folders a fresh interpreter of this environment imports from (outside ``/usr``), teachbind's included."""
    probe = ("import sys, teachbind, os; print('\\n'.join(p for p in [*sys.path, teachbind.__path__[0]]"
             " if p and os.path.isdir(p)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd="/",
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}).stdout
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    for path in out.split():
        real = os.path.realpath(path)
        if not real.startswith("/usr/") and not any(real == r or real.startswith(r + os.sep) for r in roots):
            roots.add(real)
    return tuple(sorted(roots))


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def command(argv: list[str], *, binds: dict[str, str], caps: Caps, env: dict[str, str], slot: int) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` in the sandbox, with ``binds`` (inside path → host path)
    mounted read-only besides the system and the Python environment."""
    bwrap = shutil.which("bwrap")
    root = os.geteuid() == 0
    args = [bwrap, "--die-with-parent", "--new-session", "--as-pid-1", "--unshare-ipc", "--unshare-pid",
            "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox", "--clearenv"]
    if not root:
        args += ["--unshare-user"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            args += ["--ro-bind", str(host), f"/{name}"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(name):
            args += ["--ro-bind", name, name]
    mounts = {path: path for path in import_roots()} | binds
    made = set()
    for inside in sorted(mounts):
        for parent in _parents(inside):
            if parent not in made and parent not in ("/usr", "/tmp"):
                args += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        args += ["--ro-bind", mounts[inside], inside]
    args += ["--dev", "/dev", "--proc", "/proc",
             "--perms", "1777", "--size", str(caps.disk), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(min(caps.disk, 64 * 2**20)), "--tmpfs", "/dev/shm",
             "--perms", "1777", "--dir", HOME, "--perms", "1777", "--dir", WORK, "--chdir", WORK]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args.append("--")
    if root:
        uid = str(UID_BASE + slot)
        args += [shutil.which("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--no-new-privs"]
    return args + argv


def limiter(caps: Caps, *, per_user: bool):
    """A ``preexec_fn`` setting the run's resource limits (soft and hard)."""
    headroom = 4 * 2**30  # torch and numba reserve about 3 GB of address space they never touch

    def apply() -> None:
        limits = {resource.RLIMIT_AS: caps.memory + headroom, resource.RLIMIT_FSIZE: caps.disk,
                  resource.RLIMIT_CPU: caps.cpu_seconds, resource.RLIMIT_CORE: 0, resource.RLIMIT_NOFILE: 4096}
        if per_user:
            limits[resource.RLIMIT_NPROC] = caps.processes
        for kind, value in limits.items():
            resource.setrlimit(kind, (value, value))

    return apply


@functools.cache
def unavailable() -> str | None:
    """Why no sandbox can start here (``None`` if one can): bwrap missing, or a trial run failing."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; the README's set-up "
                "installs it)")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing: the grader runs as root and needs it to drop to an unprivileged user"
    caps = Caps(memory=2**30, disk=2**24, processes=64, cpu_seconds=60)
    trial = command([sys.executable, "-c", "print('ok')"], binds={}, caps=caps, env={"PATH": "/usr/bin"}, slot=0)
    try:
        done = subprocess.run(trial, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not start: {error}"
    if done.returncode != 0 or done.stdout.strip() != "ok":
        return f"a trial sandbox failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-300:]}"
    return None
