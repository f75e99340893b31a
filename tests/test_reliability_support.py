"""Helpers shared by the reliability tests (tests/test_reliability_*.py); no tests here.

``Cli`` runs ``python -m inventory …`` in a subprocess with stderr on a pseudo-terminal, so
that the import shows its progress bars exactly as a person sees them ("checking", then
"writing" once the first batch is inside the write transaction): the tests use them to act
at a precise moment of an import (kill it, stop its server, read while it writes).
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLEAN = Path(__file__).resolve().parent / "data" / "clean"


class Cli:
    """One ``inventory`` subprocess; stderr on a pty, stdout in a file."""

    def __init__(self, args: list[str], env: dict[str, str], out: Path):
        master, slave = pty.openpty()
        self.master = master
        self.stdout_path = out
        self._stdout = open(out, "wb")
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", "COLUMNS": "100"}
        self.proc = subprocess.Popen([sys.executable, "-m", "inventory", *args],
                                     stdin=subprocess.DEVNULL, stdout=self._stdout,
                                     stderr=slave, env=full_env, cwd=ROOT)
        os.close(slave)
        self.stderr = b""

    def _pump(self, wait: float) -> bool:
        """Read what the pty has; False once it is closed."""
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed its side
            return False
        self.stderr += chunk
        return bool(chunk)

    def wait_for(self, marker: bytes, timeout: float = 300) -> bool:
        """Wait until stderr shows ``marker``; False if the process ended first."""
        deadline = time.monotonic() + timeout
        while marker not in self.stderr:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {marker!r} after {timeout} s: {self.text()[-500:]}")
            if not self._pump(0.05) and self.proc.poll() is not None:
                return marker in self.stderr
        return True

    def wait_until(self, condition, timeout: float = 300):
        """Keep reading stderr until ``condition()`` is true; its value."""
        deadline = time.monotonic() + timeout
        while not (value := condition()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                return value
            self._pump(0.01)
        return value

    def progress(self, label: str) -> int:
        """The last percentage the ``label`` progress bar showed (-1: none)."""
        shown = re.findall(label + r"[^\r\n%]*?(\d+)%", self.text())
        return int(shown[-1]) if shown else -1

    def finish(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                raise TimeoutError(self.text()[-2000:])
            self._pump(0.1)
        while self._pump(0):
            pass
        self.close()
        return self.proc.returncode

    def close(self) -> None:
        if not self._stdout.closed:
            self._stdout.close()
        try:
            os.close(self.master)
        except OSError:
            pass

    def text(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text("utf-8", "replace")

    def error_lines(self) -> list[str]:
        """stderr without the progress bars (carriage-return redraws)."""
        lines = []
        for line in self.text().replace("\r\n", "\n").split("\n"):
            line = line.rsplit("\r", 1)[-1].strip()
            if line and not line.startswith(("checking", "writing")) and "\x1b" not in line:
                lines.append(line)
        return lines


def generated_export(folder: Path, sites: int, seed: int) -> Path:
    from importers.generate import generate

    out = folder / f"export-{sites}-{seed}"
    if not (out / "sites.csv").exists():
        generate(out, sites, seed, force=True)
    return out


def neo4j_script(state: Path, *args: str, timeout: float = 300) -> dict[str, str]:
    """``scripts/neo4j ARGS`` with a private state dir; the env lines it printed."""
    result = subprocess.run([str(ROOT / "scripts" / "neo4j"), *args], capture_output=True, check=False,
                            text=True, timeout=timeout,
                            env={**os.environ, "NEO4J_STATE_DIR": str(state)})
    if result.returncode != 0 and args[0] != "status":
        raise RuntimeError(f"scripts/neo4j {' '.join(args)}: {result.stdout}{result.stderr}")
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
