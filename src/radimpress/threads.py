"""How many CPU threads every library radimpress drives may use, set in one place.

torch, OpenMP (scikit-learn's gradient boosting), and the BLAS behind numpy
each start a thread per core by default. On a machine whose cores other work
also uses, they thrash: the default recipe trained in 290 s with the machine
busy against 9.7 s with one thread. So radimpress picks one number — the
``--threads`` option, else ``RADIMPRESS_THREADS``, else half the cores — and
gives it to all of them: the environment variables the libraries read when
they load, threadpoolctl for those already loaded, and torch's own pool.
"""

from __future__ import annotations

import os
import sys

from threadpoolctl import threadpool_limits

from radimpress.records import InputError

ENV = "RADIMPRESS_THREADS"
_LIBRARY_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def default_threads() -> int:
    """Half the cores (at least one): leaves room for the server, the OS and a neighbour."""
    return max(1, (os.cpu_count() or 2) // 2)


def resolve_threads(requested: int | None = None) -> int:
    """--threads, else RADIMPRESS_THREADS, else the default; always at least 1."""
    if requested:
        return max(1, int(requested))
    env = os.environ.get(ENV, "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise InputError(f"{ENV}={env!r}: expected a whole number of threads") from None
    return default_threads()


def configure_threads(requested: int | None = None) -> int:
    """Limit every thread pool to the resolved count; return it.

    Call before heavy imports where possible (the variables are read when a
    library loads); pools already loaded are limited through threadpoolctl
    and torch.
    """
    n = resolve_threads(requested)
    for name in _LIBRARY_VARS:
        os.environ[name] = str(n)
    os.environ[ENV] = str(n)  # worker processes (safety checker, accelerate) inherit it
    threadpool_limits(n)  # pools of libraries already loaded (none loaded: a no-op)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    return n
