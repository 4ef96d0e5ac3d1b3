"""Toys and scans over several processes with ``jax.distributed``.

Each process computes a contiguous block of the work items (toy indices, grid chunks) and the
blocks are gathered with ``multihost_utils.process_allgather`` (Gloo on CPU, NCCL on GPU), so
every process ends with the full result, equal to the single-process one because toy ``i``
depends only on ``(key, i)`` (:mod:`cevns_jax.inference.toys`).

Start one process per host (or per GPU) with the same coordinator::

    CEVNS_COORDINATOR=host0:29500 CEVNS_NUM_PROCESSES=4 CEVNS_PROCESS_ID=<rank> python job.py

(on SLURM, ``jax.distributed.initialize()`` without arguments reads the allocation itself).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from .toys import toy_statistics

__all__ = ["block", "gather_blocks", "initialize_from_environment", "toy_statistics_distributed"]


def initialize_from_environment() -> bool:
    """``jax.distributed.initialize`` from CEVNS_COORDINATOR / CEVNS_NUM_PROCESSES /
    CEVNS_PROCESS_ID; returns False (single process) when they are not set."""
    address = os.environ.get("CEVNS_COORDINATOR")
    if not address:
        return False
    try:
        n = int(os.environ["CEVNS_NUM_PROCESSES"])
        rank = int(os.environ["CEVNS_PROCESS_ID"])
    except (KeyError, ValueError) as exc:
        raise ValueError("CEVNS_COORDINATOR is set, so CEVNS_NUM_PROCESSES and CEVNS_PROCESS_ID "
                         "must be integers") from exc
    if not 0 <= rank < n:
        raise ValueError(f"CEVNS_PROCESS_ID = {rank} must lie in [0, {n})")
    jax.distributed.initialize(coordinator_address=address, num_processes=n, process_id=rank)
    return True


def block(n_items: int, rank: int | None = None, size: int | None = None) -> np.ndarray:
    """The indices of ``n_items`` that process ``rank`` of ``size`` handles (contiguous)."""
    rank = jax.process_index() if rank is None else rank
    size = jax.process_count() if size is None else size
    edges = np.linspace(0, n_items, size + 1).round().astype(int)
    return np.arange(edges[rank], edges[rank + 1])


def gather_blocks(values: np.ndarray, n_items: int) -> np.ndarray:
    """Concatenate every process's block (in rank order) into the full array of n_items."""
    if jax.process_count() == 1:
        return np.asarray(values)
    from jax.experimental import multihost_utils

    width = int(np.ceil(n_items / jax.process_count())) + 1
    padded = np.full(width, np.nan)
    padded[: values.size] = values
    gathered = np.asarray(multihost_utils.process_allgather(jnp.asarray(padded)))
    parts = [gathered[r][: block(n_items, r).size] for r in range(jax.process_count())]
    return np.concatenate(parts)


def toy_statistics_distributed(measurement, model, name, x_test, n_toys: int, key, **kwargs):
    """:func:`cevns_jax.inference.toys.toy_statistics` of toys 0..n_toys-1, split over the
    processes and gathered: identical to the single-process call."""
    mine = toy_statistics(measurement, model, name, x_test, block(n_toys), key, **kwargs)
    return gather_blocks(mine, n_toys)
