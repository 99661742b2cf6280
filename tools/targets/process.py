"""The bottom of tools/targets: what every target needs from the host - ending a process group,
a free TCP port, waiting until something answers HTTP, reading build-info.json.

Imports nothing of the kit; every target module may import it, it imports none of them.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional


def stop_process_group(proc, wait: float = 5) -> None:
    """End a process started with start_new_session=True and everything it started:
    SIGTERM to its group, SIGKILL after ``wait`` seconds (nothing when it already ended)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except OSError:
        proc.terminate()
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.wait(wait)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now (the OS's pick)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def opener() -> urllib.request.OpenerDirector:
    """urllib without proxies: a board is on the local network, never behind the user's proxy."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_http(url: str, timeout: float = 60, alive: Optional[Callable[[], None]] = None,
              interval: float = 0.5) -> Optional[Exception]:
    """Wait until ``url`` answers HTTP (any status counts); None when it did, else the last error
    once ``timeout`` has passed. ``alive()`` is called between tries and may raise (the target
    died)."""
    deadline = time.monotonic() + timeout
    last: Optional[Exception] = None
    web = opener()
    while True:
        if alive is not None:
            alive()
        try:
            with web.open(url, timeout=5) as r:
                r.read()
            return None
        except urllib.error.HTTPError:
            return None  # it answered
        except Exception as exc:  # not up yet: refused, reset, timed out
            last = exc
        if time.monotonic() > deadline:
            return last
        time.sleep(interval)


def read_build_info(image) -> Optional[dict]:
    """The build-info.json the kit's build wrote next to ``image`` (None without one)."""
    if image is None:
        return None
    info = Path(image).resolve().parent / "build-info.json"
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def built_extensions(image) -> Optional[list]:
    """The extensions a kit-built image holds, from the build-info.json next to it."""
    data = read_build_info(image)
    exts = data.get("extensions") if data else None
    return sorted(exts) if isinstance(exts, list) else None
