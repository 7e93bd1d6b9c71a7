"""Data-parallel training across processes with ``torch.distributed``.

genkit joins a process group when it is started by ``torchrun`` (which sets
``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``);
otherwise everything here is a no-op for a single process. The contract:

- every rank loads the data itself (the first rank of each node first, so that
  a download happens once per machine, then the others after a barrier);
- ``cfg.batch_size`` is the *global* batch: each step's slice of the epoch's
  permutation (identical on every rank) is split into one contiguous chunk per
  rank, so N ranks take the same optimizer steps as one process would;
- randomness inside a step (noise, dropout, binarization) is seeded per rank;
- the epoch's summed loss terms are all-reduced once per epoch (and divergence
  and stop requests every ``check_every`` steps), so every rank logs the same row;
- only rank 0 writes run files; rank 0 creates the run directory and
  broadcasts its path.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from ..errors import DeviceError, GenkitError

T = TypeVar("T")

#: Added to the seed once per rank, so rank 0 keeps exactly the single-process seed.
RANK_SEED_STRIDE = 1_000_003


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in the job. ``world_size == 1`` means no process group."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def rank_seed(self, seed: int) -> int:
        """The seed of this rank's in-step randomness; rank 0's is ``seed`` itself."""
        return seed + RANK_SEED_STRIDE * self.rank

    # -- collectives (no-ops for one process) ------------------------------------
    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` over ranks in place (and return it)."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def any_rank(self, flag: bool | torch.Tensor, device: torch.device) -> bool:
        """True on every rank when ``flag`` is true on any of them (one small all-reduce)."""
        if not self.enabled:
            return bool(flag)
        t = torch.as_tensor(flag, dtype=torch.int32, device=device).reshape(1).clone()
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def broadcast_object(self, obj: T) -> T:
        """Rank 0's ``obj`` on every rank (a picklable value)."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather_objects(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def on_main(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on rank 0 and give its result, or the error it raised, to every rank.

        Used for work that must happen once (creating the run directory): a
        user error on rank 0 becomes the same error on every rank instead of a
        hang at the next collective.
        """
        result: Any = None
        error: GenkitError | None = None
        if self.is_main:
            try:
                result = fn()
            except GenkitError as exc:
                error = exc
        result, error = self.broadcast_object((result, error)) if self.enabled else (result, error)
        if error is not None:
            raise error
        return result

    @contextmanager
    def local_first(self):
        """The first rank of each node runs the block first, the others after it
        (data loading: a download, if any, happens once per machine)."""
        if self.enabled and self.local_rank != 0:
            dist.barrier()
        try:
            yield
        finally:
            if self.enabled and self.local_rank == 0:
                dist.barrier()


SINGLE = DistContext()


def is_main_process() -> bool:
    """Whether this process is rank 0 of its job, or alone (readable before the process group starts)."""
    return os.environ.get("RANK", "0") == "0"


def launched_by_torchrun() -> bool:
    """True when the environment describes a job of more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def setup(device_spec: str, resolve: Callable[[str], torch.device]) -> tuple[DistContext, torch.device]:
    """Join the job's process group if there is one, and pick this rank's device.

    Args:
        device_spec: the configured device (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``).
        resolve: how a single process resolves ``device_spec`` (``genkit.device.resolve_device``).

    With several processes, ``auto`` and ``cuda`` mean ``cuda:LOCAL_RANK`` with the
    NCCL backend; ``cpu`` (or ``auto`` without CUDA) uses gloo. MPS has no
    collective backend, and a fixed ``cuda:N`` would put every rank on one GPU;
    both are refused.
    """
    if not launched_by_torchrun():
        return SINGLE, resolve(device_spec)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    spec = (device_spec or "auto").strip().lower()
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("mps"):
        raise DeviceError("multi-process training needs cpu or cuda devices (MPS has no collective backend)")
    if spec.startswith("cuda:"):
        raise DeviceError(
            f"device '{spec}' would put every rank on one GPU; use --device cuda (rank r uses cuda:LOCAL_RANK)"
        )
    if spec == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("device 'cuda' requested but CUDA is not available on this machine")
        if local_rank >= torch.cuda.device_count():
            raise DeviceError(
                f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} on this node); lower --nproc-per-node"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)  # NCCL collectives and object broadcasts use the current device
        backend = "nccl"
    else:
        device = resolve(spec)
        backend = "gloo"
    if not dist.is_initialized():
        # The group lives until the process exits: a second genkit.train in the
        # same worker reuses it (joining a fresh one after destroying the first
        # hangs under torchrun's rendezvous store).
        dist.init_process_group(backend=backend, timeout=timedelta(minutes=30))
        atexit.register(_leave_group)
    return DistContext(rank=rank, local_rank=local_rank, world_size=world, backend=dist.get_backend()), device


def _leave_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_bounds(start: int, end: int, ctx: DistContext) -> tuple[int, int]:
    """This rank's contiguous part ``[lo, hi)`` of the global batch ``[start, end)``.

    Parts differ in size by at most one, the larger ones first (as
    ``torch.tensor_split``); a rank may get an empty part when the batch has
    fewer examples than there are ranks (the epoch's last batch).
    """
    if not ctx.enabled:
        return start, end
    base, extra = divmod(end - start, ctx.world_size)
    lo = start + ctx.rank * base + min(ctx.rank, extra)
    return lo, lo + base + (1 if ctx.rank < extra else 0)


def local_batch_size(batch_size: int, ctx: DistContext) -> int:
    """How many images of a global batch of ``batch_size`` this rank trains on."""
    lo, hi = rank_bounds(0, batch_size, ctx)
    return hi - lo


def loss_weight(local: int, total: int, ctx: DistContext) -> float:
    """Factor on a rank's batch-mean loss so that DDP's average of gradients over
    ranks equals the gradient of the mean over the whole global batch.

    DDP averages gradients with equal weight per rank; when the parts of a
    batch differ in size (the epoch's last batch), each rank's mean must count
    in proportion to its examples. It is exactly 1 when the parts are equal.
    """
    if not ctx.enabled or total == 0:
        return 1.0
    return local * ctx.world_size / total


class _ObjectiveCall(torch.nn.Module):
    """Calls the model's objectives of one optimizer through ``forward``.

    DDP only synchronises gradients of a backward pass that follows a call of
    its own ``forward``; genkit's objectives are plain methods of the model
    (``negative_elbo``, a GAN's ``generator_loss`` and ``discriminator_loss``),
    so this module routes ``objective(batch[, carry])`` through ``forward``.

    It owns exactly the parameters of one optimizer (shared with the model,
    not copied), so DDP reduces the gradients of that optimizer's step and
    expects no others; the objective, a bound method, reaches the rest of the
    model. The model's buffers are registered too, so DDP keeps them (running
    statistics) equal to rank 0's, as it would for the whole model.
    """

    def __init__(self, params: list[torch.nn.Parameter], buffers: list[torch.Tensor]):
        super().__init__()
        self.params = torch.nn.ParameterList(params)
        for i, buffer in enumerate(buffers):
            self.register_buffer(f"buffer{i}", buffer, persistent=False)

    def forward(self, objective: Callable[..., Any], batch: Any, *carry: Any):
        result = objective(batch, *carry)
        return result.loss, result.terms, result.carry


def _direct(objective, batch, *carry):
    result = objective(batch, *carry)
    return result.loss, result.terms, result.carry


def objective_callers(
    model: torch.nn.Module, params: dict[str, list[torch.nn.Parameter]], ctx: DistContext
) -> dict[str, Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor], Any]]]:
    """How the training step calls an objective of each optimizer: directly, or through DDP.

    ``params`` holds each optimizer's trainable parameters. Under DDP each
    optimizer gets its own wrapper over just those parameters: an update's
    backward pass computes gradients of its own optimizer's parameters only
    (the trainer passes them as ``backward(inputs=...)``), so every parameter a
    wrapper owns receives a gradient on every step and DDP runs without
    ``find_unused_parameters`` (no walk of the autograd graph per step), even
    for a GAN whose generator loss runs the discriminator. Create the callers
    after data-dependent initialisation: DDP copies rank 0's parameters and
    buffers to every rank when it is built.
    """
    if not ctx.enabled:
        return {name: _direct for name in params}
    from torch.nn.parallel import DistributedDataParallel

    # device_ids=None: batches are already on the device, and DDP must not try
    # to move the objective (a callable) as if it were an input tensor.
    return {
        name: DistributedDataParallel(_ObjectiveCall(ps, list(model.buffers())), device_ids=None)
        for name, ps in params.items()
    }


def restore_rank_rng(ckpt: Any, ctx: DistContext, device: torch.device, seed: int, global_step: int) -> None:
    """Put back this rank's RNG state from a checkpoint of a DDP run.

    A checkpoint holds every rank's state (``state/rng/rankR/...``); one written
    by fewer ranks than are now running has none for the new ranks, which are
    then seeded from the seed, their rank and the step reached.
    """
    prefix = f"state/rng/rank{ctx.rank}/"
    if prefix + "cpu" in ckpt.tensors:
        torch.set_rng_state(ckpt.tensors[prefix + "cpu"].to(torch.uint8).cpu())
        if device.type == "cuda" and prefix + "cuda" in ckpt.tensors:
            torch.cuda.set_rng_state(ckpt.tensors[prefix + "cuda"].to(torch.uint8).cpu(), device)
        return
    torch.manual_seed(ctx.rank_seed(seed) + global_step)
