"""stad: spatio-temporal action detection on the OpenMMLab stack.

``import stad`` is cheap: it imports none of the stack (torch, mmcv, mmengine, mmaction2,
mmdet), so ``stad --help`` and the data verbs start in a fraction of a second. It
installs the stack fixes of :mod:`stad.compat`, each applied at once or right after the
module it concerns is imported, so they are in place before mmaction2 or a checkpoint is
used. The project's registered modules (``'stad.X'`` in configs) are imported when first
looked up: for a ``'stad.'`` key mmengine imports :mod:`stad.registry`, whose
registries import their ``locations``; :func:`register_all_modules` imports them at
once.
"""
from stad import compat as _compat
from stad.version import __version__

_compat.install()

__all__ = ['__version__', 'predict', 'register_all_modules']


def register_all_modules() -> None:
    """Import every module that registers into stad's registries
    (:data:`stad.registry.REGISTERING_MODULES`), e.g. to list them; lookups of
    ``'stad.X'`` do not need it."""
    import importlib

    from stad.registry import REGISTERING_MODULES
    for name in REGISTERING_MODULES:
        importlib.import_module(name)


def predict(video: str, **kwargs) -> dict:
    """Person tracks and their action segments in ``video`` (what ``stad demo`` draws), as
    data: :func:`stad.tasks.demo.predict` (``det_config``, ``det_checkpoint``, ``config``,
    ``checkpoint``, or ``onnx_dir`` with ``backend='auto'`` / ``'onnxruntime'`` /
    ``'openvino'``; returns ``{'segments': [...], 'events': [...], ...}``)."""
    from stad.tasks.demo import predict as _predict
    return _predict(video, **kwargs)
