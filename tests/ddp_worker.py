"""Run under torchrun by tests/test_ddp.py: registers the test plugins, then runs
each command line given as JSON in argv[1] through genkit's CLI, as
``torchrun -m genkit train ...`` would."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ddp_plugins import register_all  # noqa: E402

from genkit.cli import main  # noqa: E402

if __name__ == "__main__":
    register_all()
    for argv in json.loads(sys.argv[1]):
        main(argv)
