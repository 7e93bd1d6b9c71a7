"""The built-in TensorBoard logger: ``genkit train --log tensorboard`` writes RUN/tensorboard/.

Scalars: ``step/TERM`` at the global step (every ``train.check_every`` steps),
``train/TERM`` and ``val/TERM`` per epoch, ``time/seconds`` and
``time/images_per_second`` per epoch. Images: the sample grid ``samples`` per
epoch (epoch 0 is before training). The config is written as hparams (with the
epoch scalars as its metrics) and as text. View with
``tensorboard --logdir runs/``.
"""

from __future__ import annotations

import json
from typing import Any

from .loggers import Logger, LoggerError

EXTRA_HINT = "the tensorboard logger needs the tensorboard package: pip install 'genkit[tensorboard]'"


class TensorBoardLogger(Logger):
    def __init__(self) -> None:
        try:
            import tensorboard  # noqa: F401  (only checked here; torch writes the files)
        except ImportError:
            raise LoggerError(EXTRA_HINT) from None
        self.writer = None
        self._hparams: dict[str, Any] = {}
        self._hparams_written = False

    def start(self, run, config):
        from torch.utils.tensorboard import SummaryWriter

        # On resume, TensorBoard hides what the earlier session logged after the checkpoint (steps
        # beyond start_step, written before a divergence or crash), so no step appears twice. Epoch
        # scalars and grids are indexed by epoch, which never exceeds the global step, so they stay.
        purge = config["start_step"] + 1 if config.get("resumed") else None
        self.writer = SummaryWriter(log_dir=str(run.path / "tensorboard"), purge_step=purge)
        self._hparams = _flatten({k: config[k] for k in ("model", "train") if k in config})
        # The same config as text, readable in the Text tab while the run goes on.
        self.writer.add_text(
            "config", "```\n" + json.dumps({k: config.get(k) for k in ("model", "train")}, indent=2) + "\n```", 0
        )

    def log_step(self, step, terms):
        for name, value in terms.items():
            self.writer.add_scalar(f"step/{name}", value, step)

    def log_epoch(self, epoch, row):
        for split in ("train", "val"):
            for name, value in (row.get(split) or {}).items():
                self.writer.add_scalar(f"{split}/{name}", value, epoch)
        for key, tag in (("seconds", "time/seconds"), ("images_per_second", "time/images_per_second")):
            if row.get(key) is not None:
                self.writer.add_scalar(tag, row[key], epoch)
        if not self._hparams_written:
            self._write_hparams(row)
        self.writer.flush()

    def log_images(self, name, images, epoch):
        self.writer.add_images(name, images.float().clamp(0, 1), epoch, dataformats="NCHW")
        self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _write_hparams(self, row: dict[str, Any]) -> None:
        """Hparams go into this run's own event file (``SummaryWriter.add_hparams`` would open a
        second run directory), once the first epoch names the metrics they are compared on."""
        from torch.utils.tensorboard.summary import hparams

        metrics = {
            f"{split}/{name}": value for split in ("train", "val") for name, value in (row.get(split) or {}).items()
        }
        for summary in hparams(self._hparams, metrics):
            self.writer.file_writer.add_summary(summary)
        self._hparams_written = True


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config to ``{"model.latent_dim": 20, ...}`` with values TensorBoard's hparams accept."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:  # None, lists: shown as text
            flat[name] = json.dumps(value)
    return flat
