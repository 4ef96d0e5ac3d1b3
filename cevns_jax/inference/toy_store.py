"""A folder of toy statistics, so that a long Neyman construction can be interrupted and resumed.

Each tested point's toy statistics t are one file ``<digest>.npy``, where the digest (SHA-256)
covers what the values depend on: the cevns_jax version; the measurement (its pytree
structure, which names the channels, nuisances with their priors, statistics and expectation
functions, the latter by qualified name, and the bytes of every leaf: observed counts,
templates, constraint centres); the model, the parameter, the tested value, the toys' random
key, the number of toys, the nuisances the toys are drawn with and the fit settings. Changed
data or settings give another digest, so nothing stale is read back; a change of code inside
an expectation function between two runs of the same version is not seen (use a fresh folder).
A file is written to a temporary name and renamed, so an interrupted run leaves no partial
file; a file that cannot be read is computed again.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile

import jax
import numpy as np

from .. import __version__

__all__ = ["ToyStore"]

#: Memory addresses in reprs (functions, objects): they differ between processes.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _stable_repr(value) -> str:
    return _ADDRESS.sub("", repr(value))


def _update(digest, value):
    """Feed ``value`` (a pytree of arrays and plain values) to ``digest``."""
    leaves, treedef = jax.tree_util.tree_flatten(value)
    digest.update(_stable_repr(treedef).encode())
    for leaf in leaves:
        array = np.asarray(leaf)
        if array.dtype == object:
            digest.update(_stable_repr(leaf).encode())
            continue
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())


class ToyStore:
    """Toy statistics kept in ``directory`` (created if missing), keyed by their inputs."""

    def __init__(self, directory):
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)

    @staticmethod
    def key(**inputs) -> str:
        """The SHA-256 digest of ``inputs`` (sorted by name; each a pytree of arrays, numbers,
        strings or hashable objects such as the model)."""
        digest = hashlib.sha256(__version__.encode())
        for name in sorted(inputs):
            digest.update(name.encode())
            _update(digest, inputs[name])
        return digest.hexdigest()

    def _path(self, key):
        return os.path.join(self.directory, f"{key}.npy")

    def get(self, key):
        """The stored array for ``key``, or None (missing or unreadable)."""
        try:
            return np.load(self._path(key), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, key, values) -> None:
        """Store ``values`` under ``key`` (written to a temporary file, then renamed)."""
        handle, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, np.asarray(values))
            os.replace(tmp, self._path(key))
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
