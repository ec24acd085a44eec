"""Same seed → bit-identical weights after training, in this process and in a fresh one."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import numpy as np

TRAIN = textwrap.dedent("""
    import hashlib
    import numpy as np
    from neuralab import nn, optim

    def train(seed, n_models=None):
        root = np.random.SeedSequence(seed)
        if n_models is None:
            w_rng, d_rng, data_rng = (np.random.default_rng(s) for s in root.spawn(3))
        else:
            kids = [s.spawn(2) for s in root.spawn(n_models)]
            w_rng = [np.random.default_rng(k[0]) for k in kids]
            d_rng = [np.random.default_rng(k[1]) for k in kids]
            data_rng = np.random.default_rng(root.spawn(1)[0])
        net = nn.Sequential(nn.Linear(4, 16, rng=w_rng), nn.BatchNorm1d(16, n_models=n_models),
                            nn.ReLU(), nn.Dropout(0.2, rng=d_rng), nn.Linear(16, 3, rng=w_rng))
        opt = optim.Adam(net, lr=1e-2)
        loss_fn = nn.SoftmaxCrossEntropy()
        X = data_rng.normal(size=(64, 4)).astype(np.float32)
        y = data_rng.integers(0, 3, size=64)
        for epoch in range(5):
            order = data_rng.permutation(64)
            for i in range(0, 64, 16):
                idx = order[i:i + 16]
                loss_fn.forward(net.forward(X[idx]), y[idx])
                net.backward(loss_fn.backward())
                opt.step()
        return net

    def digest(net):
        h = hashlib.sha256()
        for name, value in sorted(net.state_dict().items()):
            h.update(name.encode())
            h.update(np.ascontiguousarray(value).tobytes())
        return h.hexdigest()
""")
namespace: dict = {}
exec(TRAIN, namespace)
train, digest = namespace["train"], namespace["digest"]


def test_same_seed_same_bits() -> None:
    a, b = train(11), train(11)
    for (name, x), (_, y) in zip(sorted(a.state_dict().items()), sorted(b.state_dict().items()),
                                 strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert digest(a) == digest(b)
    assert digest(train(12)) != digest(a)


def test_ensemble_same_seed_same_bits() -> None:
    assert digest(train(5, n_models=4)) == digest(train(5, n_models=4))


def test_fresh_process_gives_the_same_bits() -> None:
    code = TRAIN + "\nprint(digest(train(11)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == digest(train(11))
    assert len(hashlib.sha256().hexdigest()) == len(out.stdout.strip())
