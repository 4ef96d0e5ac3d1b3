"""Loaders for the public data tables shipped in ``cevns_jax/data/``.

Plain NumPy (no JAX): these functions run once at set-up time; convert the returned arrays with
``jnp.asarray`` where needed.  Every file keeps its ``#`` header lines, which name the source
repository, commit, paper and units; ``cevns_jax/data/PROVENANCE.md`` has one line per file.

Files are located with :mod:`importlib.resources`, so the installed package needs nothing outside
itself.  Parsed tables are cached (``functools.lru_cache``) as read-only arrays; every public
function returns fresh copies (or new dicts of Python floats), so callers cannot alter the cache.

Names accepted by the loaders are checked; an unknown name raises ``ValueError`` that repeats the
bad value and lists the accepted ones.

One module per data source; this package re-exports their public names."""

from .borexino import *  # noqa: F401,F403
from .coherent_csi2017 import *  # noqa: F401,F403
from .coherent_lar2020 import *  # noqa: F401,F403
from .dresden2 import *  # noqa: F401,F403
from .reactor import *  # noqa: F401,F403
from .solar import *  # noqa: F401,F403
from .xenonnt_8b import *  # noqa: F401,F403
from .xenonnt_er2022 import *  # noqa: F401,F403
