"""CNNClassifier: architectures and layer lists, image / flat inputs, errors naming the
layer, save / load / resume, configs and runs, and the accuracy bars of issue 11."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tomllib

from neuralab import data
from neuralab.models import CNNClassifier, MLPClassifier, NetEstimator
from neuralab.models.cnn import ARCHITECTURES, architecture_layers, check_layers, count_weights

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits():
    return data.split(data.load_digits(flatten=False), test=0.2, seed=0)


def small(**kw):
    return CNNClassifier(**{"architecture": "onelayer_cnn", "epochs": 2, "lr": 0.05,
                            "random_state": 0, **kw})


def test_images_and_flat_rows_train_the_same_network(digits):
    train, test = digits
    X = train.X[:200]
    assert X.shape == (200, 1, 8, 8)
    a = small().fit(X, train.y[:200])
    b = small().fit(X.reshape(200, -1), train.y[:200])
    assert a.input_shape_ == b.input_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(a.predict_proba(test.X), b.predict_proba(test.X))
    # a fitted model takes either form of new data
    np.testing.assert_array_equal(a.predict(test.X), a.predict(test.X.reshape(len(test), -1)))


def test_mnist1d_signals_are_one_channel():
    s = data.load_mnist1d(n_train=100, n_test=10, flatten=False)
    assert s.train.X.shape == (100, 1, 40)
    flat = data.load_mnist1d(n_train=100, n_test=10)
    clf = CNNClassifier("mnist1d_cnn", epochs=1, random_state=0).fit(flat.train.X, flat.train.y)
    assert clf.input_shape_ == (1, 40)
    np.testing.assert_array_equal(clf.predict(s.test.X), clf.predict(flat.test.X))


def test_lenet5_on_28x28_and_its_weights():
    rng = np.random.default_rng(0)
    X, y = rng.random((12, 1, 28, 28)), np.arange(12) % 3
    clf = CNNClassifier(epochs=1, batch_size=4, random_state=0).fit(X, y)
    n = sum(p.size for _, p, _ in clf.net_.named_parameters())
    # LeNet-5's own count for 10 classes is 61,706; with 3 classes the last layer is 84·3 + 3
    assert n == count_weights(check_layers(ARCHITECTURES["lenet5"]), (1, 28, 28), 3)
    assert n == 61_706 - (84 * 10 + 10) + (84 * 3 + 3)


@pytest.mark.parametrize("arch,match", [
    ([{"type": "conv2d", "out": 4}], r"architecture\[0\]: conv2d needs the key 'kernel'"),
    ([{"type": "conv2d", "out": 4, "kernal": 3}], r"architecture\[0\]: conv2d has no key "
                                                 r"'kernal' \(did you mean 'kernel'\?\)"),
    ([{"type": "relu"}, {"type": "maxpool2d", "kernel": 0}],
     r"architecture\[1\]\.kernel=0 is not allowed"),
    ([{"type": "conv3d"}], r"architecture\[0\]\.type='conv3d' is not allowed.*conv2d"),
    ("lenet", r"architecture='lenet' is not allowed.*did you mean 'lenet5'"),
])
def test_bad_specs_name_the_layer_and_key(arch, match, digits):
    with pytest.raises(ValueError, match=match):
        CNNClassifier(arch).fit(digits[0].X[:20], digits[0].y[:20])


def test_shapes_that_do_not_fit_name_the_layer(digits):
    X, y = digits[0].X[:20], digits[0].y[:20]
    with pytest.raises(ValueError, match=r"layers\[3\] \(conv2d\): its window spans 5 but the "
                                         r"padded input is 4 wide"):
        CNNClassifier("lenet5").fit(X, y)  # 8×8 digits are too small for LeNet-5
    with pytest.raises(ValueError, match=r"layers\[1\] \(linear\) needs flat features; it "
                                         r"gets 2×6×6"):
        CNNClassifier([{"type": "conv2d", "out": 2, "kernel": 3},
                       {"type": "linear", "out": 5}]).fit(X, y)
    with pytest.raises(ValueError, match="60 features per row, which is not a square"):
        small().fit(np.zeros((4, 60)), [0, 1, 0, 1])
    fitted = small(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"inputs of shape 1×4×16, but CNNClassifier was "
                                         r"fitted on 1×8×8"):
        fitted.predict(X.reshape(20, 1, 4, 16))
    with pytest.raises(ValueError, match="n_models=3 is not supported by CNNClassifier"):
        small(n_models=3).fit(X, y)


def test_layer_list_with_batchnorm_dropout_and_pooling(digits):
    train, test = digits
    layers = [{"type": "conv2d", "out": 4, "kernel": 3, "padding": 1},
              {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "dropout2d", "p": 0.1},
              {"type": "avgpool2d", "kernel": 2}, {"type": "flatten"},
              {"type": "linear", "out": 16}, {"type": "leaky_relu"}, {"type": "dropout", "p": 0.1}]
    clf = CNNClassifier(layers, epochs=3, lr=0.1, random_state=0).fit(train.X, train.y)
    assert clf.score(test.X, test.y) > 0.8  # 10 classes: chance is 0.1
    kinds = [type(m).__name__ for m in clf.net_.layers]
    assert kinds[:3] == ["Images", "Conv2d", "BatchNorm2d"] and kinds[-1] == "Linear"


def test_save_load_and_resume_are_exact(digits, tmp_path):
    train, test = digits
    X, y = train.X[:300], train.y[:300]
    full = small(epochs=4).fit(X, y, validation=(test.X, test.y))
    part = small(epochs=2).fit(X, y, validation=(test.X, test.y))
    part.save(tmp_path / "m.npz")
    loaded = NetEstimator.load(tmp_path / "m.npz")
    assert loaded.input_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(loaded.predict_proba(test.X), part.predict_proba(test.X))
    resumed = small(epochs=4).fit(X, y, validation=(test.X, test.y), resume=tmp_path / "m.npz")
    np.testing.assert_array_equal(resumed.history_.val_loss, full.history_.val_loss)
    np.testing.assert_array_equal(resumed.predict_proba(test.X), full.predict_proba(test.X))
    with pytest.raises(ValueError, match="checkpoint was trained on 1×8×8"):
        small(epochs=4).fit(X.reshape(300, 1, 4, 16), y, resume=tmp_path / "m.npz")


@pytest.mark.slow
def test_flooding_early_stopping_and_schedule(digits):
    train, test = digits
    clf = small(epochs=30, flooding=0.5, early_stopping=True, patience=2,
                schedule="cosine", optimizer="adam", lr=1e-3)
    clf.fit(train.X, train.y, validation=(test.X, test.y))
    assert clf.n_epochs_ < 30 and clf.best_epoch_ is not None
    # the flooded loss stops descending near b: the running training loss stays about b
    assert min(clf.history_.train_loss) > 0.3


def test_config_layers_and_errors(tmp_path):
    from neuralab.experiments import ConfigError, parse_config, prepare_experiment

    layers = [{"type": "conv2d", "out": 4, "kernel": 3}, {"type": "relu"}, {"type": "flatten"}]
    cfg = parse_config({"data": {"name": "digits"}, "model": {"kind": "cnn", "layers": layers},
                        "train": {"epochs": 1}})
    exp = prepare_experiment(cfg)
    X, y = exp.data.sets["train"]
    assert X.shape[1:] == (1, 8, 8)
    assert exp.estimator.architecture[0]["out"] == 4
    exp.estimator.fit(X, y)
    with pytest.raises(ConfigError, match=r"model\.layers\[0\]: conv2d has no key 'kernal'"):
        parse_config({"model": {"kind": "cnn", "layers": [{"type": "conv2d", "out": 4,
                                                            "kernal": 3}]}})
    with pytest.raises(ConfigError, match=r"model\.architecture on digits \(1×8×8 inputs\): "
                                          r"layers\[3\] \(conv2d\).*fit 1×8×8 inputs: "
                                          r"'onelayer_cnn'"):
        prepare_experiment(parse_config({"data": {"name": "digits"},
                                         "model": {"kind": "cnn", "architecture": "lenet5"}}))
    # the default, "auto", takes the first named architecture that reads the data
    exp = prepare_experiment(parse_config({"data": {"name": "digits"}, "model": {"kind": "cnn"},
                                           "train": {"epochs": 1}}))
    assert exp.estimator.architecture == "auto"
    assert exp.data.sets["train"][0].shape[1:] == (1, 8, 8)
    assert exp.estimator.fit(*exp.data.sets["train"]).architecture_ == "onelayer_cnn"


@pytest.mark.slow
def test_q5_cnn_example_runs_end_to_end(tmp_path, monkeypatch):
    from neuralab.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["train", str(ROOT / "examples" / "tsinghua" / "q5-cnn.toml"),
                 "--set", "train.epochs=5"])
    assert code == 0
    (run,) = (tmp_path / "runs").iterdir()
    for name in ("config.toml", "metrics.csv", "summary.json", "model.npz", "report.html"):
        assert (run / name).is_file(), name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["n_features"] == 64
    assert "val_acc" in (run / "metrics.csv").read_text().splitlines()[0]
    # the filters, one input's feature maps and the layer table reach the report
    assert {"conv_filters", "feature_maps"} <= set(summary["plots"])
    assert sum(row["parameters"] for row in summary["network"]) > 0
    report = (run / "report.html").read_text()
    assert "<h3>Network</h3>" in report and "Feature maps of one input" in report
    assert main(["report", str(run), "-o", str(tmp_path / "r.md")]) == 0
    markdown = (tmp_path / "r.md").read_text()
    assert "### Network" in markdown and "![First-layer filters](" in markdown
    # the "layers in TOML": the example spells its network out, and the run folder's
    # resolved config keeps the list (and trains again from it)
    resolved = tomllib.loads((run / "config.toml").read_text())["model"]
    assert "architecture" not in resolved
    assert architecture_layers(resolved["layers"]) == architecture_layers("onelayer_cnn")
    assert main(["train", str(run / "config.toml"), "--set", "train.epochs=1"]) == 0


@pytest.mark.slow
def test_bar_small_cnn_on_digits_reaches_98_percent(digits):
    train, test = digits
    clf = CNNClassifier("onelayer_cnn", lr=0.05, momentum=0.9, epochs=30, random_state=0)
    acc = clf.fit(train.X, train.y).score(test.X, test.y)
    assert acc >= 0.98, acc


@pytest.mark.slow
def test_bar_lenet5_example_on_digits_reaches_98_percent():
    """examples/cnn/lenet5-digits.toml, LeNet-5's layers on the 8×8 digits (offline), as a
    run prepares it: its config split, its TOML layer list and training."""
    from neuralab.experiments.config import load_config
    from neuralab.experiments.prepare import prepare_experiment

    ex = prepare_experiment(load_config(ROOT / "examples" / "cnn" / "lenet5-digits.toml"),
                            offline=True)
    clf = ex.estimator.set_params(random_state=0).fit(*ex.data.sets["train"])
    assert [type(m).__name__ for m in clf.net_][1:7] == [
        "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d"]
    acc = clf.score(*ex.data.sets["test"])
    assert acc >= 0.98, acc


@pytest.mark.slow
def test_bar_1d_cnn_on_mnist1d_reaches_90_percent_and_beats_the_mlp():
    s = data.load_mnist1d()  # regenerated offline, the default 4,000 / 1,000 split
    kw = {"optimizer": "adam", "lr": 1e-2, "batch_size": 100, "epochs": 150,
          "random_state": 0}
    cnn = CNNClassifier("mnist1d_cnn", **kw).fit(s.train.X, s.train.y)
    mlp = MLPClassifier(hidden=(100, 100), **kw).fit(s.train.X, s.train.y)
    cnn_acc, mlp_acc = cnn.score(s.test.X, s.test.y), mlp.score(s.test.X, s.test.y)
    print(f"mnist1d test accuracy: CNN {cnn_acc:.3f}, MLP {mlp_acc:.3f}")
    assert cnn_acc >= 0.90 and cnn_acc > mlp_acc + 0.1, (cnn_acc, mlp_acc)


def test_eval_of_a_colour_cnn_run_sees_the_images_as_training_did(tmp_path):
    """Colour rows are stored (H, W, C); `neuralab eval` must transpose them to channels
    first as training did, not read them as (C, H, W)."""
    from neuralab.experiments import parse_config, run_experiment
    from neuralab.experiments.evaluate import eval_run

    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 120), ("val", 30), ("test", 60)):
        labels = rng.integers(0, 3, n)
        images = rng.integers(0, 60, (n, 28, 28, 3), dtype=np.uint8)
        # the class is the bright channel's left half: only a channels-first view sees it
        images[np.arange(n), :, :14, labels] = 250
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels.reshape(-1, 1)
    np.savez(tmp_path / "bloodmnist.npz", **arrays)
    layers = [{"type": "conv2d", "out": 4, "kernel": 3, "stride": 3}, {"type": "relu"},
              {"type": "flatten"}]
    cfg = parse_config({"data": {"name": "bloodmnist", "path": str(tmp_path / "bloodmnist.npz")},
                        "model": {"kind": "cnn", "layers": layers},
                        "optim": {"lr": 0.1}, "train": {"epochs": 8, "batch_size": 16},
                        "output": {"dir": str(tmp_path / "runs"), "plots": False}})
    run = run_experiment(cfg, quiet=True)
    trained = json.loads((run.run_dir / "summary.json").read_text())["final"]["test_acc"]
    assert trained >= 0.9
    assert eval_run(run.run_dir, split="test")["accuracy"] == pytest.approx(trained, abs=1e-9)


def test_a_named_architecture_too_big_for_the_images_names_those_that_fit():
    """LeNet-5 named on scikit-learn's 8×8 digits: the error names the architecture, the
    input shape, the layer that cannot fit, and the named architectures that do fit (the
    default, "auto", takes the first of them)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    with pytest.raises(ValueError) as info:
        CNNClassifier("lenet5", epochs=1).fit(digits.images[:50, None], digits.target[:50])
    message = str(info.value)
    assert message.startswith("architecture='lenet5' does not fit inputs of 1×8×8: ")
    assert "layers[3] (conv2d)" in message
    assert message.endswith("the architectures that fit 1×8×8 inputs: 'onelayer_cnn'")


def test_images_without_the_channel_axis_are_one_channel_images(digits):
    """MNIST as it often arrives, (n, H, W): a 2-D network reads it as (n, 1, H, W) (as it
    reads flat rows as one channel) and learns what the 4-D images give; a fitted model
    predicts on either form. Before, the (n, H, W) array was read as 8 signals of length 8
    and the error suggested 'mnist1d_cnn'."""
    train, test = digits
    three_d = small().fit(train.X[:, 0], train.y)
    four_d = small().fit(train.X, train.y)
    assert three_d.input_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(three_d.predict_proba(test.X[:, 0]),
                                  four_d.predict_proba(test.X))
    np.testing.assert_array_equal(four_d.predict(test.X[:, 0]), four_d.predict(test.X))


def test_signals_given_to_a_2d_architecture_name_the_1d_one_that_fits():
    """mnist1d's (n, 1, 40) signals given to LeNet-5: the hint names the architecture that
    reads them as they are, 'mnist1d_cnn'."""
    X = np.random.default_rng(0).random((20, 1, 40))
    with pytest.raises(ValueError) as info:
        CNNClassifier("lenet5", epochs=1).fit(X, np.arange(20) % 2)
    assert str(info.value).startswith("architecture='lenet5' does not fit inputs of 1×1×40")
    assert str(info.value).endswith("the architectures that fit 1×40 inputs: 'mnist1d_cnn', "
                                    "'features_cnn'")


def test_a_pool_padding_over_half_its_kernel_names_the_layer():
    """Checked with the spec (so a run fails before its folder exists), naming the index."""
    with pytest.raises(ValueError, match=r"layers\[2\]\.padding=2 is not allowed with "
                                         r"kernel=2; a pool's padding must be at most half"):
        check_layers([{"type": "conv2d", "out": 2, "kernel": 3}, {"type": "relu"},
                      {"type": "maxpool2d", "kernel": 2, "padding": 2}])


def test_the_input_layer_shows_its_shape_in_the_summary(digits):
    train, _ = digits
    clf = small().fit(train.X[:64], train.y[:64])
    rows = __import__("neuralab").nn.summary(clf.net_, clf.input_shape_, print_table=False)
    assert rows[0].layer == "Images(1, 8, 8)" and repr(clf.net_[0]) == "Images(1, 8, 8)"


@pytest.mark.parametrize(("shape", "name", "reads"), [
    ((784,), "lenet5", (1, 28, 28)), ((28, 28), "lenet5", (1, 28, 28)),
    ((3, 12, 12), "lenet5", (3, 12, 12)), ((64,), "onelayer_cnn", (1, 8, 8)),
    ((8, 8), "onelayer_cnn", (1, 8, 8)), ((1, 40), "mnist1d_cnn", (1, 40)),
    ((40,), "mnist1d_cnn", (1, 40)), ((2,), "features_cnn", (1, 2)),
    ((1,), "features_cnn", (1, 1))])
def test_auto_takes_the_first_named_architecture_that_reads_the_data(shape, name, reads):
    """The default architecture: a CNNClassifier() fits whatever a classifier is given (as
    scikit-learn's checks give it), LeNet-5 where it fits; get_params keeps "auto"."""
    rng = np.random.default_rng(0)
    X = rng.random((12, *shape))
    clf = CNNClassifier(epochs=1, random_state=0).fit(X, np.arange(12) % 3)
    assert (clf.architecture_, clf.input_shape_) == (name, reads)
    assert clf.get_params()["architecture"] == "auto"
    assert clf.predict(X).shape == (12,)


def test_auto_resumes_loads_and_refits_as_it_was_fitted(tmp_path, digits):
    """A checkpoint or model file of an "auto" network rebuilds the architecture it trained
    (from the input shape it keeps), bit for bit; a refit on other data resolves anew."""
    from neuralab.models import load

    train, _ = digits
    X, y = train.X.reshape(len(train.X), -1), train.y  # flat 64: onelayer_cnn on 8×8
    half = CNNClassifier(epochs=1, random_state=0).fit(X, y)
    resumed = CNNClassifier(epochs=2, random_state=0).fit(X, y, resume=half.checkpoint())
    whole = CNNClassifier(epochs=2, random_state=0).fit(X, y)
    assert resumed.architecture_ == "onelayer_cnn"
    assert np.array_equal(resumed.predict_proba(X), whole.predict_proba(X))
    whole.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert loaded.architecture_ == "onelayer_cnn"
    assert np.array_equal(loaded.predict_proba(X), whole.predict_proba(X))
    whole.fit(np.random.default_rng(0).random((20, 1, 40)), np.arange(20) % 2)
    assert (whole.architecture_, whole.input_shape_) == ("mnist1d_cnn", (1, 40))
