"""Bad input never shows a traceback: ≥ 500 generated invalid configs and flag sets each
exit with code 2 and one line ``neuralab: error: ...`` naming the problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuralab.cli import main

SECTIONS = ("data", "model", "optim", "train", "output")
KEYS = {"data": ["name", "options", "path", "split", "scaling", "n_train", "features"],
        "model": ["kind", "hidden", "activation", "dropout", "init", "mode"],
        "optim": ["lr", "momentum", "optimizer", "schedule", "l1", "betas"],
        "train": ["epochs", "batch_size", "eval_every", "seed", "dtype", "target_accuracy"],
        "output": ["name", "formats", "plots"]}
BAD_VALUES = {
    ("data", "name"): ["mons", "", "mnist-2", 3], ("data", "options"): [{"nosie": 0.1}, 5],
    ("data", "split"): [{"test": 1.5}, {"val": -1}, {"tset": 0.2}],
    ("data", "scaling"): ["zscore", 1], ("data", "n_train"): [0, -5, "all"],
    ("data", "path"): ["x.npz"], ("data", "features"): [["x3"], [], "x1"],
    ("model", "kind"): ["mpl", "cnn", 7, ""], ("model", "hidden"): [[0], "20", [-3, 4], [1.5]],
    ("model", "activation"): ["rleu", ["relu", "bad"]], ("model", "dropout"): [1.0, -0.1],
    ("model", "init"): ["glorot_normal"], ("model", "mode"): ["batchy"],
    ("optim", "lr"): [0, -1.0, "fast", True, float("inf")],
    ("optim", "momentum"): [1.0, -0.5, "x"], ("optim", "optimizer"): ["adamw", "SGD"],
    ("optim", "schedule"): ["linear"], ("optim", "l1"): [-1e-3], ("optim", "betas"): [[0.9]],
    ("train", "epochs"): [0, -10, 1.5, "many"], ("train", "batch_size"): [0, -1, "half", 2.5],
    ("train", "eval_every"): [0, "x"], ("train", "seed"): [-1, "x"],
    ("train", "dtype"): ["float16", 32], ("train", "target_accuracy"): [0, 1.5],
    ("output", "name"): ["a b", "../x", ""], ("output", "formats"): [["gif"], ["svg"]],
    ("output", "plots"): ["yes"],
}


def _toml_value(v):
    import json
    import math

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)


@st.composite
def bad_config(draw):
    """(TOML text, extra argv) for a config with at least one problem."""
    kind = draw(st.sampled_from(["bad_value", "unknown_key", "unknown_section", "malformed",
                                 "wrong_type_section", "inapplicable"]))
    lines: dict[str, list[str]] = {s: [] for s in SECTIONS}
    # some valid noise around the problem
    if draw(st.booleans()):
        lines["train"].append(f"epochs = {draw(st.integers(1, 5))}")
    if draw(st.booleans()):
        lines["optim"].append(f"lr = {draw(st.floats(1e-4, 1.0))}")
    extra: list[str] = []
    if kind == "bad_value":
        (section, key), values = draw(st.sampled_from(sorted(BAD_VALUES.items(),
                                                             key=lambda kv: kv[0])))
        lines[section].append(f"{key} = {_toml_value(draw(st.sampled_from(values)))}")
    elif kind == "unknown_key":
        section = draw(st.sampled_from(SECTIONS))
        key = draw(st.sampled_from(KEYS[section]))
        typo = draw(st.sampled_from([key + "x", key[:-1], key.upper(), "x" + key]))
        lines[section].append(f"{typo} = 1")
    elif kind == "unknown_section":
        name = draw(st.sampled_from(["trian", "optimizer", "modle", "dataa", "extra"]))
        return f"[{name}]\nx = 1\n", extra
    elif kind == "malformed":
        text = draw(st.sampled_from(["[train\nepochs = 3", "epochs = = 3", "[optim]\nlr = ",
                                     "[model]\nhidden = [20,", "\x00", "[a]\n[a]\n",
                                     "[train]\nepochs = 3\nepochs = 4"]))
        return text, extra
    elif kind == "wrong_type_section":
        return draw(st.sampled_from(["train = 3\n", "model = \"mlp\"\n", "data = [1]\n"])), extra
    else:
        lines["model"].append('kind = "perceptron"')
        lines["optim"].append(draw(st.sampled_from(["momentum = 0.5", 'optimizer = "adam"',
                                                    "l2 = 0.1"])))
    text = "".join(f"[{s}]\n" + "".join(f"{line}\n" for line in body)
                   for s, body in lines.items() if body)
    return text, extra


bad_flags = st.one_of(
    st.tuples(st.just("--lr"), st.sampled_from(["abc", "-1", "0", "nan", "1e999"])),
    st.tuples(st.just("--epochs"), st.sampled_from(["x", "-3", "0", "1.5"])),
    st.tuples(st.just("--batch-size"), st.sampled_from(["half", "0", "-2", "1.5"])),
    st.tuples(st.just("--batch_size"), st.sampled_from(["x", "-1"])),
    st.tuples(st.just("--hidden"), st.sampled_from(["a,b", "20,,x", "0", "-4"])),
    st.tuples(st.just("--dnn_hidden_units"), st.sampled_from(["x", "0,0"])),
    st.tuples(st.just("--model"), st.sampled_from(["mpl", "cnn", "tree"])),
    st.tuples(st.just("--data"), st.sampled_from(["mons", "cifar", "imagenet"])),
    st.tuples(st.just("--eval_freq"), st.sampled_from(["0", "x"])),
    st.tuples(st.just("--momentum"), st.sampled_from(["1", "-0.1", "x"])),
    st.tuples(st.just("--optimizer"), st.sampled_from(["adamw", "lbfgs"])),
    st.tuples(st.just("--activation"), st.sampled_from(["rleu", "gelu"])),
    st.tuples(st.just("--dtype"), st.sampled_from(["float16", "int8"])),
    st.tuples(st.just("--seed"), st.sampled_from(["-1", "x"])),
    st.tuples(st.just("--name"), st.sampled_from(["a/b", "with space"])),
    st.tuples(st.just("--set"), st.sampled_from(["train.bach_size=3", "nokey", "x.y=1",
                                                 "optim.lr=-1", "model.kind=mpl", "=1",
                                                 "train.epochs.x=1", "output.formats=[\"gif\"]"
                                                 ])),
    st.tuples(st.just("--bogus-flag"), st.just("1")),
    st.tuples(st.just("--resume"), st.sampled_from(["no/such/run", "."])),
    st.tuples(st.just("--path"), st.just("missing.npz")),
)


def _assert_one_line_error(rc, captured):
    assert rc == 2, (rc, captured.err)
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("neuralab: error: "), lines[0]
    assert "Traceback" not in captured.err and len(lines[0]) > len("neuralab: error: ") + 5


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=bad_config())
def test_invalid_configs_exit_2_with_one_line(case, tmp_path_factory, capsys):
    text, extra = case
    folder = tmp_path_factory.mktemp("bad")
    f = folder / "bad.toml"
    f.write_text(text, encoding="utf-8")
    rc = main(["train", str(f), "--out", str(folder / "runs"), *extra])
    _assert_one_line_error(rc, capsys.readouterr())
    assert not (folder / "runs").exists() or not any((folder / "runs").iterdir())


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flags=st.lists(bad_flags, min_size=1, max_size=3),
       command=st.sampled_from(["train", "train-with-model"]))
def test_invalid_flag_sets_exit_2_with_one_line(flags, command, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("flags")
    argv = ["train", "--out", str(folder / "runs")]
    if command == "train-with-model":
        argv += ["--model", "mlp"]
    if any(f == "--path" for f, _ in flags) and not any(f == "--data" for f, _ in flags):
        argv += ["--data", "octmnist"]
    for flag, value in flags:
        argv += [flag, value]
    rc = main(argv)
    _assert_one_line_error(rc, capsys.readouterr())


@pytest.mark.parametrize(("argv", "expected"), [
    (["train", "--data", "octmnist", "--path", "missing.npz"],
     "missing.npz does not exist; download it with `neuralab data get octmnist`"),
    (["train", "--data", "mnist", "--root", "no/such/folder"],
     "no/such/folder does not exist; download it with `neuralab data get mnist`"),
    (["eval", "no/such/run"], "no/such/run is not a run folder"),
    (["report", "no/such/run"], "run folder no/such/run does not exist"),
    (["predict", "no/model.npz", "points.csv"], "model file no/model.npz does not exist"),
    (["config", "show", "missing.toml"], "config file missing.toml does not exist"),
])
def test_missing_files_are_named(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = main(argv)
    captured = capsys.readouterr()
    _assert_one_line_error(rc, captured)
    assert expected in captured.err


@pytest.mark.parametrize("argv", [
    ["train", "--lr", "abc"],
    ["train", "--set", "train.bach_size=3"],
    ["train", "--data", "octmnist", "--path", "missing.npz"],
    ["train", "--bogus"],
])
def test_real_entry_point_behaves_the_same(argv, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-m", "neuralab", *argv], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neuralab: error: "), proc.stderr
    assert not Path(tmp_path, "runs").exists()
