"""One writer per output: an exclusive lock file beside the output, taken before anything is written.

``<output>.lock`` is created atomically, already holding its owner (written to a file of its
own, then hard-linked to the lock's name; ``O_CREAT | O_EXCL`` where there are no hard links):
process id, host, the process's start time and the command. An unreadable lock (e.g. empty,
left by an older tonecls that crashed) older than 30 s is stale. A second run on the same
output fails at once with a message naming the holder. A lock whose owner is gone (same host,
no process with that id and start time) is stale: it is moved aside and taken over, and of
several runs taking over at once only one succeeds (the exclusive create decides). A lock held on another host cannot be
checked from here: the message says how to remove it once that run is known to be over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tonecls.errors import InputError

__all__ = ["OutputLock", "lock_path", "report_lock"]

STALE_GUARD_SECONDS = 30  # a takeover guard older than this was left by a run that died


def lock_path(output: str | os.PathLike) -> Path:
    """Where the lock of a job writing ``output`` lives: ``<output>.lock``."""
    return Path(f"{os.fspath(output)}.lock")


def _start_time(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux ``/proc``), None where unknown;
    with the pid it tells a process from a later one that reused its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(owner: dict[str, Any]) -> bool:
    """Whether the process that wrote ``owner`` (on this host) still runs."""
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user holds that pid
        pass
    started = owner.get("started_ticks")
    return started is None or _start_time(pid) in (None, started)


class OutputLock:
    """Context manager holding the lock of ``output`` (see the module docstring).

    >>> with OutputLock("scored.csv"):        # doctest: +SKIP
    ...     run_the_job()
    """

    def __init__(self, output: str | os.PathLike, *, resumable: bool = False) -> None:
        self.output = Path(output)
        self.resumable = resumable  # the job can resume: the message says how to keep its chunks
        self.path = lock_path(output)
        self.owner = {"pid": os.getpid(), "host": socket.gethostname(),
                      "started_ticks": _start_time(os.getpid()),
                      "since": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
                      "command": " ".join(sys.argv)[:500]}
        self.held = False

    def acquire(self) -> None:
        """Take the lock, taking over a stale one; :class:`InputError` if another run holds it."""
        for _ in range(20):
            if self._create():
                self.held = True
                return
            if self.path.is_dir():
                raise InputError(f"{self.path} is a directory, where tonecls keeps the lock of {self.output} "
                                 "(a file). Move or remove it, then run again.")
            holder = self._read()
            if holder is None:  # being written or removed just now: look again
                continue
            if not holder and self._age() < STALE_GUARD_SECONDS:  # unreadable: being written?
                time.sleep(0.05)
                continue
            if holder and (holder.get("host") != self.owner["host"] or _alive(holder)):
                raise InputError(self._held_message(holder))
            self._set_aside(holder)
        raise InputError(f"cannot take the lock {self.path}: other runs keep replacing it. Make sure only "
                         f"one tonecls run writes {self.output}, then run again.")

    def _create(self) -> bool:
        """Create the lock already holding its owner: written to a file of this process's own,
        then hard-linked to the lock's name (atomic, and never an empty lock after a crash);
        where hard links are not supported, created exclusively and then written."""
        own = self.path.with_name(f"{self.path.name}.{self.owner['pid']}.{id(self)}")
        own.write_text(json.dumps(self.owner), encoding="utf-8")
        try:
            os.link(own, self.path)
            return True
        except FileExistsError:
            return False
        except OSError:  # no hard links here
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(self.owner, handle)
            return True
        finally:
            own.unlink(missing_ok=True)

    def _age(self) -> float:
        """Seconds since the lock file was last written (0 if it is gone)."""
        try:
            return time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def _read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            data = {}
        return data if isinstance(data, dict) else {}

    def _set_aside(self, stale: dict[str, Any]) -> None:
        """Remove the stale lock ``stale``. Runs taking over at once are serialised by a guard
        file, and the lock is removed only if it is still the stale one (not a new owner's)."""
        guard = self.path.with_name(f"{self.path.name}.takeover")
        try:
            descriptor = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:  # a guard left by a run that died while taking over
                if time.time() - guard.stat().st_mtime > STALE_GUARD_SECONDS:
                    guard.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
            time.sleep(0.05)
            return
        os.close(descriptor)
        try:
            if self._read() == stale:
                self.path.unlink(missing_ok=True)
        finally:
            guard.unlink(missing_ok=True)

    def _held_message(self, holder: dict[str, Any]) -> str:
        who = (f"process {holder.get('pid', '?')} on host {holder.get('host', '?')}, since "
               f"{holder.get('since', '?')}" + (f" ({holder['command']})" if holder.get("command") else ""))
        return (f"another run is writing {self.output}: {who} holds {self.path}. Wait for it to finish, or "
                f"choose another output. If that run is over (e.g. its machine went down), delete {self.path} "
                "and run again" + (" (with --resume to keep its completed chunks)." if self.resumable else "."))

    def release(self) -> None:
        """Remove the lock if this run holds it."""
        if self.held and (self._read() or {}).get("pid") == self.owner["pid"]:
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


@contextlib.contextmanager
def report_lock(out_dir: str | os.PathLike, name: str) -> Iterator[OutputLock]:
    """Hold the lock of the report ``out_dir/name`` (``.html``, ``.md``, ``.json``, figures), or of
    the one file ``out_dir/name`` a job writes whole (``tonecls sample``): ``<name>.lock`` in
    ``out_dir``, created with any missing folders. A job holds it from before it reads its input
    until its files are written, so that two runs writing one report never leave the HTML of one
    beside the JSON of the other. Folders created for the lock are removed again if the job
    wrote nothing into them (a refused run leaves no trace)."""
    out_dir = Path(out_dir)
    created = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()]  # deepest first
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with OutputLock(out_dir / name) as lock:
            yield lock
    finally:
        for folder in created:
            try:
                folder.rmdir()
            except OSError:  # the job wrote into it (or another did): keep it and its parents
                break
