"""nn.summary as a user meets it: printed once, echoed as one line, the table as its str."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np

from neuralab import nn


def small_cnn(rng: np.random.Generator) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 4, kernel_size=3, padding=1, rng=rng), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3, rng=rng))


def test_summary_is_a_list_of_rows_whose_str_is_the_table() -> None:
    buf = io.StringIO()
    rows = nn.summary(small_cnn(np.random.default_rng(0)), input_shape=(1, 8, 8), file=buf)
    assert isinstance(rows, list) and len(rows) == 5
    assert rows[0].output_shape == (4, 8, 8) and rows[-1].output_shape == (3,)
    assert rows.n_params == 40 + 64 * 3 + 3
    assert str(rows) + "\n" == buf.getvalue()
    assert repr(rows) == "Summary(5 layers, 235 parameters)"


def test_the_repl_shows_the_table_once_and_one_line_after_it() -> None:
    """Typed at the interactive prompt, the call prints the table; the echo of its value
    is one line, not a second table nor a list of dataclass reprs."""
    code = ("import numpy as np\n"
            "from neuralab import nn\n"
            "net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=0))\n"
            "nn.summary(net, input_shape=(2,))\n")
    done = subprocess.run([sys.executable, "-i", "-q"], input=code, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.count("total parameters: 17") == 1, done.stdout
    assert "Summary(3 layers, 17 parameters)" in done.stdout
    assert "SummaryRow(" not in done.stdout


def test_summary_between_forward_and_backward_leaves_the_network_as_it_was() -> None:
    """A student's forward, a look at the summary, then backward: the gradients are those of
    the forward's batch (summary once left the layers' caches holding its one sample, and
    backward then failed with a shape error), and train mode and the weights are kept."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 1, 8, 8))
    g = rng.standard_normal((5, 3))
    net, twin = small_cnn(np.random.default_rng(1)), small_cnn(np.random.default_rng(1))
    for n in (net, twin):
        n.forward(x)
    nn.summary(net, input_shape=(1, 8, 8), print_table=False)
    dx = net.backward(g, input_grad=True)
    np.testing.assert_array_equal(dx, twin.backward(g, input_grad=True))
    for (name, p, d), (_, p2, d2) in zip(net.named_parameters(), twin.named_parameters(),
                                         strict=True):
        np.testing.assert_array_equal(d, d2, err_msg=name)
        np.testing.assert_array_equal(p, p2, err_msg=name)
    assert all(m.training for m in net.modules())
