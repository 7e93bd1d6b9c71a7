"""What genkit itself registers through its own hooks: datasets, likelihood metrics, the prior sampler,
the TensorBoard logger.

No model is registered here: every model family comes from a plugin.
"""

from .data.datasets import BUILTIN_DATASETS
from .evaluation import NegativeELBO, NegativeLogLikelihood
from .hookspecs import hookimpl
from .loggers import LoggerSpec
from .sampling import PriorSampler


@hookimpl
def register_datasets(register):
    for spec in BUILTIN_DATASETS:
        register(spec)


@hookimpl
def register_evaluators(register):
    register(NegativeELBO())
    register(NegativeLogLikelihood("nll"))
    register(NegativeLogLikelihood("bpd"))


@hookimpl
def register_samplers(register):
    register(PriorSampler())


@hookimpl
def register_loggers(register):
    register(LoggerSpec("tensorboard", "genkit.tensorboard_logger:TensorBoardLogger", "scalars, sample grids and hparams in RUN/tensorboard/ (needs genkit[tensorboard])"))
