"""``python -m genkit.contract``: print the public contract, or check or update its snapshot.

Run from the repository root: ``--check`` compares with tests/contract/snapshot.txt and the
changelog in docs/plugins.md; ``--update`` rewrites the snapshot after a version bump.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import CONTRACT_VERSION
from .snapshot import CHANGELOG, SNAPSHOT, entries, problems, render, update


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genkit.contract", description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the snapshot (after a version bump)")
    parser.add_argument("--check", action="store_true", help="compare with the snapshot and changelog")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    parser.add_argument("--changelog", type=Path, default=CHANGELOG)
    args = parser.parse_args(argv)
    if args.update or args.check:
        if not args.changelog.is_file():
            print(f"no {args.changelog} here: run from the repository root", file=sys.stderr)
            return 2
        if args.update:
            found = update(args.snapshot, args.changelog)
        else:
            text = args.snapshot.read_text() if args.snapshot.is_file() else ""
            found = problems(text, entries(), CONTRACT_VERSION, args.changelog.read_text())
        for line in found:
            print(f"error: {line}", file=sys.stderr)
        if not found:
            print(f"contract {CONTRACT_VERSION}: {args.snapshot} {'written' if args.update else 'matches'}")
        return 1 if found else 0
    sys.stdout.write(render(CONTRACT_VERSION, entries()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
