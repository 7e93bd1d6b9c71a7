"""``genkit train --nproc N``: the same command again under ``torchrun`` on this machine."""

from __future__ import annotations

import subprocess
import sys


def without_nproc(argv: list[str]) -> list[str]:
    """``argv`` without its ``--nproc N`` / ``--nproc=N`` option."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--nproc":
            skip = True
            continue
        if arg.startswith("--nproc="):
            continue
        out.append(arg)
    return out


def torchrun_command(nproc: int, argv: list[str]) -> list[str]:
    """The torchrun command line for ``genkit ARGV`` with ``nproc`` processes on one node.

    ``--standalone`` lets torchrun pick a free local port for the rendezvous,
    so several jobs can share a machine.
    """
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(nproc),
        "-m",
        "genkit",
        *without_nproc(argv),
    ]


def launch_torchrun(nproc: int, argv: list[str]) -> int:
    """Run the command under torchrun and return its exit status."""
    try:
        return subprocess.run(torchrun_command(nproc, argv)).returncode
    except KeyboardInterrupt:
        return 130
