"""The config schema: defaults, validation messages, --set, flags, TOML round trip, docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib

from neuralab.experiments.config import (
    ConfigError,
    ExperimentConfig,
    apply_set,
    build_estimator,
    load_config,
    parse_config,
    parse_value,
)

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_estimators_defaults():
    from neuralab.models import MLPClassifier

    cfg = parse_config({})
    assert cfg.data.name == "moons" and cfg.data.options == {"n": 1000, "noise": 0.2}
    assert cfg.data.split.test == 0.2
    clf = MLPClassifier()
    assert cfg.model.kind == "mlp" and cfg.model.hidden == list(clf.hidden)
    assert cfg.optim.lr == clf.lr and cfg.optim.optimizer == clf.optimizer
    assert cfg.train.epochs == clf.epochs and cfg.train.eval_every == clf.eval_every
    assert cfg.train.batch_size == clf.batch_size and cfg.train.dtype == clf.dtype


def test_model_dependent_defaults_follow_the_chosen_model():
    from neuralab.models import LinearRegression, LogisticRegression

    logistic = parse_config({"model": {"kind": "logistic"}})
    est = LogisticRegression()
    assert (logistic.optim.optimizer, logistic.optim.lr, logistic.train.batch_size,
            logistic.optim.schedule, logistic.optim.l2) == (
        est.optimizer, est.lr, est.batch_size, est.schedule, est.l2)
    linear = parse_config({"model": {"kind": "linear"}, "data": {"name": "playground-plane"}})
    assert linear.train.dtype == LinearRegression().dtype == "float64"
    given = parse_config({"model": {"kind": "logistic"}, "optim": {"lr": 0.5}})
    assert given.optim.lr == 0.5  # a value in the file wins


def test_resolved_toml_round_trips():
    cfg = parse_config({"model": {"kind": "ovr", "base": "logistic"},
                        "data": {"name": "digits", "split": {"val": 0.1}},
                        "train": {"early_stopping": {"enabled": False}, "batch_size": 16}})
    again = parse_config(tomllib.loads(cfg.to_toml()))
    assert again == cfg


@pytest.mark.parametrize(("data", "expected"), [
    ({"train": {"bach_size": 3}}, "train.bach_size"),
    ({"train": {"bach_size": 3}}, "did you mean 'batch_size'"),
    ({"model": {"kind": "mpl"}}, "did you mean 'mlp'"),
    ({"model": {"hiddn": [3]}}, "model.hiddn"),
    ({"optim": {"lr": -1.0}}, "optim.lr=-1.0"),
    ({"optim": {"lr": "fast"}}, "optim.lr='fast'"),
    ({"train": {"batch_size": 0}}, "train.batch_size=0"),
    ({"data": {"name": "mons"}}, "did you mean 'moons'"),
    ({"data": {"options": {"nosie": 0.1}}}, "did you mean 'noise'"),
    ({"model": {"kind": "perceptron"}, "optim": {"momentum": 0.9}},
     "optim.momentum=0.9 does not apply to model.kind='perceptron'"),
    ({"model": {"kind": "ovr", "options": {"mdoe": "batch"}}}, "model.options.mdoe"),
    ({"trian": {}}, "did you mean 'train'"),
    ({"model": {"activation": "rleu"}}, "did you mean 'relu'"),
    ({"data": {"split": {"test": 1.5}}}, "data.split.test"),
    ({"model": {"hidden": [20, 20], "dropout": [0.1, 0.2, 0.3]}}, "model.dropout"),
    ({"optim": {"schedule": "step", "schedule_params": {"gama": 0.5}}}, "did you mean 'gamma'"),
    ({"data": {"name": "moons", "path": "x.npz"}}, "data.path"),
])
def test_errors_name_the_key(data, expected):
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(("raw", "value"), [
    ("0.1", 0.1), ("16", 16), ("true", True), ("[20, 20]", [20, 20]), ('"full"', "full"),
    ("full", "full"), ("{n = 3}", {"n": 3}),
])
def test_set_values_are_toml_literals_else_text(raw, value):
    assert parse_value(raw) == value


def test_set_builds_nested_keys_and_rejects_bad_ones():
    data: dict = {}
    apply_set(data, "data.options.n=500")
    apply_set(data, "train.batch_size=16")
    assert data == {"data": {"options": {"n": 500}}, "train": {"batch_size": 16}}
    for bad in ("nokey", "=3", "train..x=1", "tran.epochs=3"):
        with pytest.raises(ConfigError):
            apply_set({}, bad)


def test_file_flags_and_sets_compose(tmp_path):
    f = tmp_path / "exp.toml"
    f.write_text('[model]\nkind = "mlp"\nhidden = [5]\n[optim]\nlr = 0.5\n')
    cfg = load_config(f, ["optim.lr=0.25"], {"train.epochs": 7, "model.hidden": [3, 3]})
    assert cfg.optim.lr == 0.25 and cfg.train.epochs == 7 and cfg.model.hidden == [3, 3]
    assert cfg.output.name == "exp"
    # switching the kind with a flag drops the file's options of the other kind
    cfg = load_config(f, [], {"model.kind": "perceptron"})
    assert cfg.model.kind == "perceptron"


def test_flags_build_the_same_config_as_a_file(tmp_path):
    f = tmp_path / "same.toml"
    f.write_text('[data]\nname = "moons"\n[model]\nhidden = [20, 20]\n[optim]\nlr = 0.01\n'
                 '[train]\nepochs = 1500\neval_every = 10\nbatch_size = "full"\n')
    from_file = load_config(f, [], {"output.name": "x"})
    from_flags = load_config(None, [], {"data.name": "moons", "model.kind": "mlp",
                                        "model.hidden": [20, 20], "optim.lr": 1e-2,
                                        "train.epochs": 1500, "train.eval_every": 10,
                                        "train.batch_size": "full", "output.name": "x"})
    assert from_file == from_flags


def _keys(model: type, prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            out += _keys(ann, f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def test_docs_list_every_key_with_its_default():
    from neuralab.experiments.config import MODELS

    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    keys = [k for k in _keys(ExperimentConfig) if not k.startswith("model")]
    for cls in MODELS.values():
        keys += [f"model.{k}" for k in _keys(cls)]
    missing = [k for k in dict.fromkeys(keys) if not re.search(rf"`{re.escape(k)}`", text)]
    assert not missing, f"docs/config.md lacks {missing}"


def test_every_example_parses():
    from neuralab.studies.runner import Study

    files = sorted((ROOT / "examples").rglob("*.toml"))
    assert len(files) >= 40
    for f in files:
        head = f.read_text(encoding="utf-8").splitlines()[0]
        if f.name.endswith(".study.toml"):
            assert Study.from_file(f).n_runs() >= 2
            assert head.startswith("# Study: seed 00"), f
            continue
        load_config(f)
        assert head.startswith("# Reproduces: seed 00"), f


def test_the_issue_s_example_name_is_seed_001_s_full_batch_mlp(tmp_path, monkeypatch):
    """Issue #4's commands name examples/cs324/moons-mlp-bgd.toml: another name (a link) of
    001-mlp-bgd.toml, whose runs are named after it."""
    from neuralab.cli import main

    alias = ROOT / "examples" / "cs324" / "moons-mlp-bgd.toml"
    assert alias.resolve() == (ROOT / "examples" / "cs324" / "001-mlp-bgd.toml").resolve()
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(alias), "--quick", "--no-plots", "-q",
                 "--set", "train.batch_size=16", "--set", "optim.lr=0.1"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("moons-mlp-bgd-")


def test_every_shared_key_reaches_an_estimator_parameter():
    # a renamed estimator parameter would otherwise drop the config key without a word
    from neuralab.experiments.config import SHARED, _classes

    names = {n for cls in _classes().values() for n in cls._get_param_names()}
    assert not [p for p in SHARED if p not in names]
    est = build_estimator(parse_config({"train": {"seed": 7, "epochs": 3},
                                        "optim": {"lr": 0.2, "momentum": 0.5}}))
    params = est.get_params()
    assert (params["random_state"], params["epochs"], params["lr"], params["momentum"]) == (
        7, 3, 0.2, 0.5)


def test_build_estimator_gives_one_vs_rest_or_its_base():
    from neuralab.models import LogisticRegression, MLPClassifier, OneVsRest

    cfg = parse_config({"model": {"kind": "ovr", "base": "logistic"}, "train": {"epochs": 4}})
    ovr = build_estimator(cfg)
    assert isinstance(ovr, OneVsRest) and isinstance(ovr.estimator, LogisticRegression)
    base = build_estimator(cfg, callbacks=["cb"], base=True)
    assert isinstance(base, LogisticRegression) and base.callbacks == ["cb"]
    assert base.epochs == ovr.estimator.epochs == 4
    assert isinstance(build_estimator(parse_config({}), base=True), MLPClassifier)


def test_a_cnn_layer_list_config_round_trips_and_refuses_a_named_architecture_beside_it():
    """The resolved config of a layer list (what a run folder keeps) loads again — it used to
    carry the default architecture too, which a check for both keys would then refuse — and
    a user who writes both, even the default name, is told."""
    layers = [{"type": "conv2d", "out": 4, "kernel": 3}, {"type": "relu"}, {"type": "flatten"}]
    cfg = parse_config({"data": {"name": "digits"}, "model": {"kind": "cnn", "layers": layers}})
    text = cfg.to_toml()
    assert "architecture" not in text
    again = parse_config(tomllib.loads(text))
    assert again.model.layers == cfg.model.layers and again.model.architecture is None
    named = parse_config({"data": {"name": "digits"}, "model": {"kind": "cnn"}})
    assert named.model.architecture == "auto"
    assert parse_config(tomllib.loads(named.to_toml())).model.architecture == "auto"
    with pytest.raises(ConfigError, match=r"model\.architecture='lenet5' and model\.layers"):
        parse_config({"data": {"name": "digits"},
                      "model": {"kind": "cnn", "architecture": "lenet5", "layers": layers}})


def test_one_bad_value_is_one_problem_and_the_others_are_named():
    """An activation that fits neither a name nor a list of names failed both alternatives
    of the union, and the line ended "(and 1 more problem(s))" naming nothing."""
    with pytest.raises(ConfigError) as info:
        parse_config({"model": {"kind": "mlp", "activation": "foo"}})
    assert str(info.value).startswith("model.activation='foo' is not allowed")
    assert "more problem" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_config({"model": {"kind": "mlp", "activation": "foo"}, "optim": {"lr": -1}})
    assert str(info.value).endswith(" (and 1 more problem: optim)")
