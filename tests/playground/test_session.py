"""A playground session: the page's run is a neuralab config, stepped one epoch at a time.

The bar: N steps on the page give exactly the weights ``neuralab train`` gives for the
exported config (float64, max abs difference 0.0: bit for bit), and the same seed gives the same
weights.
"""

from __future__ import annotations

import base64
import io
import sys
import threading

import numpy as np
import pytest

from neuralab.experiments import parse_config
from neuralab.experiments.run import run_experiment
from neuralab.playground.session import (
    CSV_NAME,
    HEATMAP_SIZE,
    THUMB,
    Session,
    config_dict,
    parse_csv,
    run_seeds,
)
from neuralab.playground.state import MessageError, PlaygroundState

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def weights(session_or_est) -> dict[str, np.ndarray]:
    est = getattr(session_or_est, "est", session_or_est)
    return {k: np.array(v) for k, v in est.net_.state_dict().items()}


def max_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    assert a.keys() == b.keys()
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def train_export(export: dict, folder) -> object:
    """``neuralab train`` of an export, in ``folder`` (with its CSV when it has one)."""
    cfg = tomllib.loads(export["toml"])
    cfg["output"].update({"dir": str(folder / "runs"), "plots": False})
    if "csv" in export:
        path = folder / export["csv_filename"]
        path.write_text(export["csv"], encoding="utf-8")
        cfg["data"]["path"] = str(path)
    return run_experiment(parse_config(cfg), quiet=True).estimator


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8)


SETTINGS = {
    "default": {},
    "adam-dropout-l2-cosine": dict(optimizer="adam", dropout=0.2, regularization="L2",
                                   regularizationRate=0.003, schedule="cosine", noise=20,
                                   features=["x", "y", "xTimesY", "sinX"]),
    "spirals-momentum-step": dict(dataset="spirals", classes=3, optimizer="momentum",
                                  momentum=0.5, networkShape=[8, 8], schedule="step",
                                  layerActivations=["relu", "leaky_relu"], batchSize=7),
    "regression-l1": dict(dataset="plane", regularization="L1", regularizationRate=0.001,
                          networkShape=[3], activation="sigmoid", numPoints=300),
    "linear-model-blobs": dict(dataset="blobs", classes=4, networkShape=[], percTrainData=70),
    "full-batch-xor": dict(dataset="xor", batchSize=1000, learningRate=0.3,
                           features=["x", "y", "xSquared", "ySquared"]),
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_n_steps_equal_neuralab_train_of_the_export(name, tmp_path) -> None:
    session = Session(PlaygroundState(seed=11, **SETTINGS[name]))
    for _ in range(6):
        session.step()
    export = session.export()
    assert export["exact"] is True and export["note"] is None and export["epochs"] == 6
    assert export["command"] == "neuralab train playground.toml"
    est = train_export(export, tmp_path)
    assert est.net_[0].params["weight"].dtype == np.float64
    assert max_diff(weights(session), weights(est)) == 0.0  # bit for bit
    # the model file is the page's network
    from neuralab.models import load

    path = tmp_path / "model.npz"
    path.write_bytes(base64.b64decode(export["model_npz_base64"]))
    assert max_diff(weights(load(path)), weights(session)) == 0.0


def test_own_data_export_reproduces_too(tmp_path) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-5, 5, size=(120, 2))
    text = "x1,x2,label\n" + "".join(f"{a},{b},{int(a * b > 0)}\n" for a, b in X)
    session = Session(PlaygroundState(seed=2))
    session.upload(text)
    session.add_point(1.5, -2.5, 1)
    for _ in range(4):
        session.step()
    export = session.export()
    assert export["csv_filename"] == CSV_NAME and export["csv"].count("\n") == 122
    assert f'path = "{CSV_NAME}"' in export["toml"]
    assert max_diff(weights(session), weights(train_export(export, tmp_path))) == 0.0  # bit for bit


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    runs = []
    for seed in (5, 5, 6):
        s = Session(PlaygroundState(seed=seed, optimizer="adam", dropout=0.1))
        for _ in range(3):
            s.step()
        runs.append(weights(s))
    assert max_diff(runs[0], runs[1]) == 0.0
    assert max_diff(runs[0], runs[2]) > 1e-3


def test_reset_starts_again_from_the_same_weights() -> None:
    s = Session(PlaygroundState(seed=4))
    start = weights(s)
    s.step()
    s.step()
    assert s.epoch == 2 and max_diff(start, weights(s)) > 0
    s.reset()
    assert s.epoch == 0 and max_diff(start, weights(s)) == 0.0


def test_live_changes_apply_and_make_the_export_inexact() -> None:
    s = Session(PlaygroundState(seed=1, regularization="L2", regularizationRate=0.001))
    twin = Session(PlaygroundState(seed=1, regularization="L2", regularizationRate=0.001,
                                   learningRate=0.3))
    s.step()
    assert s.apply({"learningRate": 0.3}) == set()  # no reset: Playground applies it live
    s.step()
    assert s.epoch == 2 and s.frame()["lr"] == 0.3
    # the second epoch trained at 0.3 (the Trainer sets the optimizer's rate each epoch)
    twin.step()
    assert s.est._trainer.optimizer.lr == twin.est._trainer.optimizer.lr == 0.3
    control = Session(PlaygroundState(seed=1, regularization="L2", regularizationRate=0.001))
    control.step()
    control.step()
    assert max_diff(weights(s), weights(control)) > 1e-3
    s.apply({"regularizationRate": 0.01})
    assert [p.strength for p in s.est._trainer.penalties] == [0.01]
    export = s.export()
    assert export["exact"] is False
    assert "learningRate changed from 0.03 to 0.3 after epoch 1" in export["note"]
    assert "NOT EXACT" in export["toml"]


def test_edited_weight_changes_the_output_and_the_export_says_so() -> None:
    s = Session(PlaygroundState(seed=1))
    before = s.frame()["heatmap"]["values"]
    s.set_weight(3, 1, 0, 5.0)  # output layer: from hidden neuron 1 to output 0
    assert s._linears()[2].params["weight"][1, 0] == 5.0
    assert s.frame()["heatmap"]["values"] != before
    s.set_bias(1, 3, -2.0)
    assert not s.export()["exact"]
    with pytest.raises(MessageError, match="layer=4"):
        s.set_weight(4, 0, 0, 1.0)
    with pytest.raises(MessageError, match="source=4"):
        s.set_weight(2, 4, 0, 1.0)  # layer 2 has 4 inputs (0..3)


def test_changing_the_network_resets_it() -> None:
    s = Session(PlaygroundState(seed=1))
    s.step()
    assert s.apply({"networkShape": [3]}) == {"net"}
    # one output neuron, as in Playground (squared error on tanh)
    assert s.epoch == 0 and [np.shape(w) for w in s.frame()["weights"]] == [(2, 3), (3, 1)]
    assert s.apply({"loss": "cross_entropy"}) == {"net"}  # softmax: one output per class
    assert [np.shape(w) for w in s.frame()["weights"]] == [(2, 3), (3, 2)]
    s.apply({"activation": "relu", "optimizer": "adam"})
    assert [type(m).__name__ for m in s.est.net_] == ["Linear", "ReLU", "Linear"]
    assert type(s.est._trainer.optimizer).__name__ == "Adam"
    assert s.apply({"dataset": "xor"}) == {"data", "net"}
    assert s.apply({"discretize": True}) == set()


def test_frame_contents() -> None:
    s = Session(PlaygroundState(seed=0, networkShape=[4, 2],
                                features=["x", "y", "xSquared"]))
    s.step()
    f = s.frame()
    heat = decode(f["heatmap"]["values"])
    assert heat.size == HEATMAP_SIZE**2 and f["heatmap"]["extent"] == [-6, 6, -6, 6]
    assert [len(layer) for layer in f["neurons"]] == [3, 4, 2, 1]
    assert all(decode(n["values"]).size == THUMB**2 for layer in f["neurons"] for n in layer)
    assert [np.shape(w) for w in f["weights"]] == [(3, 4), (4, 2), (2, 1)]
    assert [len(b) for b in f["biases"]] == [4, 2, 1]
    assert f["epoch"] == 1 and 0 < f["train_loss"] < 5 and 0 <= f["test_acc"] <= 1
    assert np.sum(f["confusion"]) == len(s.test[1])


def test_heatmap_orientation_row_0_is_the_top() -> None:
    # Playground's gauss: +1 around (2, 2), -1 around (-2, -2)
    s = Session(PlaygroundState(dataset="gauss", seed=0, learningRate=0.1))
    for _ in range(5):
        s.step()
    heat = decode(s.frame()["heatmap"]["values"]).reshape(HEATMAP_SIZE, HEATMAP_SIZE) / 127.5 - 1
    top_right, bottom_left = heat[:20, -20:].mean(), heat[-20:, :20].mean()
    assert top_right > 0.5 and bottom_left < -0.5
    data = s.data_message()
    positives = np.array([p[:2] for p in data["train"] if p[2] == 1])
    assert positives.mean(axis=0).min() > 1  # class index 1 = Playground's +1


def test_k_class_frame_gives_class_indices_and_confidence() -> None:
    s = Session(PlaygroundState(dataset="blobs", classes=4, seed=0))
    s.step()
    f = s.frame()
    assert decode(f["heatmap"]["values"]).max() <= 3
    assert decode(f["heatmap"]["confidence"]).min() >= 255 // 4 - 1
    assert np.shape(f["confusion"]) == (4, 4) and s.data_message()["classes"] == 4


def test_three_class_spiral_reaches_90_percent() -> None:
    s = Session(PlaygroundState(dataset="spirals", classes=3, networkShape=[8, 8],
                                optimizer="adam", seed=0, targetAccuracy=0.9))
    s.playing = True
    while s.playing and s.epoch < 60:
        s.step()
    assert s.frame()["train_acc"] >= 0.9 and not s.playing
    assert s.stopped == f"target accuracy 0.9 reached at epoch {s.epoch}"


def test_regenerate_draws_new_data() -> None:
    s = Session(PlaygroundState(seed=0))
    before = s.data_message()["train"]
    s.regenerate()
    assert s.state.seed != 0 and s.data_message()["train"] != before


def test_upload_parsing() -> None:
    X, y, task = parse_csv("x1,x2,label\n1,2,-1\n3,4,1\n")
    assert task == "classification" and y.tolist() == [0, 1]
    X, y, task = parse_csv("0,12,0\n-24,0,2\n1,1,1\n")  # no header; rescaled into [-6, 6]
    assert np.abs(X).max() == 6 and X[1, 0] == -6 and y.tolist() == [0, 2, 1]
    _, y, task = parse_csv("1,2,0.5\n3,4,-3\n")
    assert task == "regression" and y.tolist() == [0.5, -1.0]
    for text, words in [("1,2\n3,4\n", "row 1 has 2 values"), ("1,2,0\n", "1 data row"),
                        ("1,a,0\n2,2,1\n", "row 1: 'a' is not a number"),
                        ("1,2,0\n3,4,0\n", "single class"), ("1,2,nan\n2,3,1\n", "finite"),
                        ("1,2,0\n" * 5001, "5,001 rows")]:
        with pytest.raises(MessageError, match=words):
            parse_csv(text)


def test_upload_and_clicked_points_become_the_data() -> None:
    s = Session(PlaygroundState(seed=0))
    n = len(s.data_message()["train"]) + len(s.data_message()["test"])
    s.add_point(0.5, 0.5, 1)
    data = s.data_message()
    assert s.state.dataset == "upload" and len(data["train"]) + len(data["test"]) == n + 1
    assert [0.5, 0.5, 1] in data["train"] + data["test"]
    with pytest.raises(MessageError, match="label=7"):
        s.add_point(0, 0, 7)
    s.upload("x1,x2,label\n" + "".join(f"{i % 5},{i % 3},{i % 3}\n" for i in range(30)))
    assert s.data_message()["classes"] == 3 and s.state.classes == 3


def test_a_bad_setting_leaves_the_session_as_it_was() -> None:
    s = Session(PlaygroundState(seed=3))
    with pytest.raises(MessageError, match="upload a CSV"):
        s.apply({"dataset": "upload"})
    assert s.state.dataset == "circle" and s.frame()["epoch"] == 0


def test_config_dict_is_a_valid_neuralab_config() -> None:
    cfg = parse_config(config_dict(PlaygroundState(dataset="spirals", classes=5,
                                                   optimizer="momentum"), 7))
    assert (cfg.data.name, cfg.data.options["arms"], cfg.train.epochs, cfg.optim.momentum,
            cfg.train.dtype) == ("spiral", 5, 7, 0.9, "float64")


def test_run_seeds_rate_interval_and_cancel() -> None:
    config = config_dict(PlaygroundState(dataset="gauss", numPoints=100, learningRate=0.1), 20)
    seen = []
    result = run_seeds(config, 12, 1.0, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(10, 12), (12, 12)]
    assert result["n"] == 12 and 0 <= result["successes"] <= 12
    assert result["low"] <= result["rate"] <= result["high"]
    assert result["target"] == "train_acc >= 1 within 20 epochs"
    cancel = threading.Event()
    cancel.set()
    assert run_seeds(config, 12, 1.0, cancel=cancel) is None


def test_csv_written_is_what_parse_reads() -> None:
    from neuralab.playground.session import csv_text

    X = np.array([[0.1, -2.0], [3.3333333333333335, 5.5]])
    text = csv_text(X, np.array([0.0, 1.0]), "classification")
    X2, y2, _ = parse_csv(text)
    assert np.array_equal(X, X2) and y2.tolist() == [0, 1]
    assert io.StringIO(text).readline() == "x1,x2,label\n"


def test_run_seeds_needs_classes() -> None:
    with pytest.raises(MessageError, match="regression set"):
        run_seeds(config_dict(PlaygroundState(dataset="plane"), 5), 3, 1.0)


def test_settings_changed_on_the_page_then_trained_still_reproduce(tmp_path) -> None:
    s = Session(PlaygroundState(seed=3))
    s.step()
    s.apply({"dataset": "xor", "networkShape": [6, 3], "activation": "relu"})
    s.apply({"optimizer": "adam", "learningRate": 0.01, "dropout": 0.1})
    for _ in range(4):
        s.step()
    export = s.export()
    assert export["exact"] and export["epochs"] == 4
    assert max_diff(weights(s), weights(train_export(export, tmp_path))) == 0.0  # bit for bit


def test_play_goes_on_past_the_target_when_pressed_again() -> None:
    s = Session(PlaygroundState(dataset="gauss", seed=0, targetAccuracy=0.9))
    s.playing = True
    while s.playing:
        s.step()
    stopped_at = s.epoch
    s.playing = True
    s.step()
    assert s.playing and s.epoch == stopped_at + 1


def test_a_diverged_run_stops_and_still_draws() -> None:
    s = Session(PlaygroundState(dataset="plane", seed=0, learningRate=10.0, batchSize=1,
                                numPoints=200, networkShape=[8, 8], activation="relu"))
    s.playing = True
    for _ in range(20):
        if not s.playing:
            break
        s.step()
    assert not s.playing and "diverged" in s.stopped
    frame = s.frame()
    assert frame["stopped"] == s.stopped and len(frame["heatmap"]["values"]) > 0
    import json

    json.dumps(frame, allow_nan=False)  # the page gets valid JSON: no NaN


def test_k_class_sets_fill_playgrounds_plane() -> None:
    for dataset in ("spirals", "blobs"):
        s = Session(PlaygroundState(dataset=dataset, classes=4, seed=0))
        X = np.vstack([s.raw["train"], s.raw["test"]])
        radius = np.hypot(X[:, 0], X[:, 1])
        if dataset == "spirals":  # arms from the centre to radius 6 (noise 0)
            assert radius.min() < 0.5 and 5.5 < radius.max() <= 6.0 + 1e-9
        else:  # blobs around centres at radius 3.5
            assert 2.5 < np.median(radius) < 4.5
        assert s.data_message()["classes"] == 4


def test_the_data_message_sends_points_with_four_decimals() -> None:
    """Rounded float32 coordinates went out as -3.008699893951416: the page only needs 4
    decimals, and the JSON was a third longer."""
    import json
    import re

    for dataset in ("spiral", "plane"):
        text = json.dumps(Session(PlaygroundState(dataset=dataset, noise=20)).data_message())
        decimals = [len(m) for m in re.findall(r"\.(\d+)", text)]
        assert decimals and max(decimals) <= 4, dataset
