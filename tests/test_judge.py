import pytest
import torch
from judge_helpers import install_tiny_judge

import genkit


class Replay(genkit.GenerativeModel):
    """A 'model' whose samples are given images (or noise): decode picks image z[0] mod N."""

    def __init__(self, images01: torch.Tensor):
        super().__init__(None, genkit.DataInfo("tiny", (1, 28, 28), 10))
        self.images = images01
        self.latent_shape = (1,)
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def decode(self, z, condition=None):
        idx = (z[:, 0].abs() * 1e4).long() % self.images.shape[0]
        return self.images[idx]


def _score(model, x, metric):
    """One registered judge metric of ``model``'s samples against test images ``x``."""
    from genkit.plugins import get_plugin_manager

    evaluator = get_plugin_manager().evaluator(metric)
    ctx = genkit.EvalContext(model=model, x=x, y=None, dataset="tiny", batch_size=256)
    return evaluator.evaluate(ctx).metrics


def test_judge_trains_and_is_stored_as_safetensors(tiny):
    install_tiny_judge()
    from genkit_judge.store import judge_info, judge_path, load_judge
    from genkit_judge.training import accuracy

    path = judge_path("tiny")
    assert path.is_file() and path.read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle
    judge = load_judge("tiny")
    data = genkit.load_dataset("tiny")
    acc = accuracy(judge, data.test_x, data.test_y)
    assert acc > 0.5  # a rough judge from 512 images, far above chance (0.1)
    assert judge_info("tiny")["test_accuracy"] == pytest.approx(acc)


def test_metrics_near_floor_on_real_images_and_far_on_noise(tiny, monkeypatch):
    install_tiny_judge()
    from genkit_judge.evaluator import JudgeEvaluator

    monkeypatch.setattr(JudgeEvaluator, "num_samples", 512)
    data = genkit.load_dataset("tiny")
    test_x = data.test_x
    real = Replay(data.train_x.float() / 255.0)
    noise = Replay(torch.rand(512, 1, 28, 28, generator=torch.Generator().manual_seed(1)))
    fd_real = _score(real, test_x, "fd")["judge_fd"]
    fd_noise = _score(noise, test_x, "fd")["judge_fd"]
    assert fd_noise > 10 * fd_real
    cov_real, cov_noise = _score(real, test_x, "coverage"), _score(noise, test_x, "coverage")
    assert cov_real["classes_seen"] == 10 and cov_real["class_kl_uniform"] < 0.1
    assert cov_noise["class_kl_uniform"] > cov_real["class_kl_uniform"]
    conf_real, conf_noise = (
        _score(real, test_x, "confidence")["judge_confidence"],
        _score(noise, test_x, "confidence")["judge_confidence"],
    )
    assert conf_real > conf_noise + 0.05
    pr = _score(real, test_x, "precision-recall")
    assert pr["judge_precision"] > 0.5 and pr["judge_recall"] > 0.5
    assert _score(noise, test_x, "precision-recall")["judge_precision"] < 0.1


def test_frechet_distance_of_known_gaussians():
    from genkit_judge.metrics import frechet_distance

    gen = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(20000, 3, generator=gen, dtype=torch.float64) * 2 + 1
    # |mu|^2 = 3; each dimension: 1 + 4 - 2 * sqrt(1 * 4) = 1
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_missing_judge_is_one_clear_line(tiny):
    from genkit_judge.store import JudgeMissing

    with pytest.raises(JudgeMissing, match="genkit judge train --dataset tiny"):
        _score(Replay(torch.rand(8, 1, 28, 28)), torch.zeros(8, 1, 28, 28, dtype=torch.uint8), "fd")


def test_judge_command_is_registered(cli):
    code, out, _ = cli("judge", "--help")
    assert code == 0 and "train" in out and "reference" in out


class LabelReplay(Replay):
    """A label-conditional 'model': decode returns a real image of the requested class,
    or, with ``obey=False``, of whatever class z picks."""

    conditioning = "label"

    def __init__(self, images01: torch.Tensor, labels: torch.Tensor, obey: bool):
        super().__init__(images01)
        self.by_class = [images01[labels == c] for c in range(10)]
        self.obey = obey

    def decode(self, z, condition=None):
        if not self.obey:
            return super().decode(z)
        pick = (z[:, 0].abs() * 1e4).long()
        return torch.stack(
            [self.by_class[c][i % len(self.by_class[c])] for c, i in zip(condition.tolist(), pick.tolist())]
        )


def test_label_accuracy_tells_a_model_that_obeys_its_label_from_one_that_does_not(tiny, monkeypatch):
    install_tiny_judge()
    from genkit_judge.evaluator import JudgeEvaluator, LabelAccuracy

    monkeypatch.setattr(JudgeEvaluator, "num_samples", 500)
    data = genkit.load_dataset("tiny")
    images = data.train_x.float() / 255.0
    obeys = _score(LabelReplay(images, data.train_y, obey=True), data.test_x, "label-accuracy")
    ignores = _score(LabelReplay(images, data.train_y, obey=False), data.test_x, "label-accuracy")
    assert obeys["label_accuracy"] > 0.5 and ignores["label_accuracy"] < 0.25
    assert "label-conditional" in LabelAccuracy().unsupported_reason(Replay(images))


def test_judge_train_on_an_unavailable_device_is_one_line(cli):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, err = cli("judge", "train", "--dataset", "mnist", "--device", "cuda")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("error:") and "CUDA is not available" in lines[0]
