"""The training loop shared by every model.

Data are uint8 tensors already on the training device. Each epoch draws one
permutation from a generator seeded by (seed, epoch), so a run resumed
mid-epoch sees the same order; the epoch starts from one permuted copy of the
training images on the device, each step takes the next contiguous slice of it,
lets the model prepare it (binarize, dequantize, rescale) and runs the model's
updates in order, each update's carry passed to the next. Logged terms stay on the device and are summed with
tensor ops; the host waits for the device only every ``check_every`` steps (to
catch a diverged loss) and once per epoch.

Under ``torchrun`` the same loop runs on every rank (see :mod:`.distributed`):
each step's global batch is split across ranks, gradients are averaged by DDP,
the epoch's terms are summed over ranks, and only rank 0 writes files. Mixed
precision and ``torch.compile`` come from :mod:`.precision`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from ..checkpoint import Checkpoint
from ..config import TrainConfig
from ..data import ImageDataset, split_validation
from ..errors import DataError, DivergenceError, GenkitError
from ..files import WriteError
from ..liveness import StatusWriter
from ..loggers import Logger, LoggerGroup
from ..model import Batch, GenerativeModel
from ..runs import Run
from . import distributed as ddp
from .checkpoint_clock import CheckpointClock
from .checks import batch_bounds, batches_per_step, check_loss_terms, draw_bounds, has_graph, steps_per_epoch
from .distributed import DistContext
from .grids import NO_GRIDS, draw_grid, grid_file
from .precision import backward_twice, compiled, resolve_precision, scaler_states, tf32_enabled
from .reporting import Reporter
from .state import (
    Progress,
    check_epoch_sums,
    restore_training_state,
    rng_tensors,
    save_training_checkpoint,
)
from .step_batches import StepBatches
from .stopping import stop_requests
from .validation import validation_terms


class TrainingInterrupted(GenkitError):
    """Training stopped on request (Ctrl-C) after saving a resumable checkpoint."""


@dataclass
class TrainResult:
    """The run directory, the per-epoch metrics and the trained model (in memory)."""

    run: Run
    epochs: int
    metrics: list[dict[str, Any]]
    model: GenerativeModel


class Trainer:
    """Trains one model on one dataset into one run directory.

    Args:
        model: the model, already on ``device``.
        cfg: the training settings.
        data: the dataset (moved to ``device`` here).
        run: where everything is written.
        meta: metadata stored in every checkpoint (model name, configs, data info).
        reporter: progress display.
        on_step: called after every step with the trainer (tests use it to interrupt).
        dist: this process's place in a multi-process job (default: a single process).
        loggers: the run's enabled loggers (:mod:`genkit.loggers`); give them to rank 0 only.
    """

    def __init__(
        self,
        model: GenerativeModel,
        cfg: TrainConfig,
        data: ImageDataset,
        run: Run,
        device: torch.device,
        meta: dict[str, Any],
        reporter: Reporter,
        on_step: Callable[[Trainer], None] | None = None,
        dist: DistContext = ddp.SINGLE,
        loggers: list[Logger] | None = None,
    ):
        self.model, self.cfg, self.run, self.device, self.meta = model, cfg, run, device, meta
        self.reporter = reporter
        self.on_step = on_step
        self.dist = dist
        self.data = data.to(device)
        self.split = split_validation(self.data, cfg.val_size, limit=cfg.limit)
        self.optimizers = model.configure_optimizers(cfg.lr)
        self.updates = model.updates()
        self.precision = resolve_precision(cfg.precision, device)
        self.scalers = {name: self.precision.grad_scaler() for name in self.optimizers}
        self.objectives = [compiled(u.objective, cfg.compile) for u in self.updates]
        self.draws = batches_per_step(self.updates)  # batches of cfg.batch_size one step trains on
        trained, needed = self.split.train_x.shape[0], 2 * self.draws * dist.world_size
        if trained < needed:
            raise DataError(
                f"model '{meta['model']}' draws {self.draws} batches a step, each of at least 2 images"
                f"{' per process' if dist.enabled else ''}; {trained} training images are fewer than {needed}"
            )
        self._has_after_step = type(model).after_step is not GenerativeModel.after_step
        # Each update's backward pass reaches only its own optimizer's parameters.
        self.trainable = {
            name: [p for group in opt.param_groups for p in group["params"] if p.requires_grad]
            for name, opt in self.optimizers.items()
        }
        self._callers = None  # how _step calls each optimizer's objectives; set in fit() once the weights are final
        self.progress = Progress()
        self.stop_requested = False
        self._term_names: list[str] | None = None
        self.loggers = LoggerGroup(loggers or [], lambda text: reporter.message(f"[yellow]warning:[/yellow] {text}"))
        self._said_no_grids = False
        self._loggers_started = False  # started after a resumed checkpoint is restored (they get its step)
        self.stop_signal: str | None = None  # the signal that asked to stop (SIGINT, SIGTERM, SIGUSR1)
        self.status = StatusWriter(run.path, self._where) if dist.is_main else None
        self._status_written = False
        self.checkpoints = CheckpointClock(cfg.checkpoint_interval(), run.last_checkpoint)

    # -- public ---------------------------------------------------------------
    def fit(self, resume: Checkpoint | None = None) -> TrainResult:
        """Train to ``cfg.epochs``; every way this can end is recorded in the run's status."""
        try:
            with tf32_enabled(self.device, self.cfg.tf32), self._interruptible():
                return self._fit(resume)
        except (TrainingInterrupted, DivergenceError):
            raise  # their status is written where they are raised
        except WriteError as exc:
            self._set_status_if_running("crashed", reason=str(exc))
            raise WriteError(exc.path, f"{exc.reason}; {self.checkpoints.last_good()}") from None
        except KeyboardInterrupt:
            self._set_status_if_running("stopped", reason="aborted by a second Ctrl-C")
            raise
        except Exception as exc:
            self._set_status_if_running("crashed", reason=(str(exc).strip().splitlines() or [type(exc).__name__])[0])
            raise
        finally:
            if self.status is not None:
                self.status.stop()
            if self._loggers_started:
                self.loggers.close()  # also after an interruption or a divergence

    def _fit(self, resume: Checkpoint | None) -> TrainResult:
        cfg = self.cfg
        metrics = self.run.read_metrics()
        partial: tuple[torch.Tensor, int] | None = None
        if resume is not None:
            self._restore(resume)
            metrics = metrics[: self.progress.epoch]
            sums = check_epoch_sums(resume, len(resume.meta.get("term_names") or []))
            if sums is not None:
                partial = (sums.to(self.device), int(resume.meta.get("epoch_count", 0)))
                if not self.dist.is_main:  # the saved sums are already the sum over ranks: count them once
                    partial = (torch.zeros_like(partial[0]), 0)
            self._term_names = resume.meta.get("term_names")
        # Written once the signals are handled (waiting on it is safe) and a resumed checkpoint has passed its checks.
        self._set_status("running")
        self._start_loggers(resumed=resume is not None)
        if resume is None:
            torch.manual_seed(cfg.seed)  # the same on every rank, so data-dependent init agrees
            self._data_init()
            self._save_grid("samples_start.png", "before training", epoch=0)
            if self.dist.enabled:
                torch.manual_seed(self.dist.rank_seed(cfg.seed))
        self._callers = ddp.objective_callers(self.model, self.trainable, self.dist)
        for epoch in range(self.progress.epoch, cfg.epochs):
            row = self._train_epoch(epoch, partial)
            partial = None
            metrics.append(row)
            if self.dist.is_main:
                self.run.write_metrics(metrics)
            self._end_of_epoch(epoch, metrics)
            if self.dist.any_rank(self.stop_requested, self.device):
                self._interrupt(at_epoch_end=True)
        self._set_status("finished")
        self.model.eval()
        return TrainResult(self.run, cfg.epochs, metrics, self.model)

    def _start_loggers(self, resumed: bool) -> None:
        meta = self.meta
        config = {
            "model": {"name": meta["model"], **meta["model_config"]},
            "train": meta["train_config"],
            "resumed": resumed,
            "start_step": self.progress.global_step,
        }
        self.loggers.call("start", self.run, config)
        self._loggers_started = True

    def run_epoch(self, epoch: int) -> dict[str, Any]:
        """One training epoch and its metrics row, writing nothing (for benchmarks).

        The first call does the model's data-dependent initialisation.
        """
        if self._callers is None:
            torch.manual_seed(self.cfg.seed)
            self._data_init()
            self._callers = ddp.objective_callers(self.model, self.trainable, self.dist)
        self.progress.step = 0
        with tf32_enabled(self.device, self.cfg.tf32):
            return self._train_epoch(epoch, None)

    # -- one epoch ------------------------------------------------------------
    def _train_epoch(self, epoch: int, partial: tuple[torch.Tensor, int] | None) -> dict[str, Any]:
        cfg, model = self.cfg, self.model
        x, y = self.split.train_x, self.split.train_y
        n = x.shape[0]
        steps = steps_per_epoch(n, cfg.batch_size, self.dist.world_size, self.draws)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)).to(self.device)
        # One gather per epoch (a permuted copy of the training images on the device), so
        # that each step takes a contiguous slice instead of indexing rows one batch at a time.
        x, y = x[order], None if y is None else y[order]
        sums, count = partial if partial is not None else (None, 0)
        start_step = self.progress.step
        images = 0  # global batch images trained in this call
        model.train()
        self.reporter.epoch_start(epoch + 1, cfg.epochs, steps, start_step)
        started = time.perf_counter()
        for step in range(start_step, steps):
            start, end = batch_bounds(step, steps, n, cfg.batch_size * self.draws)
            batches = StepBatches(x, y, draw_bounds(start, end, self.draws), model, self.dist)
            with backward_twice(cfg.compile and len(self.updates) > 1):
                values = self._step(batches)
            sums = values * batches.local if sums is None else sums.add_(values, alpha=batches.local)
            count += batches.local
            images += end - start
            self.progress.step = step + 1
            self.progress.global_step += 1
            self.reporter.advance(1)
            if self.on_step is not None:
                self.on_step(self)
            stop, due = self.stop_requested, self.checkpoints.due(self.progress.global_step)
            if (step + 1) % cfg.check_every == 0:
                stop, due = self._check_step(values, epoch, step, due)
            elif self.dist.enabled:
                # Ranks agree on stopping, and on a checkpoint due by the clock, only at checks, where they
                # already synchronise; one due by steps is due on every rank alike.
                stop, due = False, due and self.checkpoints.by_steps
            if stop and step + 1 < steps:
                self._interrupt(epoch_sums=sums, epoch_count=count)
            if due and step + 1 < steps:
                self._save_last(*self._epoch_so_far(sums, count))
        totals = self.dist.all_reduce_sum(torch.cat([sums, sums.new_tensor([count])]))
        means = totals[:-1] / totals[-1].clamp(min=1)
        train_terms = self._named(means)  # waits for the device, so the time below is the true time
        seconds = time.perf_counter() - started
        self._check_finite(means, epoch, steps - 1)
        val_terms = self._validate()
        self.progress.epoch, self.progress.step = epoch + 1, 0
        row = {
            "epoch": epoch + 1,
            "train": train_terms,
            "val": val_terms,
            "seconds": round(seconds, 3),
            "images_per_second": round(images / seconds, 1) if seconds > 0 else None,
        }
        self.reporter.epoch_end(row, model.monitor)
        return row

    def _step(self, batches: StepBatches) -> torch.Tensor:
        """All of one iteration's updates; returns the logged terms as one tensor.

        Each update's objective receives the carry of the update before it (its
        last repeat's) and a batch from ``batches``: a fresh one for each repeat of an
        update that asks for it, else the one drawn last. Each loss is scaled by its
        batch's weight (not the logged terms) so that DDP's average over ranks of
        unequal parts of a batch is the whole batch's mean. Each backward pass computes
        gradients of its own optimizer's parameters only, and the model's ``after_step``
        follows every optimizer step.
        """
        logged = []
        carry: Any = None
        last = len(self.updates) - 1
        batch, weight = None, 1.0
        for k, (update, objective) in enumerate(zip(self.updates, self.objectives)):
            name = update.optimizer
            opt, scaler, call = self.optimizers[name], self.scalers[name], self._callers[name]
            inputs = self.trainable[name] or None
            given = () if carry is None else (carry,)
            for _ in range(update.repeats):
                if batch is None or update.fresh_batch:
                    batch, weight = batches.next()
                opt.zero_grad(set_to_none=True)
                with self.precision.autocast():
                    loss, terms, out = call(objective, batch, *given)
                if self._term_names is None:
                    check_loss_terms([{"loss": loss}], self.meta["model"])
                if weight != 1.0:
                    loss = loss * weight
                # Under torch.compile an objective's forward and backward are one autograd
                # node, which the loss shares with a carried tensor: keep it for the next
                # update's backward pass through the carry.
                retain = self.cfg.compile and k < last and has_graph(out)
                if scaler is None:
                    loss.backward(inputs=inputs, retain_graph=retain)
                    opt.step()
                else:  # fp16: one scaler per optimizer, updated after its every step
                    scaler.scale(loss).backward(inputs=inputs, retain_graph=retain)
                    scaler.step(opt)
                    scaler.update()
                if self._has_after_step:
                    with torch.no_grad():
                        self.model.after_step(self.progress.global_step + 1, update)
            carry = out
            logged.append(terms)
        if self._term_names is None:  # the first step: check the objectives' results once
            check_loss_terms(logged, self.meta["model"])
            self._term_names = [name for t in logged for name in t]
        return torch.stack([v.detach().float() for t in logged for v in t.values()])

    def _validate(self) -> dict[str, float]:
        return validation_terms(self.model, self.split, self.cfg.seed, self.dist, self.device)

    # -- checks, checkpoints, pictures ---------------------------------------------
    def _named(self, values: torch.Tensor) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self._term_names or [], values.tolist())}

    def _check_step(self, values: torch.Tensor, epoch: int, step: int, due: bool) -> tuple[bool, bool]:
        """The periodic check: a diverged loss on any rank stops every rank; returns whether to
        stop for a signal and whether a checkpoint is due (on any rank). One small all-reduce under DDP."""
        if not self.dist.enabled:
            self._check_finite(values, epoch, step)
            self._log_step(values)
            return self.stop_requested, due
        flags = values.new_tensor([float(self.stop_requested), float(due)])
        packed = torch.cat([values.detach().float(), flags])
        packed = self.dist.all_reduce_sum(packed) / self.dist.world_size  # a NaN anywhere stays a NaN
        self._check_finite(packed[:-2], epoch, step)
        self._log_step(packed[:-2])
        return bool(packed[-2] > 0), bool(packed[-1] > 0)

    def _log_step(self, values: torch.Tensor) -> None:
        """Per-step terms for the loggers, only here: the check has just waited for the device."""
        if self.loggers:
            self.loggers.call("log_step", self.progress.global_step, self._named(values))

    def _check_finite(self, values: torch.Tensor, epoch: int, step: int) -> None:
        bad = ~torch.isfinite(values) | (values.abs() > self.cfg.divergence_threshold)
        if not bool(bad.any()):
            return
        names = self._term_names or []
        i = int(bad.nonzero()[0])
        what = f"{names[i] if i < len(names) else 'a loss term'} = {values[i].item():.4g}"
        last = self.run.last_checkpoint
        kept = (
            f"the last good checkpoint is {last} (epoch {self.progress.epoch})"
            if last.is_file()
            else "no checkpoint was written before it"
        )
        self._set_status("diverged", reason=what)
        raise DivergenceError(
            f"training diverged at epoch {epoch + 1}, step {step + 1} ({what}); {kept}. Try a lower --lr (genkit "
            "train --resume RUN --lr VALUE applies it to the restored optimizers)."
        )

    def _end_of_epoch(self, epoch: int, metrics: list[dict[str, Any]]) -> None:
        row = metrics[-1]
        scores = row["val"] or row["train"]
        value = scores.get(self.model.monitor)
        improved = value is not None and (self.progress.best is None or value < self.progress.best)
        if improved:
            self.progress.best = value
        self._save_last()
        if improved:
            self._save(self.run.best_checkpoint)
        if not self.dist.is_main:
            return
        from ..plots import save_curves

        save_curves(metrics, self.run.file("curves.png"), title=f"{self.meta['model']} on {self.meta['data']['name']}")
        self.loggers.call("log_epoch", epoch + 1, row)
        name, when = grid_file(epoch + 1, self.cfg.epochs)
        # Loggers get a grid every epoch, the run directory three; none once a stop is asked for (sampling can
        # take minutes, and a scheduler's SIGTERM leaves only seconds before its kill).
        if (name or self.loggers) and not self.stop_requested:
            self._save_grid(name, when, epoch=epoch + 1)

    def _save(self, path, extra: dict[str, torch.Tensor] | None = None, **meta) -> None:
        """Write a checkpoint from rank 0. Every rank must call it: each rank's RNG
        state is gathered into it, so a resumed DDP run continues every rank's stream."""
        extra = dict(extra or {})
        if self.dist.enabled:
            for rank, states in enumerate(self.dist.gather_objects(rng_tensors(self.device))):
                extra.update({f"state/rng/rank{rank}/{k.rsplit('/', 1)[-1]}": v for k, v in states.items()})
        if not self.dist.is_main:
            return
        meta = {
            **self.meta,
            "term_names": self._term_names,
            "grad_scalers": scaler_states(self.scalers),
            "world_size": self.dist.world_size,
            **meta,
        }
        # The unwrapped model is saved, so keys never carry DDP's "module." prefix.
        save_training_checkpoint(path, self.model, self.optimizers, self.progress, meta, extra, self.device)

    def _save_grid(self, name: str | None, when: str, epoch: int) -> None:
        """A grid of samples into ``name`` (a PNG in the run) if given, and to the loggers."""
        if not self.dist.is_main:
            return
        images = draw_grid(self.model, self.cfg, self.split, self.device, self.meta["model"])
        if images is None:
            if not self._said_no_grids:
                self._said_no_grids = True
                self.reporter.message(NO_GRIDS)
            return
        self.loggers.call("log_images", "samples", images.detach().float().cpu(), epoch)
        if name is not None:
            from ..plots import save_grid

            save_grid(images, self.run.file(name), title=f"{self.meta['model']} samples, {when}")

    def _data_init(self) -> None:
        x = self.split.train_x[: min(512, self.split.train_x.shape[0])]
        batch = self.model.prepare_batch(
            Batch(x=x, y=None if self.split.train_y is None else self.split.train_y[: x.shape[0]])
        )
        with torch.no_grad():
            self.model.on_train_start(batch)

    def _restore(self, ckpt: Checkpoint) -> None:
        self.progress = restore_training_state(
            ckpt, self.model, self.optimizers, self.scalers, self.cfg, self.device, self.dist
        )

    # -- interruption ---------------------------------------------------------------
    def _epoch_so_far(self, sums: torch.Tensor, count: int) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """What a checkpoint written mid-epoch keeps of the epoch: its sums (over all ranks) and image count."""
        if self.dist.enabled:
            packed = self.dist.all_reduce_sum(torch.cat([sums, sums.new_tensor([count])]))
            sums, count = packed[:-1], int(packed[-1])
        return {"state/epoch_sums": sums}, {"epoch_count": count}

    def _save_last(self, extra: dict[str, torch.Tensor] | None = None, meta: dict[str, Any] | None = None) -> None:
        """``last.safetensors`` (atomically: the one before stays whole until this one is), and
        where it stands, for the message should a later write fail."""
        self._save(self.run.last_checkpoint, extra, **(meta or {}))
        self.checkpoints.saved(self.progress.epoch, self.progress.step)

    def _interrupt(
        self, epoch_sums: torch.Tensor | None = None, epoch_count: int = 0, at_epoch_end: bool = False
    ) -> None:
        extra, meta = ({}, {}) if epoch_sums is None else self._epoch_so_far(epoch_sums, epoch_count)
        self._save_last(extra, {**meta, "interrupted": True})
        self._set_status("interrupted", signal=self.stop_signal)
        where = (
            f"after epoch {self.progress.epoch}"
            if at_epoch_end
            else f"in epoch {self.progress.epoch + 1} at step {self.progress.step}"
        )
        by = f" by {self.stop_signal}" if self.stop_signal and self.stop_signal != "SIGINT" else ""
        raise TrainingInterrupted(
            f"interrupted{by} {where}; state saved to {self.run.last_checkpoint}. Resume with: genkit train "
            f"{self.meta['model']} --resume {self.run.path}"
        )

    @contextmanager
    def _interruptible(self):
        """Signals ask the loop to stop at the next step boundary (:mod:`.stopping`); the progress
        display ends with the loop, however it ends."""

        def request_stop(name: str) -> None:
            self.stop_requested, self.stop_signal = True, name

        try:
            with stop_requests(lambda: self.stop_requested, request_stop, self.reporter.message):
                yield
        finally:
            self.reporter.close()

    def _where(self) -> dict[str, Any]:
        return {"epoch": self.progress.epoch, "step": self.progress.step}

    def _set_status(self, status: str, **extra) -> None:
        if self.status is not None:
            self.status.set(status, **extra)
            self._status_written = True

    def _set_status_if_running(self, status: str, **extra) -> None:
        """A failure's status, for a run this session had started (a resume refused by its checks leaves
        the run's status alone); best effort: the disk may be what failed."""
        if self._status_written:
            try:
                self._set_status(status, **extra)
            except Exception:
                pass
