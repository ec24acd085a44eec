"""One home per hyper-parameter: the estimator signatures, the config schema, the CLI flags
and the docs all agree with ``neuralab.models.hyperparams``."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from neuralab.models import (
    CNNClassifier,
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    Perceptron,
)
from neuralab.models import hyperparams as hp

ROOT = Path(__file__).resolve().parents[2]
ESTIMATORS = {"perceptron": Perceptron, "logistic": LogisticRegression,
              "linear": LinearRegression, "mlp": MLPClassifier, "mlp_regressor": MLPRegressor,
              "cnn": CNNClassifier}


def _signature(cls: type) -> dict[str, object]:
    return {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items()
            if n != "self"}


@pytest.mark.parametrize("kind", hp.MODEL_KINDS)
def test_estimator_signature_is_the_table(kind):
    sig = _signature(ESTIMATORS[kind])
    table = vars(hp.defaults(kind))
    assert set(sig) == set(table), (set(sig) ^ set(table))
    for name, value in table.items():
        assert sig[name] == value and type(sig[name]) is type(value), name


def _config_value(cfg, path):
    node = cfg
    for part in path.split("."):
        node = getattr(node, part)
    return node


def _as_config(row, value):
    """The table's value as a config file spells it (TOML has lists and no null)."""
    if isinstance(value, tuple):
        return list(value)
    if row.name == "schedule" and value is None:
        return "none"
    if row.name == "schedule_params" and value is None:
        return {}
    return value


@pytest.mark.parametrize("kind", hp.MODEL_KINDS)
def test_config_defaults_are_the_table(kind):
    from neuralab.experiments import ExperimentConfig

    data = {"name": "moons"} if kind not in ("linear", "mlp_regressor") else \
        {"name": "playground-plane"}
    cfg = ExperimentConfig.model_validate({"data": data, "model": {"kind": kind}})
    for row in hp.rows_for(kind):
        if row.config is None:
            continue
        got = _config_value(cfg, row.config)
        want = _as_config(row, row.default_for(kind))
        assert got == want, f"{row.config} for {kind}: config {got!r}, table {want!r}"


def test_every_config_key_of_the_optim_and_train_sections_is_in_the_table():
    from neuralab.experiments import ExperimentConfig

    cfg = ExperimentConfig()
    in_table = {h.config for h in hp.HYPERPARAMS.values() if h.config}
    keys = [f"optim.{k}" for k in type(cfg.optim).model_fields]
    keys += [f"train.{k}" for k in type(cfg.train).model_fields
             if k not in ("early_stopping", "checkpoint_every")]
    keys += [f"train.early_stopping.{k}" for k in type(cfg.train.early_stopping).model_fields]
    assert sorted(set(keys) - in_table) == []


def test_cli_flags_are_the_table():
    import typer

    from neuralab.cli import _load_commands, app

    _load_commands()
    cmd = typer.main.get_command(app).commands["train"]
    options = {opt: p for p in cmd.params for opt in getattr(p, "opts", [])}
    for row in hp.HYPERPARAMS.values():
        if row.flag is None:
            continue
        assert row.flag in options, row.flag
        assert hp.flag_help(row.name) in (options[row.flag].help or ""), row.flag


def test_docs_table_is_generated_from_the_table():
    text = (ROOT / "docs" / "hyperparameters.md").read_text()
    assert text == hp.markdown_table(), \
        "run: python -m neuralab.models > docs/hyperparameters.md"


@pytest.mark.parametrize("name,value", [("lr", 0.0), ("lr", -1.0), ("lr", float("nan")),
                                        ("momentum", 1.0), ("epochs", 0), ("epochs", 2.5),
                                        ("batch_size", 0), ("batch_size", "half"),
                                        ("optimizer", "sgdd"), ("shuffle", "yes")])
def test_check_names_value_and_what_is_allowed(name, value):
    with pytest.raises(ValueError) as info:
        hp.check(name, value)
    message = str(info.value)
    assert message.startswith(f"{name}={value!r} is not allowed")


@pytest.mark.parametrize("name,value,want", [("lr", 1, 1.0), ("epochs", np.int64(3), 3),
                                             ("batch_size", "full", "full"),
                                             ("schedule", None, None),
                                             ("optimizer", "adam", "adam")])
def test_check_accepts_and_normalises(name, value, want):
    got = hp.check(name, value)
    assert got == want and type(got) is type(want)


def test_rows_with_one_name_and_two_meanings_are_told_apart_by_model():
    assert hp.default("init", "mlp") == "auto"
    assert hp.default("init", "perceptron") == "zeros"
    with pytest.raises(ValueError, match="init='auto' is not allowed"):
        hp.check("init", "auto", "perceptron")
