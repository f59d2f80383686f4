"""Host statistics from psutil (a C extension compiled at install time)."""

import psutil


def summary() -> dict:
    mem = psutil.virtual_memory()
    return {
        "cpus": psutil.cpu_count(),
        "memory_total_mb": mem.total // (1024 * 1024),
        "memory_percent": mem.percent,
        "pids": len(psutil.pids()),
    }
