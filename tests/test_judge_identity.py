"""Judges are keyed by the full dataset identity: two folders, or one folder whose images
changed, never share a classifier; a judge that does not fit the data is refused."""

import pytest
from genkit_judge.store import JudgeMissing, judge_path, load_judge


def test_two_folders_have_two_judges(tmp_path, bars_folder):
    cats, faces = bars_folder(tmp_path / "cats"), bars_folder(tmp_path / "faces", n=32)
    assert judge_path(cats) != judge_path(faces)
    assert judge_path(cats) == judge_path(f"folder:{tmp_path / 'cats' / '..' / 'cats'}")  # one folder, however named
    assert judge_path("mnist").name == "mnist.safetensors"
    assert judge_path("folder:/no/such/dir") != judge_path("folder:/no/such/other")


def test_a_folder_whose_images_change_gets_another_judge(tmp_path, bars_folder):
    spec = bars_folder(tmp_path / "bars")
    before = judge_path(spec)
    (tmp_path / "bars" / "horizontal" / "1.png").write_bytes(b"changed")
    assert judge_path(spec) != before


def test_a_judge_is_checked_against_shape_and_class_count(tiny):
    from judge_helpers import install_tiny_judge

    install_tiny_judge()
    judge = load_judge("tiny", shape=(1, 28, 28), num_classes=10)
    assert judge.num_classes == 10
    with pytest.raises(JudgeMissing, match="shape"):
        load_judge("tiny", shape=(3, 28, 28))
    with pytest.raises(JudgeMissing, match="classes"):
        load_judge("tiny", num_classes=2)
