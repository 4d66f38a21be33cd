"""What the bench scripts share: the repository's root, timing a command of a checkout in a fresh process,
timing tasks of this process round-robin, and the ``median (min–max)`` cell of their tables.

Imported by the scripts beside it (``from _common import …`` once this folder is on ``sys.path``).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import TypeVar

#: The repository's root: a checkout's code for :func:`timed`; the scripts put it on ``sys.path`` for its
#: ``data_tools`` (not installed).
REPOSITORY = Path(__file__).resolve().parents[1]

Key = TypeVar("Key", bound=Hashable)


def child_environment(code: Path) -> dict[str, str]:
    """The environment of a command of the checkout ``code``: its root first on ``PYTHONPATH``, bytecode
    caching on."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(code) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def timed(command: list[str], code: Path, cwd: Path) -> tuple[float, float]:
    """Runs ``command`` (of the checkout ``code``, from ``cwd``); returns its wall time and CPU time (user +
    system), seconds. A failure ends the script with the command's last stderr lines."""
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd,
                          env=child_environment(code))
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} (in {code}) failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def round_robin(tasks: dict[Key, Callable[[], object]], repeats: int,
                warmup: int = 1) -> dict[Key, list[tuple[float, float]]]:
    """``(cpu, wall)`` seconds of every task in each of ``repeats`` rounds (CPU: this thread's time), after
    ``warmup`` untimed rounds; every round runs each task once, so load changes hit all of them alike."""
    for _ in range(warmup):
        for task in tasks.values():
            task()
    times: dict[Key, list[tuple[float, float]]] = {name: [] for name in tasks}
    for _ in range(repeats):
        for name, task in tasks.items():
            cpu, wall = time.thread_time(), time.perf_counter()
            task()
            times[name].append((time.thread_time() - cpu, time.perf_counter() - wall))
    return times


def spread(values: Iterable[float], fmt: str = ".1f", *, width: int = 0,
           centre: Callable[[list[float]], float] = statistics.median, separator: str = "–") -> str:
    """``values`` as ``centre (min–max)``: the median (or ``centre``) right-aligned to ``width`` characters, then
    the smallest and largest value, each number formatted with ``fmt``."""
    values = list(values)
    return f"{format(centre(values), fmt):>{width}} ({min(values):{fmt}}{separator}{max(values):{fmt}})"
