"""Layers, activations, losses and penalties, with forward and backward written by hand.

>>> import numpy as np
>>> from neuralab import nn
>>> rng = np.random.default_rng(0)
>>> net = nn.Sequential(nn.Linear(2, 20, rng=rng), nn.ReLU(), nn.Linear(20, 2, rng=rng))
>>> net.forward(np.zeros((5, 2), np.float32)).shape
(5, 2)
"""

from neuralab.nn.activations import (
    ACTIVATIONS,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    log_softmax,
    sigmoid,
    softmax,
)
from neuralab.nn.batchnorm import BatchNorm1d, BatchNorm2d
from neuralab.nn.containers import Sequential
from neuralab.nn.conv import Conv1d, Conv2d
from neuralab.nn.dropout import Dropout, Dropout2d
from neuralab.nn.init import CONV_INITS, INITS, init_conv, init_linear
from neuralab.nn.linear import Linear
from neuralab.nn.losses import (
    LOSSES,
    MSE,
    BCEWithLogits,
    Flooding,
    Hinge,
    Loss,
    PerceptronCriterion,
    SoftmaxCrossEntropy,
    TanhSquared,
)
from neuralab.nn.module import Module
from neuralab.nn.penalties import L1, L2, Penalty
from neuralab.nn.pooling import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from neuralab.nn.shape import Flatten
from neuralab.nn.summary import Summary, SummaryRow, summary

__all__ = [
    "ACTIVATIONS", "CONV_INITS", "INITS", "L1", "L2", "LOSSES", "MSE", "AvgPool1d",
    "AvgPool2d", "BCEWithLogits", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "Dropout",
    "Dropout2d", "Flatten", "Flooding", "Hinge", "Identity", "LeakyReLU", "Linear", "Loss",
    "MaxPool1d", "MaxPool2d", "Module", "Penalty", "PerceptronCriterion", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "SoftmaxCrossEntropy", "Summary", "SummaryRow", "Tanh", "TanhSquared",
    "init_conv",
    "init_linear", "log_softmax", "sigmoid", "softmax", "summary",
]
