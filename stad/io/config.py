"""Reading mmengine config files (``.py``) with one-line errors."""
from __future__ import annotations

import os

from stad.errors import StadError
from stad.io.checkpoint import one_line


def read_config(path: str, what: str = 'config'):
    """``mmengine.config.Config.fromfile(path)``.

    Raises:
        StadError: one line naming ``path``: missing, not valid Python, an error while
            it runs (a missing ``_base_``), or a file that cannot be read or written
            (mmengine writes a temporary copy; a full disk or a file-size limit).
    """
    from mmengine.config import Config
    if not os.path.isfile(path):
        raise StadError(f'{what} file not found: {path}')
    try:
        return Config.fromfile(path)
    except SyntaxError as e:
        raise StadError(f'{path}:{e.lineno}: not a valid {what} ({e.msg})') from None
    except OSError as e:  # also a missing _base_ file, which e.filename names
        where = f': {e.filename}' if e.filename and e.filename != path else ''
        raise StadError(f'{path}: cannot read the {what} ({e.strerror or e}{where})') from None
    except Exception as e:  # what the config's code or its _base_ raised
        raise StadError(f'{path}: cannot load the {what} ({type(e).__name__}: '
                        f'{one_line(e)})') from None
