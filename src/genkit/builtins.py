"""What genkit itself registers through its own hooks: datasets, likelihood metrics, the prior sampler,
the TensorBoard logger.

No model is registered here: every model family comes from a plugin. Like any
plugin's, these registrations name their code lazily, so listing them imports nothing heavy.
"""

from .contract import CONTRACT_VERSION
from .hookspecs import hookimpl
from .spec import DatasetSpec, EvaluatorSpec, LoggerSpec, SamplerSpec

GENKIT_CONTRACT = CONTRACT_VERSION


@hookimpl
def register_datasets(register):
    register(
        DatasetSpec("mnist", "genkit.data.datasets:load_mnist", "MNIST handwritten digits, 28x28 grayscale, 10 classes")
    )
    register(
        DatasetSpec(
            "fashion-mnist",
            "genkit.data.datasets:load_fashion_mnist",
            "Fashion-MNIST clothing, 28x28 grayscale, 10 classes",
        )
    )
    register(
        DatasetSpec(
            "folder",
            "genkit.data.folder:load_folder",
            "images in a directory: folder:PATH[?size=N&channels=C&test=F], labels from class subfolders",
        )
    )


@hookimpl
def register_evaluators(register):
    register(
        EvaluatorSpec(
            "elbo", "genkit.evaluation:NegativeELBO", "negative evidence lower bound on the test split, in nats"
        )
    )
    register(
        EvaluatorSpec(
            "nll",
            "genkit.evaluation:nll_evaluator",
            "negative log-likelihood on the test split in nats and bits per dimension",
        )
    )
    register(
        EvaluatorSpec(
            "bpd",
            "genkit.evaluation:bpd_evaluator",
            "bits per dimension on the test split (with the negative log-likelihood)",
        )
    )


@hookimpl
def register_samplers(register):
    register(
        SamplerSpec(
            "prior", "genkit.sampling:PriorSampler", "decode latent codes drawn from the prior, scaled by --temperature"
        )
    )


@hookimpl
def register_loggers(register):
    register(
        LoggerSpec(
            "tensorboard",
            "genkit.tensorboard_logger:TensorBoardLogger",
            "scalars, sample grids and hparams in RUN/tensorboard/ (needs genkit[tensorboard])",
        )
    )
