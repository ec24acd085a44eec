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
from neuralab.nn.batchnorm import BatchNorm1d
from neuralab.nn.containers import Sequential
from neuralab.nn.dropout import Dropout
from neuralab.nn.init import INITS, init_linear
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
)
from neuralab.nn.module import Module
from neuralab.nn.penalties import L1, L2, Penalty

__all__ = [
    "ACTIVATIONS", "INITS", "L1", "L2", "LOSSES", "MSE", "BCEWithLogits", "BatchNorm1d",
    "Dropout", "Flooding", "Hinge", "Identity", "LeakyReLU", "Linear", "Loss", "Module",
    "Penalty", "PerceptronCriterion", "ReLU", "Sequential", "Sigmoid", "Softmax",
    "SoftmaxCrossEntropy", "Tanh", "init_linear", "log_softmax", "sigmoid", "softmax",
]
