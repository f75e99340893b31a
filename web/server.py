"""Serving the app with waitress: in one process, or in several that share one socket.

A request's work (reading the store, the route analysis, rendering) is mostly Python, and
one process runs Python on one core at a time, so ``--workers N`` forks N processes that
accept on the same listening socket (the kernel hands each connection to one of them).
Each worker builds its own app after the fork, so no store or SQLite connection is ever
shared between processes. What the workers share lives in files: the secret key, the
users' file with the sign-in throttle and the cache generation (:mod:`web.cache`), and the
uploads waiting for their commit.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from typing import Any

from flask import Flask


def serve(make_app: Callable[[], Flask], host: str, port: int, *, threads: int = 8,
          workers: int = 1, log: Callable[[str], Any] = print) -> int:
    """Serve until stopped (SIGINT / SIGTERM); returns the exit status.

    With ``workers > 1`` the parent only supervises: it stops every worker when it is
    stopped, and stops the others (exit status 1) when a worker dies.
    """
    from waitress import serve as waitress_serve

    from inventory.gcpause import settle_heap

    app = make_app()  # in the parent first: a bad configuration fails once, before forking
    options = {"threads": threads, "ident": "inventory",
               "max_request_body_size": app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024}
    if workers <= 1:
        settle_heap()
        waitress_serve(app, host=host, port=port, **options)
        return 0
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host.strip("[]"), port), family=family, backlog=1024)
    children: set[int] = set()
    stopping = False

    def stop(signum: int = signal.SIGTERM, frame: Any = None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    # before forking, so that a stop arriving meanwhile still reaches the workers
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        if stopping:
            break
        pid = os.fork()
        if pid == 0:  # a worker: its own app, its own connections
            status = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                worker_app = make_app()
                settle_heap()
                waitress_serve(worker_app, sockets=[listener], **options)
                status = 0
            finally:
                os._exit(status)
        children.add(pid)
    listener.close()
    status = 0
    while children:
        pid, _ = os.wait()
        children.discard(pid)
        if not stopping:
            log(f"worker {pid} exited; stopping the server")
            status = 1
            stop()
    return status
