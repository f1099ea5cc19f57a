"""stad: spatio-temporal action detection on the OpenMMLab stack.

Importing the package applies the stack fixes of :mod:`stad.compat` and registers the
project's modules (``'stad.X'`` in configs).
"""
__version__ = '0.1.0'

from . import compat as _compat

_compat.apply_all()

from . import registry  # noqa: E402,F401
from .utils import register_all_modules  # noqa: E402

register_all_modules()
