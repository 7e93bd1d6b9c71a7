"""The diffusion EMA is updated after each optimizer step (the model's after_step): after N
steps it is the average of exactly those N weight states, and an interrupted run resumed
keeps it bit for bit (tests/test_ddp.py checks it under two processes)."""

from __future__ import annotations

import pytest
import torch
from ema_record import RUN, direct_ema, recorded_weights, register

import genkit
from genkit.training.trainer import TrainingInterrupted


def test_the_ema_after_n_steps_averages_those_n_states_and_resumes_bit_for_bit(bars_folder, quiet, tmp_path):
    model, run = register(), {**RUN, "train.dataset": bars_folder(tmp_path / "bars")}
    with recorded_weights() as (states, on_step):
        straight = genkit.train(model, overrides=run, reporter=quiet, out=tmp_path / "straight", on_step=on_step)
    ema = list(straight.model.ema.net.parameters())
    steps = int(straight.model.ema.updates)
    assert steps >= 3 and len(states) == 1 + steps  # the starting weights, then one state per optimizer step
    assert all(torch.equal(a, b) for a, b in zip(ema, direct_ema(states, RUN["model.ema_decay"])))
    one_step_late = direct_ema(states[:-1], RUN["model.ema_decay"])  # what an update before each step gives
    assert not all(torch.equal(a, b) for a, b in zip(ema, one_step_late))

    def stop(trainer):
        if trainer.progress.global_step == 2:  # mid-epoch
            trainer.stop_requested = True

    with pytest.raises(TrainingInterrupted):
        genkit.train(model, overrides=run, reporter=quiet, out=tmp_path / "cut", on_step=stop)
    resumed = genkit.train(resume=tmp_path / "cut", reporter=quiet)
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
