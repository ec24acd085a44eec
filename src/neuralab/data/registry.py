"""Every dataset by name: its loader, what it is, and whether it is available offline.

``load(name, **options)`` returns a :class:`Dataset` for sets without a canonical split
(synthetic sets, digits, the user's files) and a :class:`DatasetSplits` (``.train``,
``.test``, and ``.val`` for MedMNIST) for the published image sets and mnist1d.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralab._checks import suggest
from neuralab.data import digits, files, medmnist, mnist, mnist1d, playground, synthetic
from neuralab.data.dataset import Dataset, DatasetSplits
from neuralab.data.download import RemoteFile, checksum_problem, fetch
from neuralab.exceptions import DataError

Loaded = Dataset | DatasetSplits


def _always(root: str | os.PathLike | None = None) -> bool:
    return True


@dataclass(frozen=True)
class DatasetInfo:
    """What ``neuralab data list`` shows about a dataset, and how to load it."""

    name: str
    kind: str  # synthetic | playground | image | signal | file
    loader: Callable[..., Loaded]
    description: str
    task: str = "classification"
    n_classes: int | None = None  # None: set by the options (e.g. gaussians' means)
    class_names: tuple[str, ...] | None = None
    input_shape: tuple[int, ...] | None = None
    sizes: dict[str, int] = field(default_factory=dict)  # default size of each split
    source: str = ""
    offline: Callable[..., bool] = _always  # offline(root) -> bool
    remotes: tuple[RemoteFile, ...] = ()  # files `neuralab data get` downloads

    @property
    def splits(self) -> tuple[str, ...]:
        """Names of the canonical splits ``load`` returns; () for a single Dataset."""
        return tuple(k for k in self.sizes if k in ("train", "val", "test"))

    @property
    def options(self) -> list[str]:
        """Keyword options ``load(name, ...)`` accepts."""
        return list(inspect.signature(self.loader).parameters)

    def is_offline(self, root: str | os.PathLike | None = None) -> bool:
        """Whether loading works without network now (generated, shipped or in the cache)."""
        return self.offline(root)


def _synthetic(name: str, fn: Callable[..., Dataset], description: str,
               n_classes: int | None = 2, n: int | None = None) -> DatasetInfo:
    if n is None:  # the size ``load(name)`` gives: the generator's default
        n = inspect.signature(fn).parameters["n"].default
    return DatasetInfo(name, "synthetic", fn, description, n_classes=n_classes,
                       input_shape=(2,), sizes={"n": n}, source="generated (neuralab)")


PLAYGROUND_DESCRIPTIONS = {
    "circle": "TF Playground circle: a disc inside a ring",
    "xor": "TF Playground XOR: four quadrants",
    "gauss": "TF Playground gauss: two Gaussian clouds",
    "spiral": "TF Playground spiral: two interleaved arms",
    "plane": "TF Playground plane: regression on x1 + x2",
    "multi-gauss": "TF Playground multi-gauss: regression on six signed bumps",
}


def _playground(key: str) -> DatasetInfo:
    fn = playground.PLAYGROUND_SETS[key]
    regression = key in ("plane", "multi-gauss")
    n = inspect.signature(fn).parameters["n"].default
    return DatasetInfo(f"playground-{key}", "playground", fn,
                       PLAYGROUND_DESCRIPTIONS[key], input_shape=(2,), sizes={"n": n},
                       task="regression" if regression else "classification",
                       n_classes=None if regression else 2, source=playground.SOURCE)


def _bound(loader: Callable[..., Loaded], name: str) -> Callable[..., Loaded]:
    """``loader`` with its dataset ``name`` fixed (keeps the signature for option checks)."""
    def load(**options: Any) -> Loaded:
        return loader(name, **options)

    params = [p for p in inspect.signature(loader).parameters.values() if p.name != "name"]
    load.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    load.__doc__ = loader.__doc__
    return load


def _idx(spec: mnist.IdxSet) -> DatasetInfo:
    return DatasetInfo(
        spec.name, "image", _bound(mnist.load_idx_set, spec.name), spec.title,
        n_classes=10, class_names=spec.class_names, input_shape=(784,),
        sizes={"train": 60000, "test": 10000}, source=spec.source,
        offline=lambda root=None: mnist.is_cached(spec.name, root), remotes=tuple(spec.remotes()))


def _med(spec: medmnist.MedSet) -> DatasetInfo:
    channels = 3 if spec.n_channels == 3 else 1
    return DatasetInfo(
        spec.name, "image", _bound(medmnist.load_medmnist, spec.name),
        f"MedMNIST {spec.description}", n_classes=len(spec.class_names),
        class_names=spec.class_names, input_shape=(28 * 28 * channels,),
        sizes=dict(zip(medmnist.SPLITS, spec.sizes, strict=True)), source=medmnist.SOURCE,
        offline=lambda root=None: medmnist.is_cached(spec.name, root), remotes=(spec.remote,))


REGISTRY: dict[str, DatasetInfo] = {info.name: info for info in (
    _synthetic("gaussians", synthetic.gaussians,
               "Gaussian classes with chosen means and covariances", None, n=200),
    _synthetic("blobs", synthetic.blobs, "isotropic Gaussian blobs (make_blobs)", 3),
    _synthetic("moons", synthetic.moons, "two interleaving half circles, noise 0.2"),
    _synthetic("circles", synthetic.circles, "a circle inside a circle, noise 0.1"),
    _synthetic("xor", synthetic.xor, "XOR of the coordinate signs"),
    _synthetic("spiral", synthetic.spiral, "interleaved spiral arms, one class per arm"),
    *(_playground(key) for key in playground.PLAYGROUND_SETS),
    DatasetInfo("digits", "image", digits.load_digits,
                "8x8 handwritten digits shipped with scikit-learn", n_classes=10,
                class_names=tuple(str(d) for d in range(10)), input_shape=(64,),
                sizes={"n": 1797}, source=digits.SOURCE),
    *(_idx(spec) for spec in mnist.IDX_SETS.values()),
    *(_med(spec) for spec in medmnist.MEDMNIST.values()),
    DatasetInfo("mnist1d", "signal", mnist1d.load_mnist1d,
                "MNIST-1D: 1-D digit signals, regenerated locally", n_classes=10,
                class_names=tuple(str(d) for d in range(10)), input_shape=(40,),
                sizes={"train": 4000, "test": 1000}, source=mnist1d.SOURCE),
    DatasetInfo("csv", "file", files.load_csv, "your CSV file (path=..., label=column)",
                source="your file"),
    DatasetInfo("npz", "file", files.load_npz, "your NPZ file with arrays X and y (path=...)",
                source="your file"),
)}
ALIASES = {"fashion": "fashion-mnist", "fmnist": "fashion-mnist",
           "multigauss": "playground-multi-gauss", "oct": "octmnist", "mnist-1d": "mnist1d"}


def available() -> list[str]:
    """Names of all datasets ``load`` knows, in the order ``neuralab data list`` shows them."""
    return list(REGISTRY)


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name`` (DataError with the closest names if unknown)."""
    key = str(name).strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in REGISTRY:
        raise DataError(f"unknown dataset {name!r}" + suggest(key, list(REGISTRY) + list(ALIASES))
                        + f"; available: {', '.join(REGISTRY)}")
    return REGISTRY[key]


def check_options(ds: DatasetInfo, options: dict[str, Any]) -> None:
    """Raise DataError naming any option ``ds``'s loader does not take, with a suggestion."""
    allowed = ds.options
    for key in options:
        if key not in allowed:
            raise DataError(f"{ds.name} does not take option {key!r}" + suggest(key, allowed)
                            + f"; its options are {', '.join(allowed) or '(none)'}")


def option_defaults(name: str, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The default of each option of ``name``'s loader (only ``keys`` when given): the one
    home of what ``load(name)`` means, read by the experiment config."""
    params = inspect.signature(info(name).loader).parameters
    return {k: p.default for k, p in params.items()
            if p.default is not p.empty and (keys is None or k in keys)}


def load(name: str, **options: Any) -> Loaded:
    """Load dataset ``name`` with its ``options`` (see ``neuralab data list`` and docs/data.md).

    Examples: ``load("moons", n=1000, noise=0.2, seed=0)``, ``load("mnist", root="~/data")``,
    ``load("octmnist", path="octmnist.npz", preset="ist")``, ``load("digits")``.
    """
    ds = info(name)
    check_options(ds, options)
    params = inspect.signature(ds.loader).parameters.values()
    missing = [p.name for p in params if p.default is p.empty and p.name not in options
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if missing:
        if missing[0] == "path":
            raise DataError(f"{ds.name} reads your file: give its path (--path FILE on the "
                            "command line, data.path in a config, path=... in Python)")
        raise DataError(f"{ds.name} needs option {missing[0]!r}; give {missing[0]}=...")
    return ds.loader(**options)


def get(name: str, root: str | os.PathLike | None = None, *, download: bool = True,
        mirror: str | None = None, progress: bool | None = None) -> list[Path]:
    """Download ``name``'s files into ``root`` (default: the cache); verify those present.

    Returns the file paths. With ``download=False`` nothing is fetched: a missing file is a
    DataError saying where it should be and how to get it.
    """
    ds = info(name)
    if not ds.remotes:
        how = {"file": "your own file", "image": "shipped with scikit-learn"}.get(
            ds.kind, "generated locally")
        raise DataError(f"{ds.name} has nothing to download: it is {how}")
    folder = mnist.folder_for(ds.name, root)
    paths = []
    for remote in ds.remotes:
        dest = folder / remote.filename
        if dest.is_file():
            problem = checksum_problem(dest, remote)
            if problem:
                raise DataError(f"{ds.name}: {dest} is in the cache but fails verification "
                                f"({problem}); delete it and run `neuralab data get "
                                f"{ds.name}` again")
        else:
            fetch(remote, folder, dataset=ds.name, download_ok=download, mirror=mirror,
                  progress=progress)
        paths.append(dest)
    return paths
