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
    ("model", "kind"): ["mpl", 7, ""], ("model", "hidden"): [[0], "20", [-3, 4], [1.5]],
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
    st.tuples(st.just("--model"), st.sampled_from(["mpl", "rnn", "tree"])),
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
     "no/such/folder does not exist; download it with `neuralab data get mnist --root "
     "no/such/folder`"),
    (["eval", "no/such/run"], "run folder no/such/run does not exist"),
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


# -- --set values of every type and depth ------------------------------------------------------
def _schema_keys() -> list[str]:
    """Every key path of the config schema (every model kind's keys), plus open tables' keys."""
    from pydantic import BaseModel

    from neuralab.experiments.config import MODELS, ExperimentConfig

    def walk(model: type, prefix: str) -> list[str]:
        keys = []
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                keys += walk(ann, f"{prefix}{name}.")
            else:
                keys.append(f"{prefix}{name}")
        return keys

    keys = [k for k in walk(ExperimentConfig, "") if not k.startswith("model")]
    keys += sorted({k for m in MODELS.values() for k in walk(m, "model.")})
    return [*keys, "data.options.n", "data.options.noise", "optim.schedule_params.step_size",
            "optim.schedule_params.T_max", "optim.schedule_params.gamma",
            "model.options.hidden", "train.bogus", "model.kind.x"]


SET_KEYS = _schema_keys()


def _literal(value) -> str:
    """``value`` as a TOML inline literal."""
    import datetime
    import json
    import math

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, (int, datetime.date)):
        return str(value) if isinstance(value, int) else value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_literal(v)}"
                               for k, v in value.items()) + "}"
    return "[" + ", ".join(_literal(v) for v in value) + "]"


scalars = st.one_of(
    st.integers(), st.integers(min_value=-10**40, max_value=10**40), st.sampled_from(
        [0, -1, 1, 2**63, 10**30]), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.text(max_size=20), st.sampled_from(["relu", "full", "sgd", "moons",
                                                          "cosine", "ßü→🙂", "\x07", ""]),
    st.dates())
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=8), inner,
                                                 max_size=3)), max_leaves=12)


@st.composite
def set_assignment(draw):
    """``KEY=TEXT`` for ``--set``: a schema key (or a near one) and a value of any type,
    nested to any depth (up to 20,000 brackets), or text that is not TOML at all."""
    key = draw(st.sampled_from(SET_KEYS))
    kind = draw(st.sampled_from(["value", "value", "value", "deep", "raw"]))
    if kind == "raw":
        text = draw(st.text(max_size=30).filter(lambda t: "\n" not in t and "\r" not in t))
    elif kind == "deep":
        depth = draw(st.sampled_from([1, 3, 31, 33, 100, 900, 20_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a = ", "}")]))
        text = opener * depth + _literal(draw(scalars)) + closer * depth
    else:
        text = _literal(draw(values))
    return f"{key}={text}"


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(assignments=st.lists(set_assignment(), min_size=1, max_size=3))
def test_set_values_of_every_type_and_depth(assignments, capsys):
    """config show: each ``--set`` either gives a config that reads back equal, or one line
    and exit code 2 — never a traceback, whatever the value's type or depth."""
    from neuralab.experiments.config import parse_config, tomllib  # tomli on Python 3.10

    argv = ["config", "show"]
    for a in assignments:
        argv += ["--set", a]
    rc = main(argv)
    captured = capsys.readouterr()
    if rc == 0:
        shown = tomllib.loads(captured.out)
        assert parse_config(shown).to_toml() == captured.out
    else:
        _assert_one_line_error(rc, captured)


SIZES = {  # sizing keys: values tiny enough to train at once, or far too large for memory
    "data.options.n": st.one_of(st.integers(50, 400), st.integers(10**13, 10**40)),
    "model.hidden": st.one_of(st.lists(st.integers(1, 16), max_size=2),
                              st.lists(st.integers(10**10, 10**30), min_size=1, max_size=2)),
    "train.batch_size": st.one_of(st.integers(-2, 10**30), st.just("full")),
    "train.epochs": st.integers(-1, 10**30),
    "train.eval_every": st.integers(-1, 10**30),
    "data.n_train": st.integers(-1, 10**30),
}


@pytest.mark.slow
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=st.dictionaries(st.sampled_from(sorted(SIZES)), st.none(), min_size=1,
                              max_size=3), data=st.data())
def test_train_with_any_sizes_is_a_run_or_one_line(chosen, data, tmp_path_factory, capsys):
    """train --quick with huge or odd sizes: a finished run (exit 0) or one line (exit 2)
    with no run folder left behind; the memory check refuses what cannot fit."""
    folder = tmp_path_factory.mktemp("sizes")
    argv = ["train", "--quick", "--no-plots", "--quiet", "--out", str(folder / "runs")]
    for key in chosen:
        argv += ["--set", f"{key}={_literal(data.draw(SIZES[key], label=key))}"]
    rc = main(argv)
    captured = capsys.readouterr()
    if rc != 0:
        _assert_one_line_error(rc, captured)
        assert not (folder / "runs").exists() or not any((folder / "runs").iterdir())
