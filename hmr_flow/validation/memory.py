"""What the machine allows: memory for a requested size (:func:`check_memory`) and CPU cores for ``--threads``
(:func:`capped_threads`)."""

from __future__ import annotations

import os
from pathlib import Path

from hmr_flow.validation.errors import UserInputError

#: Share of the available memory a single request may take (the rest: the program, the system).
MEMORY_SHARE = 0.8


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup (v2) memory limit, if it has one."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def available_memory() -> int | None:
    """Bytes of memory available to this process now (Linux ``MemAvailable``, within a cgroup limit), or
    ``None`` when the system does not say."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    room = _cgroup_room()
    if room is not None:
        found.append(room)
    return min(found) if found else None


def format_bytes(count: float) -> str:
    """``1.2 GB``, ``30 TB``, ``512 MB`` (decimal units, 2 significant digits)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if count < 1000 or unit == "PB":
            return f"{count:.2g} {unit}" if unit != "B" else f"{count:.0f} B"
        count /= 1000
    raise AssertionError("unreachable")


def check_memory(option: str, what: str, needed: float) -> None:
    """:class:`UserInputError` when ``needed`` bytes (what ``option`` asks for: ``what``) exceed
    :data:`MEMORY_SHARE` of the available memory; the message gives both figures."""
    available = available_memory()
    if available is not None and needed > MEMORY_SHARE * available:
        raise UserInputError(f"{option}: {what} needs about {format_bytes(needed)} of memory, more than the "
                             f"{format_bytes(available)} available; ask for less")


def cpu_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def capped_threads(requested: int, option: str = "--threads") -> tuple[int, str | None]:
    """``requested`` threads capped at :func:`cpu_cores` (more only oversubscribe the cores and run slower),
    and the note to show when capped (``None`` otherwise)."""
    cores = cpu_cores()
    if requested <= cores:
        return requested, None
    return cores, f"{option} {requested}: more than the {cores} cores of this machine; using {cores}"
