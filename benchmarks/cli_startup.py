"""How fast genkit answers: start-up of the installed ``genkit`` script against Python and torch.

Times, interleaved in one run (so machine load hits every command alike), the
median wall time of::

    python -c pass
    python -c "import torch"
    genkit --help
    genkit plugins
    genkit train --help
    a shell-completion call (what every TAB in bash runs)

and prints each as a fraction of ``import torch``.

    uv run python benchmarks/cli_startup.py --rounds 9
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMPLETION_ENV = {"_GENKIT_COMPLETE": "complete_bash", "COMP_WORDS": "genkit tr", "COMP_CWORD": "1"}


def commands(genkit: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    return {
        "python -c pass": ([sys.executable, "-c", "pass"], {}),
        "python -c 'import torch'": ([sys.executable, "-c", "import torch"], {}),
        "genkit --help": ([genkit, "--help"], {}),
        "genkit plugins": ([genkit, "plugins"], {}),
        "genkit train --help": ([genkit, "train", "--help"], {}),
        "completion (genkit tr<TAB>)": ([genkit], COMPLETION_ENV),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9, help="timed runs of each command (after one warm-up round)")
    args = parser.parse_args()
    genkit = shutil.which("genkit", path=str(Path(sys.executable).parent)) or shutil.which("genkit")
    if not genkit:
        sys.exit("the genkit console script is not installed in this environment")
    todo = commands(genkit)
    times: dict[str, list[float]] = {name: [] for name in todo}
    for round_ in range(args.rounds + 1):
        for name, (cmd, env) in todo.items():
            started = time.perf_counter()
            subprocess.run(
                cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
            )
            if round_:  # the first round warms the file cache
                times[name].append(time.perf_counter() - started)
    torch_time = statistics.median(times["python -c 'import torch'"])
    print(f"median of {args.rounds} interleaved runs (load average {os.getloadavg()[0]:.1f})")
    print(f"{'command':32s} {'seconds':>8s} {'of import torch':>16s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:32s} {median:8.3f} {median / torch_time:15.1%}")


if __name__ == "__main__":
    main()
