"""Two CPU processes on this machine (localhost coordinator) give the single-process toys."""

import os
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np

from cevns_jax.inference import distributed, toys
from cevns_jax.likelihood.counting import binned_poisson_measurement
from cevns_jax.likelihood.physics_model import EffectiveMoment

SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from cevns_jax.inference import distributed
    from cevns_jax.likelihood.counting import binned_poisson_measurement
    from cevns_jax.likelihood.physics_model import EffectiveMoment
    assert distributed.initialize_from_environment()
    m = binned_poisson_measurement("bins", ("nue",), np.ones((1, 3)), 0.5 * np.ones((1, 3)),
                                   n_obs=np.array([2.0, 0.0, 3.0]), background=1.0,
                                   signal_sigma=0.2)
    t = distributed.toy_statistics_distributed(m, EffectiveMoment(), "mu", 1.0, 41,
                                               jax.random.PRNGKey(5), batch_size=16)
    np.save(sys.argv[1], t)
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_blocks_partition_the_work():
    parts = [distributed.block(41, r, 3) for r in range(3)]
    assert np.array_equal(np.concatenate(parts), np.arange(41))


def test_two_processes_equal_one(tmp_path):
    port = _free_port()
    procs = []
    for rank in range(2):
        env = dict(os.environ, CEVNS_COORDINATOR=f"127.0.0.1:{port}", CEVNS_NUM_PROCESSES="2",
                   CEVNS_PROCESS_ID=str(rank), JAX_PLATFORMS="cpu")
        procs.append(subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / f"r{rank}.npy")],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    m = binned_poisson_measurement("bins", ("nue",), np.ones((1, 3)), 0.5 * np.ones((1, 3)),
                                   n_obs=np.array([2.0, 0.0, 3.0]), background=1.0,
                                   signal_sigma=0.2)
    single = toys.toy_statistics(m, EffectiveMoment(), "mu", 1.0, np.arange(41),
                                 jax.random.PRNGKey(5), batch_size=16)
    for rank in range(2):
        # bit-identical up to XLA's reduction order across batch shapes
        np.testing.assert_allclose(np.load(tmp_path / f"r{rank}.npy"), single, rtol=0, atol=1e-10)
