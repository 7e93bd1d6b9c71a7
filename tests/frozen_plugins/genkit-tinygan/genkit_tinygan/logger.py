import json

import genkit


class JsonlLogger(genkit.Logger):
    def start(self, run, config):
        self.path = run.path / "tinygan-log.jsonl"
        self.write({"event": "start", "resumed": config["resumed"], "start_step": config["start_step"]})

    def log_epoch(self, epoch, row):
        self.write({"event": "epoch", "epoch": epoch, "train": row["train"]})

    def write(self, record):
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
