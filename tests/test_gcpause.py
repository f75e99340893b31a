"""The collector settings of long-running processes (inventory.gcpause).

Both helpers change the whole process, so each check runs in a child interpreter."""

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_settle_heap_freezes_startup_objects_and_collects_fully_more_often():
    out = _run("import gc\n"
               "from inventory.gcpause import settle_heap\n"
               "before = gc.get_threshold()\n"
               "settle_heap()\n"
               "after = gc.get_threshold()\n"
               "print(gc.get_freeze_count() > 1000, before[:2] == after[:2], after[2])")
    assert out == "True True 1"


def test_gc_paused_restores_the_collector():
    out = _run("import gc\n"
               "from inventory.gcpause import gc_paused\n"
               "with gc_paused():\n"
               "    inside = gc.isenabled()\n"
               "print(inside, gc.isenabled())")
    assert out == "False True"
