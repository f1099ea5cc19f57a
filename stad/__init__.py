"""stad: spatio-temporal action detection on the OpenMMLab stack.

Importing the package applies the stack fixes of :mod:`stad.compat` and registers the
project's modules (``'stad.X'`` in configs).
"""
import importlib

__version__ = '0.1.0'

from stad import compat as _compat  # noqa: E402

_compat.apply_all()

from stad.registry import REGISTERING_MODULES  # noqa: E402

for _name in REGISTERING_MODULES:
    importlib.import_module(_name)


def predict(video: str, **kwargs) -> dict:
    """Person tracks and their action segments in ``video`` (what ``stad demo`` draws), as
    data: :func:`stad.tasks.demo.predict` (``det_config``, ``det_checkpoint``, ``config``,
    ``checkpoint``; returns ``{'segments': [...], 'events': [...], ...}``)."""
    from stad.tasks.demo import predict as _predict
    return _predict(video, **kwargs)
