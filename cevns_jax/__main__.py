"""``python -m cevns_jax``: the same as the ``cevns-jax`` command."""

import sys

from .cli import main

sys.exit(main())
