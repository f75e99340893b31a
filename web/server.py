"""Serving the app with waitress: in one process, or in several that share one socket.

A request's work (reading the store, the route analysis, rendering) is mostly Python, and
one process runs Python on one core at a time, so ``--workers N`` forks N processes that
accept on the same listening socket (the kernel hands each connection to one of them).
Each worker builds its own app after the fork, so no store or SQLite connection is ever
shared between processes. What the workers share lives in files: the secret key, the
users' file with the sign-in throttle and the cache generation (:mod:`web.cache`), and the
uploads waiting for their commit.

The workers take new connections in turn by how many each has open (:class:`_Balance`):
left to the kernel, whichever worker woke first took them, and a client's keep-alive
connection stays with the worker that took it, so one worker could serve 6 of 8 clients
while the other served 2 (its clients then waited 3 × as long).
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from multiprocessing.sharedctypes import RawArray
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
    balance = _Balance(workers)
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
    for index in range(workers):
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
                balance.server(index, worker_app, listener, options).run()
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


class _Balance:
    """Spreads the connections over the worker processes: a worker accepts only while no
    other has fewer connections open.

    The counts live in shared memory, created before the fork. A worker that stops
    listening is blocked in its select() loop, so the one whose accept makes another the
    least loaded wakes it through that worker's pipe. Ties race for the connection as
    before (the loser's accept() finds nothing)."""

    def __init__(self, workers: int):
        self.counts = RawArray("i", [-1] * workers)  # -1: not serving yet, not counted
        self.pipes = [os.pipe() for _ in range(workers)]
        for read_end, write_end in self.pipes:
            os.set_blocking(read_end, False)
            os.set_blocking(write_end, False)

    def server(self, index: int, app: Flask, listener: socket.socket,
               options: dict[str, Any]) -> Any:
        """Worker ``index``'s waitress server on the shared ``listener``."""
        import logging

        from waitress.adjustments import Adjustments
        from waitress.server import TcpWSGIServer
        from waitress.task import ThreadedTaskDispatcher
        from waitress.wasyncore import file_dispatcher

        counts = self.counts
        wake = [w for i, (_, w) in enumerate(self.pipes) if i != index]

        class Server(TcpWSGIServer):
            def readable(self) -> bool:
                listening = super().readable()  # waitress's own limits and housekeeping
                counts[index] = len(self.active_channels)
                return listening and counts[index] <= min(c for c in counts if c >= 0)

            def handle_accept(self) -> None:
                super().handle_accept()
                counts[index] = len(self.active_channels)
                for fd in wake:
                    try:
                        os.write(fd, b".")
                    except BlockingIOError:  # a wake-up is already waiting there
                        pass

        class Wakeup(file_dispatcher):
            def writable(self) -> bool:
                return False

            def handle_read(self) -> None:
                try:
                    os.read(self._fileno, 512)
                except BlockingIOError:
                    pass

        # what waitress.serve(app, sockets=[listener], ...) does, with our server class
        logging.basicConfig()
        adj = Adjustments(sockets=[listener], **options)
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)
        socket_map: dict[int, Any] = {}
        server = Server(app, socket_map, True, listener, dispatcher=dispatcher, adj=adj,
                        bind_socket=False, sockinfo=(listener.family, listener.type,
                                                     listener.proto, listener.getsockname()))
        Wakeup(self.pipes[index][0], socket_map)
        server.print_listen("Serving on http://{}:{}")
        return server
