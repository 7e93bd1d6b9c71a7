def test_train_sample_score_on_tiny(tiny, quiet, tmp_path):
    import genkit

    result = genkit.train("vae", overrides={"train.dataset": tiny, "train.epochs": 2, "train.val_size": 64}, reporter=quiet)
    assert len(result.metrics) == 2
    pic = genkit.sample(result.run.path, 9)
    assert pic.images.shape == (9, 1, 28, 28) and pic.path.is_file()
    report = genkit.score(result.run.path, ["elbo"], dataset=tiny)
    assert report.metrics()["neg_elbo_nats"] > 0
