"""Run under torchrun by tests/test_ddp.py: registers the test plugins, then runs
each command line given as JSON in argv[1] through genkit's CLI, as
``torchrun -m genkit train ...`` would; ``{"ema": DIR, "dataset": NAME}`` instead of a
command line trains the diffusion model and saves each rank's EMA record in DIR
(tests/ema_record.py)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ddp_plugins import register_all  # noqa: E402
from ema_record import record_ranks  # noqa: E402

from genkit.cli import main  # noqa: E402

if __name__ == "__main__":
    register_all()
    for command in json.loads(sys.argv[1]):
        if isinstance(command, dict):
            record_ranks(command["ema"], command["dataset"])
        else:
            main(command)
