"""Acceptance: label-conditional CVAE samples are classified as the requested label.

Until a shared classifier evaluator exists, the test trains its own small MLP
classifier on the same real digits. A 2-D latent leaves the class to the label,
so a short run already uses it.
"""

from __future__ import annotations

import torch
from torch import nn

import genkit


def _classifier(x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    images = x.float() / 255.0
    for _ in range(2):
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(net(images[idx]), y[idx]).backward()
            opt.step()
    return net.eval()


def test_label_conditional_samples_are_classified_as_their_label(tiny, quiet):
    dataset = "tiny:6000"
    overrides = {
        "train.dataset": dataset,
        "train.epochs": 2,
        "train.batch_size": 64,
        "train.lr": 3e-3,
        "train.val_size": 0,
        "train.grid_samples": 10,
        "model.hidden": 256,
        "model.latent_dim": 2,
    }
    run = genkit.train("cvae", overrides=overrides, reporter=quiet).run.path
    data = genkit.load_dataset(dataset)
    classifier = _classifier(data.train_x, data.train_y)
    with torch.no_grad():
        assert (classifier(data.test_x.float() / 255.0).argmax(1) == data.test_y).float().mean() > 0.85
        lm = genkit.load(run)
        labels = torch.arange(10).repeat_interleave(50)
        z = torch.randn(len(labels), 2, generator=torch.Generator().manual_seed(0))
        predicted = classifier(lm.model.decode(z, labels)).argmax(1)
    accuracy = (predicted == labels).float().mean().item()
    print(f"label-conditional samples classified as their label: {accuracy:.1%}")  # shown by pytest -s
    assert accuracy >= 0.9, f"only {accuracy:.1%} of label-conditional samples classified as their label"
