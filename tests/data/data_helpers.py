"""Helpers for the data tests: small files in the real formats and a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np

from neuralab.data.idx import write_idx
from neuralab.data.mnist import SPLIT_FILES


def fake_images(n: int, seed: int, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (n, size, size) and labels (n,) 0..9, random but reproducible."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, size, size), dtype=np.uint8),
            rng.integers(0, 10, size=n).astype(np.uint8))


def write_idx_folder(folder: Path, n_train: int = 50, n_test: int = 20, *, gz: bool = True
                     ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four MNIST files in ``folder`` (gzip or raw); returns {split: (images, labels)}."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train": fake_images(n_train, 1), "test": fake_images(n_test, 2)}
    for split, (images_file, labels_file) in SPLIT_FILES.items():
        suffix = ".gz" if gz else ""
        write_idx(folder / (images_file + suffix), arrays[split][0])
        write_idx(folder / (labels_file + suffix), arrays[split][1])
    return arrays


def write_medmnist(path: Path, test_counts=(200, 60, 50, 260), n_train: int = 40,
                   n_val: int = 12) -> dict[str, np.ndarray]:
    """A MedMNIST-layout .npz: uint8 (n, 28, 28) images, (n, 1) labels; test shuffled."""
    rng = np.random.default_rng(3)
    test_labels = rng.permutation(np.repeat(np.arange(4), test_counts))
    arrays = {}
    splits = {"train": rng.integers(0, 4, n_train), "val": rng.integers(0, 4, n_val),
              "test": test_labels}
    for split, labels in splits.items():
        arrays[f"{split}_images"] = rng.integers(0, 256, (len(labels), 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = labels.astype(np.uint8).reshape(-1, 1)
    np.savez_compressed(path, **arrays)
    return arrays


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class FileServer:
    """Serves ``files`` (name -> bytes) on 127.0.0.1; names in ``cut`` are cut off halfway."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.lstrip("/").split("?")[0]
                server.requests.append(name)
                body = server.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name in server.cut:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def leftovers(folder: Path) -> list[str]:
    """Every file under ``folder`` (to check nothing partial was left)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else []
