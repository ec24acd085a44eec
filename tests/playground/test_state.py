"""The playground's state and messages: validation, hard caps, one-line errors, URL query."""

from __future__ import annotations

import json

import pytest

from neuralab.playground.state import (
    LEARNING_RATES,
    LIMITS,
    MAX_MESSAGE_BYTES,
    MessageError,
    PlaygroundState,
    from_query,
    parse_message,
    to_query,
    updated,
)


def test_defaults_are_playgrounds() -> None:
    s = PlaygroundState()
    assert (s.dataset, s.networkShape, s.activation, s.learningRate, s.batchSize,
            s.percTrainData, s.noise, s.features) == ("circle", [4, 2], "tanh", 0.03, 10, 50,
                                                      0, ["x", "y"])
    assert s.n_points == 500 and PlaygroundState(dataset="plane").n_points == 1200


def test_problem_and_loss_follow_the_dataset() -> None:
    # the page may send them; the server derives them
    s = PlaygroundState(dataset="plane", problem="classification", loss="cross_entropy")
    assert (s.problem, s.loss) == ("regression", "squared")
    s = PlaygroundState(dataset="spirals", loss="squared")
    assert (s.problem, s.loss) == ("classification", "cross_entropy")


@pytest.mark.parametrize(("changes", "words"), [
    ({"networkShape": [4] * 9}, "networkShape"),
    ({"networkShape": [4, 33]}, "networkShape (entry 2)=33"),
    ({"networkShape": [0]}, "networkShape (entry 1)=0"),
    ({"numPoints": 2001}, "numPoints=2001"),
    ({"batchSize": 1001}, "batchSize=1001"),
    ({"learningRate": 0.02}, "learningRate=0.02 is not on Playground's ladder"),
    ({"regularizationRate": 5}, "regularizationRate=5"),
    ({"classes": 6}, "classes=6"),
    ({"noise": 51}, "noise=51"),
    ({"features": []}, "features is empty"),
    ({"features": ["x", "x"]}, "twice"),
    ({"features": ["z"]}, "features (entry 1)='z'"),
    ({"dataset": "moons"}, "dataset='moons'"),
    ({"hide": ["everything"]}, "hide (entry 1)='everything'"),
    ({"layerActivations": ["relu"]}, "layerActivations has 1 entries for 2 hidden layers"),
    ({"seed": -1}, "seed=-1"),
    ({"datset": "xor"}, "did you mean 'dataset'"),
])
def test_caps_and_bad_values_are_one_line_naming_the_value(changes, words) -> None:
    with pytest.raises(MessageError) as info:
        updated(PlaygroundState(), changes)
    text = str(info.value)
    assert words in text and "\n" not in text


def test_learning_rate_ladder_accepts_its_rungs_only() -> None:
    for lr in LEARNING_RATES:
        assert updated(PlaygroundState(), {"learningRate": lr}).learningRate == lr
    assert LIMITS["learningRates"] == list(LEARNING_RATES)


def test_features_keep_playgrounds_order() -> None:
    assert updated(PlaygroundState(), {"features": ["sinY", "x"]}).features == ["x", "sinY"]


@pytest.mark.parametrize("state", [
    PlaygroundState(),
    PlaygroundState(dataset="spirals", classes=4, networkShape=[8, 8, 3], seed=123456,
                    learningRate=0.00001, layerActivations=["relu", "tanh", "linear"],
                    regularization="L1", regularizationRate=0.003, optimizer="momentum",
                    momentum=0.5, dropout=0.25, schedule="cosine", targetAccuracy=0.95,
                    discretize=True, showTestData=True, numPoints=300,
                    hide=["dataset", "seeds"], features=["xSquared", "sinX"]),
    PlaygroundState(dataset="multi-gauss", networkShape=[], noise=35, percTrainData=90,
                    batchSize=1000),
])
def test_url_query_round_trips_the_whole_state(state) -> None:
    query = to_query(state)
    assert f"seed={state.seed}" in query
    assert from_query(query) == state
    assert from_query("?" + query) == state  # location.search keeps its '?'


def test_query_uses_plain_lists_and_words() -> None:
    q = to_query(PlaygroundState(networkShape=[8, 2], regularization=None))
    assert "networkShape=8%2C2" in q and "regularization=none" in q and "discretize=false" in q


def test_query_errors_name_the_key() -> None:
    with pytest.raises(MessageError, match=r"unknown URL key 'learningrate'.*learningRate"):
        from_query("learningrate=0.1")
    with pytest.raises(MessageError, match="networkShape"):
        from_query("networkShape=4,x")
    with pytest.raises(MessageError, match="4,096"):
        from_query("seed=1&" + "a" * 5000)
    # a token in the query is the server's, not a state field
    assert from_query("token=abc&seed=3").seed == 3


def test_a_partial_query_keeps_the_base() -> None:
    base = PlaygroundState(dataset="xor", seed=9)
    assert from_query("noise=20", base) == updated(base, {"noise": 20})


def msg(data: dict) -> str:
    return json.dumps(data)


@pytest.mark.parametrize("text", [
    msg({"type": "step"}), msg({"type": "set", "state": {"noise": 5}}),
    msg({"type": "set", "query": "noise=5"}),
    msg({"type": "set_weight", "layer": 1, "source": 0, "target": 1, "value": 0.5}),
    msg({"type": "set_bias", "layer": 2, "neuron": 0, "value": -1}),
    msg({"type": "upload", "csv": "x1,x2,label\n1,2,0\n"}),
    msg({"type": "add_point", "x": 1, "y": -6, "label": 1}),
    msg({"type": "seeds", "n": 50}), msg({"type": "ping"}), msg({"type": "export"}),
])
def test_good_messages_parse(text) -> None:
    assert parse_message(text).type == json.loads(text)["type"]


@pytest.mark.parametrize(("text", "words"), [
    ("not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    (msg({"kind": "step"}), "type=null is not a message type"),
    (msg({"type": "stpe"}), "did you mean 'step'"),
    (msg({"type": "step", "extra": 1}), "unknown field extra"),
    (msg({"type": "set"}), "give exactly one of state"),
    (msg({"type": "seeds", "n": 201}), "n=201"),
    (msg({"type": "seeds", "n": 1}), "n=1"),
    (msg({"type": "set_weight", "layer": 1, "source": 0, "target": 0, "value": "x"}),
     "value='x'"),
    (msg({"type": "set_weight", "layer": 1, "source": 99, "target": 0, "value": 1}),
     "source=99"),
    (msg({"type": "add_point", "x": 7, "y": 0, "label": 0}), "x=7"),
    (msg({"type": "upload", "csv": "1,2,0\n" * 45_000}), "csv="),
    ("[" * 100_000, "not JSON"),
])
def test_bad_messages_are_one_line(text, words) -> None:
    with pytest.raises(MessageError) as info:
        parse_message(text)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_message_size_cap() -> None:
    big = msg({"type": "ping", "pad": "x" * MAX_MESSAGE_BYTES})
    with pytest.raises(MessageError, match="cap"):
        parse_message(big)


def test_per_layer_activations_follow_added_and_removed_layers() -> None:
    s = PlaygroundState(networkShape=[4, 2], layerActivations=["relu", "sigmoid"])
    assert updated(s, {"networkShape": [4, 2, 3]}).layerActivations == ["relu", "sigmoid",
                                                                         "tanh"]
    assert updated(s, {"networkShape": [4]}).layerActivations == ["relu"]


def test_from_link_keeps_the_good_keys_and_names_the_bad() -> None:
    from neuralab.playground.state import from_link

    state, problems = from_link("dataset=xor&learningRate=0.05&networkShape=3,3"
                                "&layerActivations=relu,tanh&noise=abc&seed=9")
    assert (state.dataset, state.networkShape, state.layerActivations, state.seed) == (
        "xor", [3, 3], ["relu", "tanh"], 9)
    assert state.learningRate == 0.03 and state.noise == 0
    assert len(problems) == 2 and "learningRate=0.05" in problems[0] and "noise" in problems[1]
    assert from_link("dataset=gauss&seed=2") == (from_query("dataset=gauss&seed=2"), [])
    with pytest.raises(MessageError, match="4,096"):
        from_link("seed=1&" + "a" * 5000)


TFP_LINK = ("activation=relu&batchSize=10&dataset=spiral&regDataset=reg-plane"
            "&learningRate=0.03&regularizationRate=0&noise=0&networkShape=8,8,5&seed=0.80758"
            "&showTestData=false&discretize=false&percTrainData=50&x=true&y=true"
            "&xTimesY=false&xSquared=true&ySquared=true&cosX=false&sinX=true&cosY=false"
            "&sinY=true&collectStats=false&problem=classification&initZero=false"
            "&hideText=false")


def test_a_tensorflow_playground_link_opens_with_its_settings() -> None:
    """A teacher's playground.tensorflow.org link (its #hash) carries the same settings
    here: its one-key-per-feature flags, its regression set names and its string seed are
    translated; what this page does not offer is named."""
    from neuralab.playground.state import from_link, from_tf_playground

    state, problems = from_link(TFP_LINK)
    assert problems == []
    assert (state.dataset, state.activation, state.networkShape, state.batchSize) == (
        "spiral", "relu", [8, 8, 5], 10)
    assert state.features == ["x", "y", "xSquared", "ySquared", "sinX", "sinY"]
    assert state.seed == 0 and state.regularization is None
    reg, problems = from_link("problem=regression&dataset=circle&regDataset=reg-gauss"
                              "&regularization=L2&regularizationRate=0.003&x=true&cosX=true"
                              "&initZero=true&networkShape=4,2")
    assert (reg.dataset, reg.problem, reg.regularization, reg.features) == (
        "multi-gauss", "regression", "L2", ["x"])
    assert len(problems) == 2 and "initZero" in problems[0] and "cosX" in problems[1]
    own = "dataset=xor&seed=3"  # this page's own query is left alone
    assert from_tf_playground(own) == (own, [])


@pytest.mark.parametrize(("query", "words"), [
    ("networkShape=64,64", "networkShape (entry 1)=64 is not allowed"),
    ("networkShape=4,0", "networkShape (entry 2)=0 is not allowed"),
    ("seed=-1", "seed=-1 is not allowed"),
    ("features=x,z", "features (entry 2)='z' is not allowed"),
])
def test_a_bad_url_value_is_named_as_the_url_names_it(query, words) -> None:
    """The red line names the URL's key (and which entry of a list), not the protocol's
    internal path (``state.networkShape.0``)."""
    with pytest.raises(MessageError) as info:
        from_query(query)
    assert str(info.value).startswith(words), str(info.value)
    assert "state." not in str(info.value)
