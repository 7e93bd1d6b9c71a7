"""genkit's Inception figures against torch-fidelity's, on the same images and the same weights.

Writes two folders of random PNGs (A: colour and grey mixed; B: colour at two sizes), runs the
installed ``genkit fid A B --kid --inception-score`` and ``torch_fidelity.calculate_metrics`` on
them (one image per batch, which B's two sizes need), and prints both with their relative
difference. Uses the real Inception weights where genkit finds them, else torch-fidelity's network
with test-made weights (tests/inception_standin.py), whose figures agree but mean nothing.

    uv run python benchmarks/fidelity_agreement.py --images 12
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def write_folder(folder: Path, specs: list[tuple[int, int]], low: int, seed: int) -> None:
    """PNGs of uniform noise, one per (channels, size) in ``specs``."""
    from torchvision.io import encode_png, write_file

    folder.mkdir(parents=True)
    g = torch.Generator().manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for i, (channels, size) in enumerate(specs):
            image = torch.randint(low, 256, (channels, size, size), generator=g, dtype=torch.uint8)
            write_file(str(folder / f"{i:03d}.png"), encode_png(image))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12, help="images per folder (at least 10, for the IS)")
    args = parser.parse_args()
    os.environ.setdefault("GENKIT_OFFLINE", "1")
    root = Path(tempfile.mkdtemp())
    n = args.images
    write_folder(root / "a", [(3, 32)] * (n - n // 3) + [(1, 32)] * (n // 3), 0, 1)
    write_folder(root / "b", [(3, 32)] * (n - n // 2) + [(3, 40)] * (n // 2), 50, 2)

    from genkit_fidelity.weights import WeightsError, resolve

    try:
        weights = resolve()
        flags, which = ["--feature-weights", str(weights.path)], "the real weights"
    except WeightsError:
        sys.path.insert(0, str(REPO / "tests"))
        from inception_standin import write_standin_weights

        path = root / "standin.pth"
        sha = write_standin_weights(path)
        weights = resolve(path, sha)
        flags, which = ["--feature-weights", str(path), "--feature-weights-sha256", sha], "test-made weights"
    genkit = [sys.executable, "-m", "genkit", "fid", str(root / "a"), str(root / "b"), "--kid", "--inception-score"]
    proc = subprocess.run([*genkit, *flags, "--json", "--device", "cpu"], capture_output=True, text=True, check=True)
    ours = json.loads(proc.stdout)["metrics"]

    import torch_fidelity

    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    theirs = torch_fidelity.calculate_metrics(
        input1=str(root / "a"),
        input2=str(root / "b"),
        fid=True,
        kid=True,
        isc=True,
        kid_subset_size=n,
        feature_extractor_weights_path=str(weights.path),
        batch_size=1,
        cuda=False,
        cache=False,
        verbose=False,
        save_cpu_ram=True,  # no worker processes
    )
    print(f"{n} vs {n} images, {which} (SHA-256 {weights.sha256[:16]}...)")
    for mine, reference in (
        ("inception_fid", "frechet_inception_distance"),
        ("inception_kid", "kernel_inception_distance_mean"),
        ("inception_kid_std", "kernel_inception_distance_std"),
        ("inception_score", "inception_score_mean"),
        ("inception_score_std", "inception_score_std"),
    ):
        a, b = ours[mine], theirs[reference]
        print(f"{mine:20s} genkit {a:.10g}  torch-fidelity {b:.10g}  relative difference {abs(a - b) / abs(b):.1e}")


if __name__ == "__main__":
    main()
