"""The playground's state and messages: pydantic models with hard caps, and the URL query.

The state is everything a page shows and a run depends on (TensorFlow Playground's names
where it has one, so its links read the same). Every message from the page is validated
here, with caps that hold whatever the page or a hand-made URL asks for (Playground's own
URLs could ask for any network size: its issue 63). A bad message becomes ONE line naming
the bad value and what is allowed (:func:`message_error`).

>>> s = PlaygroundState(dataset="xor", networkShape=[8, 8], seed=7)
>>> from_query(to_query(s)) == s
True
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from neuralab._checks import suggest

# == the caps (server side: the page's sliders are narrower) ================================
MAX_LAYERS = 8
MAX_NEURONS = 32
MAX_POINTS = 2000
MIN_POINTS = 10
MAX_UPLOAD_BYTES = 256 * 1024
MAX_UPLOAD_ROWS = 5000
MAX_BATCH = 1000
MIN_SEEDS, MAX_SEEDS = 2, 200
MAX_CLASSES = 5
MAX_SEED = 2**31 - 1
# an upload (256 KB) plus its JSON escaping and the envelope
MAX_MESSAGE_BYTES = 320 * 1024
DOMAIN = 6.0  # Playground's plane: [-6, 6] in x and y

LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REGULARIZATION_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
PLAYGROUND_SETS = ("circle", "xor", "gauss", "spiral", "plane", "multi-gauss")
REGRESSION_SETS = ("plane", "multi-gauss")
DATASETS = (*PLAYGROUND_SETS, "spirals", "blobs", "upload")
FEATURES = ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "leaky_relu")
HIDEABLE = ("dataset", "features", "network", "learningRate", "activation", "regularization",
            "optimizer", "export", "seeds", "noise", "percTrainData", "batchSize", "dropout",
            "schedule", "loss", "targetAccuracy", "upload", "curves", "confusion", "weights",
            "discretize", "showTestData", "playButton", "stepButton", "resetButton")
# Playground's sample counts (NUM_SAMPLES_CLASSIFY, NUM_SAMPLES_REGRESS)
DEFAULT_POINTS = {"classification": 500, "regression": 1200}

LIMITS: dict[str, Any] = {
    "maxLayers": MAX_LAYERS, "maxNeurons": MAX_NEURONS, "maxPoints": MAX_POINTS,
    "minPoints": MIN_POINTS, "maxUploadBytes": MAX_UPLOAD_BYTES,
    "maxUploadRows": MAX_UPLOAD_ROWS, "maxBatchSize": MAX_BATCH, "minSeeds": MIN_SEEDS,
    "maxSeeds": MAX_SEEDS, "maxClasses": MAX_CLASSES, "maxMessageBytes": MAX_MESSAGE_BYTES,
    "learningRates": list(LEARNING_RATES), "regularizationRates": list(REGULARIZATION_RATES),
    "datasets": list(DATASETS), "features": list(FEATURES), "activations": list(ACTIVATIONS),
    "hideable": list(HIDEABLE), "domain": DOMAIN,
}


def _on_ladder(name: str, value: float, ladder: tuple[float, ...]) -> float:
    for rung in ladder:
        if math.isclose(value, rung, rel_tol=1e-9, abs_tol=0.0) or value == rung:
            return rung
    raise ValueError(f"{name}={value!r} is not on Playground's ladder; choose one of "
                     f"{', '.join(f'{r:g}' for r in ladder)}")


def derived_loss(problem: str, classes: int, asked: str) -> str:
    """The loss a setting trains: squared error for regression, cross-entropy for more than
    two classes, else what was asked (Playground's squared error by default)."""
    if problem == "regression":
        return "squared"
    return "cross_entropy" if classes > 2 else asked


class PlaygroundState(BaseModel):
    """Everything a playground page shows and its run depends on."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    dataset: Literal[DATASETS] = "circle"  # type: ignore[valid-type]
    problem: Literal["classification", "regression"] = "classification"  # derived
    classes: Annotated[int, Field(ge=2, le=MAX_CLASSES)] = 3  # spirals / blobs
    noise: Annotated[int, Field(ge=0, le=50)] = 0
    percTrainData: Annotated[int, Field(ge=10, le=90)] = 50
    batchSize: Annotated[int, Field(ge=1, le=MAX_BATCH)] = 10
    learningRate: float = 0.03
    activation: Literal[ACTIVATIONS] = "tanh"  # type: ignore[valid-type]
    layerActivations: list[Literal[ACTIVATIONS]] | None = None  # type: ignore[valid-type]
    regularization: Literal["L1", "L2"] | None = None
    regularizationRate: float = 0.0
    features: list[Literal[FEATURES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["x", "y"])
    networkShape: list[Annotated[int, Field(ge=1, le=MAX_NEURONS)]] = Field(
        default_factory=lambda: [4, 2], max_length=MAX_LAYERS)
    optimizer: Literal["sgd", "momentum", "adam"] = "sgd"
    momentum: Annotated[float, Field(ge=0.0, le=0.99)] = 0.9
    dropout: Annotated[float, Field(ge=0.0, le=0.9)] = 0.0
    # Playground's squared error on a tanh output; cross-entropy (softmax) on choice, and
    # always for more than two classes; regression: mean squared error
    loss: Literal["squared", "cross_entropy"] = "squared"
    schedule: Literal["constant", "step", "cosine"] = "constant"
    targetAccuracy: Annotated[float, Field(ge=0.5, le=1.0)] | None = None
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    discretize: bool = False
    showTestData: bool = False
    numPoints: Annotated[int, Field(ge=MIN_POINTS, le=MAX_POINTS)] | None = None
    hide: list[Literal[HIDEABLE]] = Field(default_factory=list)  # type: ignore[valid-type]

    @field_validator("learningRate")
    @classmethod
    def _lr(cls, v: float) -> float:
        return _on_ladder("learningRate", v, LEARNING_RATES)

    @field_validator("regularizationRate")
    @classmethod
    def _reg_rate(cls, v: float) -> float:
        return _on_ladder("regularizationRate", v, REGULARIZATION_RATES)

    @field_validator("features", "hide")
    @classmethod
    def _unique(cls, v: list[str], info: Any) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"{info.field_name} lists a name twice: {v}")
        if info.field_name == "features" and not v:
            raise ValueError(f"features is empty; choose at least one of {', '.join(FEATURES)}")
        # keep Playground's order, whatever order the page sent
        order = FEATURES if info.field_name == "features" else HIDEABLE
        return sorted(v, key=order.index)

    @model_validator(mode="after")
    def _derived(self) -> PlaygroundState:
        # the problem follows the data set; so does the loss, except for two classes, where
        # it is a choice (Playground's squared error, or cross-entropy)
        self.problem = "regression" if self.dataset in REGRESSION_SETS else "classification"
        self.loss = derived_loss(self.problem, self.n_classes, self.loss)
        if self.layerActivations is not None and len(self.layerActivations) != len(
                self.networkShape):
            raise ValueError(f"layerActivations has {len(self.layerActivations)} entries for "
                             f"{len(self.networkShape)} hidden layers (networkShape="
                             f"{self.networkShape}); give one per layer or none")
        return self

    # -- derived values ----------------------------------------------------------------
    @property
    def n_points(self) -> int:
        """The number of points drawn: numPoints, or Playground's default for the problem."""
        return self.numPoints if self.numPoints is not None else DEFAULT_POINTS[self.problem]

    @property
    def n_classes(self) -> int:
        """Classes of the generated set (1 for regression; an upload knows its own)."""
        if self.problem == "regression":
            return 1
        return self.classes if self.dataset in ("spirals", "blobs", "upload") else 2

    @property
    def activations(self) -> list[str]:
        """One activation per hidden layer."""
        return list(self.layerActivations or [self.activation] * len(self.networkShape))


# Fields whose change rebuilds the network (Playground resets on every change but these two)
LIVE_FIELDS = ("learningRate", "regularizationRate")
# Fields that only change what the page shows
VIEW_FIELDS = ("discretize", "showTestData", "hide", "targetAccuracy")
# Fields that change the data (and so the network too)
DATA_FIELDS = ("dataset", "classes", "noise", "percTrainData", "numPoints", "seed")


# == messages from the page ===================================================================
class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetMsg(_Msg):
    type: Literal["set"]
    state: dict[str, Any] | None = None
    query: Annotated[str, Field(max_length=4096)] | None = None

    @model_validator(mode="after")
    def _one(self) -> SetMsg:
        if (self.state is None) == (self.query is None):
            raise ValueError("give exactly one of state (an object of fields) or query (a URL "
                             "query string)")
        return self


class SimpleMsg(_Msg):
    type: Literal["play", "pause", "step", "reset", "regenerate", "export", "ping",
                  "cancel_seeds"]


Finite = Annotated[float, Field(allow_inf_nan=False)]


class SetWeightMsg(_Msg):
    type: Literal["set_weight"]
    layer: Annotated[int, Field(ge=1, le=MAX_LAYERS + 1)]
    source: Annotated[int, Field(ge=0, lt=MAX_NEURONS)]
    target: Annotated[int, Field(ge=0, lt=MAX_NEURONS)]
    value: Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False)]


class SetBiasMsg(_Msg):
    type: Literal["set_bias"]
    layer: Annotated[int, Field(ge=1, le=MAX_LAYERS + 1)]
    neuron: Annotated[int, Field(ge=0, lt=MAX_NEURONS)]
    value: Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False)]


class UploadMsg(_Msg):
    type: Literal["upload"]
    csv: Annotated[str, Field(max_length=MAX_UPLOAD_BYTES)]


class AddPointMsg(_Msg):
    type: Literal["add_point"]
    x: Annotated[float, Field(ge=-DOMAIN, le=DOMAIN, allow_inf_nan=False)]
    y: Annotated[float, Field(ge=-DOMAIN, le=DOMAIN, allow_inf_nan=False)]
    label: Annotated[float, Field(ge=-1, le=MAX_CLASSES - 1, allow_inf_nan=False)]


class SeedsMsg(_Msg):
    type: Literal["seeds"]
    n: Annotated[int, Field(ge=MIN_SEEDS, le=MAX_SEEDS)] = 50


Message = Annotated[SetMsg | SimpleMsg | SetWeightMsg | SetBiasMsg | UploadMsg | AddPointMsg
                    | SeedsMsg, Field(discriminator="type")]
_MESSAGE = TypeAdapter(Message)
MESSAGE_TYPES = ("set", "play", "pause", "step", "reset", "regenerate", "export", "ping",
                 "cancel_seeds", "set_weight", "set_bias", "upload", "add_point", "seeds")


class MessageError(ValueError):
    """A message the server refuses, worded as one line for the page."""


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def message_error(exc: ValidationError, prefix: str = "") -> str:
    """The first problem of ``exc`` as one line: the field path, the value and what is
    allowed."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    loc = [str(p) for p in err["loc"] if not (isinstance(p, str) and (
        (p in MESSAGE_TYPES and p == err["loc"][0]) or p.startswith(("function-", "literal["))))]
    if prefix == "state" and loc:
        # a state field is named as the page and its URL name it: networkShape, not
        # state.networkShape.0 (a list's entry is counted from 1: layer 1 is the first)
        path = loc[0] + "".join(f" (entry {int(p) + 1})" if p.isdigit() else f".{p}"
                                for p in loc[1:])
    else:
        path = ".".join([prefix, *loc] if prefix else loc) or "message"
    msg = str(err["msg"])
    for lead in ("Value error, ", "Assertion failed, "):
        if msg.startswith(lead):
            msg = msg[len(lead):]
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = PlaygroundState.model_fields if prefix == "state" else {}
        return (f"unknown field {path}{suggest(str(loc[-1]), list(owner))}"
                + (f"; the fields are {', '.join(owner)}" if owner else ""))
    if kind == "missing":
        return f"{path} is required"
    if kind == "value_error":
        return msg
    value = err.get("input")
    return f"{path}={_short(value)} is not allowed: {msg[0].lower() + msg[1:]}"


def parse_message(text: str | bytes) -> BaseModel:
    """A page message from its JSON text; :class:`MessageError` (one line) when it is bad."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_MESSAGE_BYTES:
        raise MessageError(f"message of {size:,} bytes is over the {MAX_MESSAGE_BYTES:,}-byte "
                           "cap")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise MessageError("message is not JSON; send an object such as "
                           '{"type": "step"}') from None
    if not isinstance(data, dict):
        raise MessageError(f"message {_short(data)} is not a JSON object with a \"type\"")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise MessageError(f"type={_short(kind)} is not a message type; choose one of "
                           f"{', '.join(MESSAGE_TYPES)}"
                           + (suggest(kind, MESSAGE_TYPES) if isinstance(kind, str) else ""))
    try:
        return _MESSAGE.validate_python(data)
    except ValidationError as exc:
        raise MessageError(message_error(exc)) from None


def updated(state: PlaygroundState, changes: dict[str, Any]) -> PlaygroundState:
    """``state`` with ``changes`` applied and everything validated again."""
    unknown = [k for k in changes if k not in PlaygroundState.model_fields]
    if unknown:
        fields = list(PlaygroundState.model_fields)
        raise MessageError(f"unknown field state.{unknown[0]}{suggest(unknown[0], fields)}; "
                           f"the fields are {', '.join(fields)}")
    merged = {**state.model_dump(), **changes}
    shape, per = merged.get("networkShape"), merged.get("layerActivations")
    if ("networkShape" in changes and "layerActivations" not in changes and isinstance(per, list)
            and isinstance(shape, list)):  # layers added or removed: keep one per layer
        merged["layerActivations"] = (per + [merged["activation"]] * len(shape))[:len(shape)]
    try:
        return PlaygroundState.model_validate(merged)
    except ValidationError as exc:
        raise MessageError(message_error(exc, "state")) from None


# == the URL query ============================================================================
_LIST_FIELDS = ("features", "networkShape", "layerActivations", "hide")


def _query_value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_query_value(v) for v in value)
    if isinstance(value, float):
        return repr(value) if value != int(value) else str(int(value))
    return str(value)


def to_query(state: PlaygroundState) -> str:
    """The URL query string that restores ``state`` (every field, the seed included)."""
    return urlencode([(k, _query_value(v)) for k, v in state.model_dump().items()])


def _from_text(name: str, text: str) -> Any:
    field = PlaygroundState.model_fields[name]
    if name in _LIST_FIELDS:
        if text == "none" and name == "layerActivations":
            return None
        items = [t.strip() for t in text.split(",")] if text.strip() else []
        return [int(t) if name == "networkShape" and t.lstrip("-").isdigit() else t
                for t in items]
    if text in ("none", "null", ""):
        return None
    if text in ("true", "false"):
        return text == "true"
    annotation = str(field.annotation)
    if "int" in annotation and text.lstrip("-").isdigit():
        return int(text)
    if "float" in annotation or "int" in annotation:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def from_query(query: str, base: PlaygroundState | None = None) -> PlaygroundState:
    """The state a URL query string describes (unknown keys and bad values are a
    :class:`MessageError` naming them; missing keys keep ``base``'s values)."""
    query = query.lstrip("?")
    if len(query) > 4096:
        raise MessageError(f"the URL query has {len(query):,} characters; a playground state "
                           "needs well under 4,096")
    changes: dict[str, Any] = {}
    for key, text in parse_qsl(query, keep_blank_values=True):
        if key == "token":
            continue
        if key not in PlaygroundState.model_fields:
            fields = list(PlaygroundState.model_fields)
            raise MessageError(f"unknown URL key {key!r}{suggest(key, fields)}; the keys are "
                               f"{', '.join(fields)}")
        changes[key] = _from_text(key, text)
    return updated(base or PlaygroundState(), changes)


#: TensorFlow Playground's own link (the hash of a playground.tensorflow.org address):
#: its input features as one true/false key each, and its regression sets by other names
TFP_FEATURES = ("x", "y", "xTimesY", "xSquared", "ySquared", "cosX", "sinX", "cosY", "sinY")
TFP_REGRESSION = {"reg-plane": "plane", "reg-gauss": "multi-gauss"}
_TFP_DISPLAY = ("collectStats", "hideText", "tutorial", "problem")  # nothing to train


def from_tf_playground(query: str) -> tuple[str, list[str]]:
    """A TensorFlow Playground link's settings (``activation=tanh&x=true&y=true&...``, the
    part after ``#``) as this page's query, and what could not be carried over; a query of
    this page's own format comes back unchanged. Its data cannot be drawn again (its seed
    feeds JavaScript's random numbers), so the seed is this page's default, 0."""
    pairs = parse_qsl(query.lstrip("?#"), keep_blank_values=True)
    keys = {k for k, _ in pairs}
    if not keys & {*TFP_FEATURES, "regDataset", "initZero"}:
        return query, []
    given = dict(pairs)
    out: list[tuple[str, str]] = []
    problems: list[str] = []
    regression = given.get("problem") == "regression"
    for key, text in pairs:
        if key in TFP_FEATURES or key in _TFP_DISPLAY:
            continue
        if key == "dataset" and regression:
            continue
        if key == "regDataset":
            if regression:
                out.append(("dataset", TFP_REGRESSION.get(text, text)))
        elif key == "seed":
            continue  # (a string for JavaScript's random numbers: this page's seed is 0)
        elif key == "initZero":
            if text == "true":
                problems.append("initZero (all weights 0) is not offered here; the weights "
                                "start random")
        else:
            out.append((key, text))
    features = [k for k in TFP_FEATURES if given.get(k) == "true"]
    missing = [k for k in features if k not in FEATURES]
    if missing:
        problems.append(f"the features {', '.join(missing)} are not offered here; the others "
                        "are kept")
    out.append(("features", ",".join(k for k in features if k in FEATURES)))
    return urlencode(out), problems


def from_link(query: str) -> tuple[PlaygroundState, list[str]]:
    """The state of a page's link, keeping every key that is good: ``(state, problems)``.

    A shared link with one bad value (a hand-edited learning rate off the ladder, a key
    misspelt) keeps the rest of the teacher's settings, as TensorFlow Playground does; each
    key left out is one line in ``problems``. Keys are taken in the link's order, so a key
    that only fits with an earlier one (layerActivations after networkShape) still fits."""
    query, translated = from_tf_playground(query)
    try:
        return from_query(query), translated
    except MessageError:
        pass
    query = query.lstrip("?")
    if len(query) > 4096:
        from_query(query)  # raises: the length is the problem, not a key
    state = PlaygroundState()
    problems: list[str] = []
    for key, text in parse_qsl(query, keep_blank_values=True):
        if key == "token":
            continue
        try:
            state = from_query(urlencode([(key, text)]), base=state)
        except MessageError as exc:
            problems.append(str(exc))
    return state, translated + problems


__all__ = ["DATASETS", "DATA_FIELDS", "DEFAULT_POINTS", "DOMAIN", "FEATURES", "HIDEABLE",
           "LEARNING_RATES", "LIMITS", "LIVE_FIELDS", "MAX_MESSAGE_BYTES", "MESSAGE_TYPES",
           "REGULARIZATION_RATES", "TFP_FEATURES", "TFP_REGRESSION", "VIEW_FIELDS",
           "MessageError", "PlaygroundState", "from_link", "from_query", "from_tf_playground",
           "message_error", "parse_message", "to_query", "updated"]
