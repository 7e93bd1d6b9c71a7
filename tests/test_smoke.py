def test_train_sample_score_on_tiny(tiny, quiet, tmp_path):
    import genkit

    result = genkit.train(
        "vae", overrides={"train.dataset": tiny, "train.epochs": 2, "train.val_size": 64}, reporter=quiet
    )
    assert len(result.metrics) == 2
    pic = genkit.sample(result.run.path, 9)
    assert pic.images.shape == (9, 1, 28, 28) and pic.path.is_file()
    report = genkit.score(result.run.path, ["elbo"], dataset=tiny)
    assert report.metrics()["neg_elbo_nats"] > 0


def test_every_example_config_validates():
    from pathlib import Path

    from genkit.api.training import resolve_config

    configs = sorted((Path(__file__).parents[1] / "examples" / "configs").glob("*.toml"))
    assert configs
    for path in configs:
        spec, model_cfg, train_cfg = resolve_config(config=path)
        assert spec.name and train_cfg.epochs > 0, path.name
