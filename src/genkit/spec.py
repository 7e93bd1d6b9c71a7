"""What plugins register: small, torch-free descriptions of models, datasets, metrics, samplers and loggers.

A plugin's hook module must be cheap to import, because ``genkit --help`` and
``genkit plugins`` import every installed plugin. So a registration names its
heavy parts (a model class, a network, an evaluator that needs torch) as
``"module:attribute"`` strings, which genkit imports only when a command uses
them, the way entry points themselves are resolved::

    genkit.ModelSpec(name="vae", config="genkit_vae.model:VAEConfig", build="genkit_vae.model:BernoulliVAE")

The objects themselves are accepted too (``build=BernoulliVAE``); that is the
older form, and it only makes start-up slower.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import PluginError

#: A callable or class, or the "module:attribute" path of one.
Ref = str | Callable[..., Any] | type

_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def is_ref(value: Any) -> bool:
    """Whether ``value`` is a well-formed ``"module:attribute"`` string."""
    return isinstance(value, str) and bool(_REF.match(value))


def resolve(value: Any, what: str = "object") -> Any:
    """The object a ``"module:attribute"`` string names (anything else is returned as it is).

    Raises :class:`PluginError` naming the string when the import or the lookup fails.
    """
    if not isinstance(value, str):
        return value
    if not is_ref(value):
        raise PluginError(f"{what} {value!r} is not a 'module:attribute' path")
    module_name, _, attr = value.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (Exception, SystemExit) as exc:  # a broken plugin module must not take genkit down
        detail = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}".rstrip(": ")
        raise PluginError(f"cannot load {what} {value} ({detail})") from None
    return obj


@dataclass
class ModelSpec:
    """How a plugin registers a model family.

    Args:
        name: what users type (``genkit train NAME``).
        config: the pydantic model of this family's settings (``extra="forbid"``, so
            unknown keys are errors), or its ``"module:Class"`` path.
        build: ``build(config, data_info) -> GenerativeModel`` (usually the model
            class), or its ``"module:attribute"`` path.
        description: one line for ``genkit plugins``.
        train_defaults: overrides of :class:`genkit.TrainConfig` defaults (lr, batch size, ...).
        default_metrics: what ``genkit score`` computes when no ``--metric`` is given.
        accepts: ``accepts(data_info) -> reason | None`` (or its path): why this family
            cannot take a dataset's images (shape, channels, size), or None if it can.
            Checked before a run starts, so the user gets one line instead of a shape
            error from inside the network. None: every dataset is accepted.
    """

    name: str
    config: Ref
    build: Ref
    description: str = ""
    train_defaults: dict[str, Any] = field(default_factory=dict)
    default_metrics: tuple[str, ...] = ()
    accepts: Ref | None = None

    def config_class(self) -> type:
        """The pydantic config class, imported on first use."""
        cls = resolve(self.config, f"the config of model '{self.name}'")
        if not isinstance(cls, type):
            raise PluginError(f"the config of model '{self.name}' is not a class (got {type(cls).__name__})")
        return cls

    def build_model(self, config: Any, data_info: Any) -> Any:
        """Build the model (imports the model code on first use)."""
        return resolve(self.build, f"the model '{self.name}'")(config, data_info)

    def refusal(self, data_info: Any) -> str | None:
        """Why this model cannot train on ``data_info``'s images, or None."""
        if self.accepts is None:
            return None
        return resolve(self.accepts, f"the accepts() of model '{self.name}'")(data_info)


@dataclass
class DatasetSpec:
    """How a plugin registers a dataset.

    Args:
        name: what users pass to ``--dataset``; ``name:ARG`` passes ARG to ``load``.
        load: ``load(data_dir, arg) -> ImageDataset`` (or its path); ``data_dir`` is
            ``--data-dir`` or None.
        description: one line for ``genkit plugins``.
    """

    name: str
    load: Ref
    description: str = ""

    def loader(self) -> Callable[[str | None, str | None], Any]:
        return resolve(self.load, f"the loader of dataset '{self.name}'")


@dataclass
class EvaluatorSpec:
    """How a plugin registers a metric without importing it.

    Args:
        name: what users pass to ``genkit score --metric``.
        evaluator: a :class:`genkit.Evaluator` subclass (or any factory called with no
            arguments that returns an evaluator), an instance, or the path of either.
        description: one line for ``genkit plugins``.
    """

    name: str
    evaluator: Any
    description: str = ""

    def create(self) -> Any:
        made = resolve(self.evaluator, f"the metric '{self.name}'")
        return made() if isinstance(made, type) or (callable(made) and not hasattr(made, "evaluate")) else made


@dataclass
class SamplerSpec:
    """How a plugin registers a sampler without importing it.

    Args:
        name: what users pass to ``genkit sample --sampler``.
        sampler: a :class:`genkit.Sampler` subclass (or a factory called with no
            arguments), an instance, or the path of either.
        description: one line for ``genkit plugins`` and ``genkit sample --help``.
        models: the registered models it draws (``("diffusion",)``); empty: any model its
            ``unsupported_reason`` accepts. ``genkit sample --help`` and ``genkit info`` list it
            for those models only, and pairing it with another is refused in one line before
            its code is imported.
    """

    name: str
    sampler: Any
    description: str = ""
    models: tuple[str, ...] = ()

    def create(self) -> Any:
        made = resolve(self.sampler, f"the sampler '{self.name}'")
        return made() if isinstance(made, type) or (callable(made) and not hasattr(made, "sample")) else made


@dataclass
class LoggerSpec:
    """How a plugin registers a training logger (``genkit train --log NAME``).

    Args:
        name: what ``--log`` and ``train.log`` name.
        logger: a :class:`genkit.Logger` subclass or any factory called with no
            arguments, or its ``"module:Class"`` path; one logger is made per run.
        description: one line for ``genkit plugins``.
    """

    name: str
    logger: Ref
    description: str = ""

    def create(self) -> Any:
        factory = resolve(self.logger, f"the logger '{self.name}'")
        if not callable(factory):
            raise PluginError(f"the logger '{self.name}' is not a class or factory (got {type(factory).__name__})")
        made = factory()
        made.name = self.name
        return made
