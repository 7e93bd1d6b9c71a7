"""One meaning per name: bits per dimension ("bpd") is of 8-bit images only; a binarized
model's figure is bits per binarized pixel, under that name."""

import pytest
import torch

import genkit
from genkit.capabilities import LIKELIHOOD_SPACES
from genkit.cli import main
from genkit.evaluation import EvalContext
from genkit.plugins import get_plugin_manager

MNIST = genkit.DataInfo(name="mnist", shape=(1, 28, 28), num_classes=10)
EXPECTED = {"vae": "binarized", "cvae": "binarized", "regressor": "binarized", "gammavae": "8-bit", "realnvp": "8-bit"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_likelihood_model_declares_its_data_space(name):
    pm = get_plugin_manager()
    if name not in pm.registries["models"].names():
        pytest.skip(f"model {name} not installed")
    spec = pm.model(name)
    model = spec.build_model(spec.config_class()(), MNIST)
    assert isinstance(model, genkit.LikelihoodModel)
    assert model.likelihood_space in LIKELIHOOD_SPACES and model.likelihood_space == EXPECTED[name]


def test_a_binarized_model_has_no_bpd():
    spec = get_plugin_manager().model("vae")
    model = spec.build_model(spec.config_class()(hidden=16), MNIST).eval()
    x = genkit.load_dataset("mnist").test_x[:16]
    pm = get_plugin_manager()
    reason = pm.evaluator("bpd").unsupported_reason(model)
    assert reason and "8-bit" in reason and "'nll'" in reason and "bits_per_binarized_pixel" in reason
    ctx = EvalContext(model=model, x=x, y=None, dataset="mnist", samples=2)
    nll = pm.evaluator("nll").evaluate(ctx).metrics
    elbo = pm.evaluator("elbo").evaluate(ctx).metrics
    assert "bpd" not in nll and "bits_per_binarized_pixel" in nll
    assert "neg_elbo_bpd" not in elbo and "neg_elbo_bits_per_binarized_pixel" in elbo
    assert nll["bits_per_binarized_pixel"] == pytest.approx(
        nll["nll_nats"] / (784 * torch.log(torch.tensor(2.0)).item()), rel=1e-5
    )


def test_bpd_on_a_binarized_model_is_one_line_naming_the_right_metric(tiny, quiet, capsys):
    run = genkit.train(
        "vae",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.val_size": 32, "model.hidden": 16},
        reporter=quiet,
    ).run
    with pytest.raises(SystemExit) as exit_info:
        main(["score", str(run.path), "-m", "bpd", "--limit", "8"])
    err = " ".join(capsys.readouterr().err.split())
    assert exit_info.value.code == 1 and err.startswith("error:") and "use 'nll'" in err
