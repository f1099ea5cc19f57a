"""Reading ``.pth`` checkpoints safely and loading them into a model strictly.

:func:`read_checkpoint` reads with ``torch.load(weights_only=True)`` (tensors, plain
containers and the mmengine globals :mod:`stad.compat` allow-lists; nothing of a crafted
file runs) and turns every failure into a one-line :class:`StadError` naming the file:
missing, truncated or not written by ``torch.save``, refused (names the global torch
refused), or not a dict with ``state_dict``.

:func:`load_weights` puts a checkpoint's ``state_dict`` into a model and refuses, in one
line, a checkpoint whose weights do not match the model exactly (missing, unexpected or
differently shaped): mmengine's ``load_checkpoint`` only logs those and leaves the
unmatched weights random, so a detector checkpoint given as the action model's would
silently predict noise.
"""
from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping
from typing import Any

from stad.errors import StadError

# What torch's weights-only unpickler says when it refuses something, in the order to
# try: the global (module.name) or function it would not load or call.
_REFUSAL_PATTERNS = (
    ('global ', re.compile(r'unsupported GLOBAL (\S+) whose module')),
    ('global ', re.compile(r'Unsupported global: GLOBAL (\S+) was not an allowed global')),
    ('a call of ', re.compile(r'reduce for unrecognized function (.+?)(?: which belongs to|$)')),
)
# Boilerplate lines of torch's "Weights only load failed" message around the reason.
_BOILERPLATE = ('Weights only load failed', 'Check the documentation of torch.load',
                'Please file an issue')
# What a file checked out without `git lfs pull` starts with.
_LFS_POINTER = b'version https://git-lfs'
# mmengine's load_checkpoint strips this (a checkpoint saved from a DDP-wrapped model).
_DDP_PREFIX = 'module.'
# Weights by which stad's two kinds of model tell apart (key prefix -> kind, first match
# wins): the Faster R-CNN detectors have an RPN, the action models (mmdet FastRCNN with
# an AVA RoI head) do not. Only used to guess what a mismatching checkpoint is.
_KIND_HINTS = (('rpn_head.', 'detector'), ('roi_head.bbox_head.', 'action model'))


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return ' '.join(str(text).split())


def weights_only_refusal(err: BaseException) -> tuple[str | None, str]:
    """What ``torch.load(weights_only=True)`` refused, from its error.

    Returns:
        ``(name, reason)``: the refused global or call (``'global posix.system'``), or
        ``None`` if the message names none; and the message without torch's
        boilerplate, as one line.
    """
    text = str(err)
    if 'WeightsUnpickler error:' in text:
        text = text.split('WeightsUnpickler error:', 1)[1]
    lines = [ln for ln in text.splitlines()
             if ln.strip() and not ln.strip().startswith(_BOILERPLATE)]
    reason = one_line(' '.join(lines)) or one_line(text)
    for label, pattern in _REFUSAL_PATTERNS:
        m = pattern.search(reason)
        if m:
            return label + m.group(1).rstrip('.'), reason
    return None, reason


def _unreadable(path: str, what: str, reason: str) -> StadError:
    with open(path, 'rb') as f:
        head = f.read(len(_LFS_POINTER))
    hint = ': a Git LFS pointer, not the file (git lfs pull)' if head == _LFS_POINTER else ''
    return StadError(f'{path}: not a readable {what} checkpoint: truncated, damaged or not '
                     f'written by torch.save ({reason}){hint}')


def read_checkpoint(path: str, what: str = 'model') -> dict:
    """Load the checkpoint ``path`` with ``torch.load(weights_only=True)`` on the CPU.

    Args:
        path: a ``.pth`` written by ``torch.save`` (mmengine's Runner, or by hand).
        what: the model it should be for (``'action model'``, ``'detector'``), in errors.

    Returns:
        the checkpoint dict; ``['state_dict']`` is a mapping of weight name -> tensor.

    Raises:
        StadError: one line naming ``path``: missing, truncated or not a ``torch.save``
            file, refused by the safe loader, or not a dict with ``state_dict``.
    """
    import torch

    from stad.compat import allow_mmengine_checkpoints
    # `import stad` applied it already; again in case someone cleared torch's
    # (process-global) safe globals since
    allow_mmengine_checkpoints()
    if not os.path.isfile(path):
        raise StadError(f'{path}: {what} checkpoint not found')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        name, reason = weights_only_refusal(e)
        if name is not None:
            raise StadError(
                f'{path}: refused to load the {what} checkpoint: it names {name}, which '
                'torch.load(weights_only=True) does not allow (a checkpoint holds tensors '
                'and plain containers; this file is crafted or was not written by '
                'training)') from None
        if reason.startswith('refused'):  # stad.compat.history_buffer_getattr said no
            raise StadError(f'{path}: refused to load the {what} checkpoint ({reason})') \
                from None
        raise _unreadable(path, what, reason) from None
    except Exception as e:  # zip errors (truncated), a text file, an empty file, ...
        raise _unreadable(path, what, f'{type(e).__name__}: {one_line(e) or "no data"}') \
            from None
    if not isinstance(ckpt, Mapping) or not isinstance(ckpt.get('state_dict'), Mapping):
        got = (f'a dict without state_dict (keys: {", ".join(map(str, list(ckpt)[:5]))})'
               if isinstance(ckpt, Mapping) else f'a {type(ckpt).__name__}')
        raise StadError(f'{path}: not a usable {what} checkpoint: it holds {got}, not a dict with '
                        'state_dict')
    return dict(ckpt)


def _guess_kind(keys) -> str | None:
    for prefix, kind in _KIND_HINTS:
        if any(k.startswith(prefix) for k in keys):
            return kind
    return None


def _shape(t) -> str:
    return 'x'.join(map(str, getattr(t, 'shape', ()))) or 'scalar'


def load_weights(model: Any, path: str, what: str = 'model', ckpt: dict | None = None) -> dict:
    """Load the checkpoint ``path`` into ``model`` strictly (every weight, same shapes).

    Args:
        model: a ``torch.nn.Module``; its weights are replaced in place.
        path: the checkpoint (:func:`read_checkpoint`).
        what: the model's role (``'action model'``, ``'detector'``), in errors.
        ckpt: ``read_checkpoint(path)`` if the caller has read it already.

    Returns:
        the checkpoint dict (its ``meta`` holds e.g. ``dataset_meta``).

    Raises:
        StadError: :func:`read_checkpoint`'s errors, or one line such as
            ``x.pth: not a checkpoint of this action model (12 weights missing, e.g.
            'backbone.conv1.weight'; 30 unexpected, e.g. 'rpn_head.rpn_cls.bias'): a
            detector checkpoint?``.
    """
    import torch
    ckpt = ckpt if ckpt is not None else read_checkpoint(path, what)
    state = {(k[len(_DDP_PREFIX):] if k.startswith(_DDP_PREFIX) else k): v
             for k, v in ckpt['state_dict'].items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    reshaped = [k for k in own if k in state and (
        not isinstance(state[k], torch.Tensor) or state[k].shape != own[k].shape)]
    if missing or unexpected or reshaped:
        parts = []
        if missing:
            parts.append(f'{len(missing)} weights missing, e.g. {missing[0]!r}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected, e.g. {unexpected[0]!r}')
        if reshaped:
            k = reshaped[0]
            parts.append(f'{len(reshaped)} of another shape, e.g. {k!r} (checkpoint '
                         f'{_shape(state[k])}, model {_shape(own[k])})')
        kind = _guess_kind(state)
        if kind is not None and kind != _guess_kind(own):
            hint = f': {"an" if kind[0] in "aeiou" else "a"} {kind} checkpoint?'
        elif reshaped and not missing and not unexpected:
            hint = ': trained with another config (number of classes, channels)?'
        else:
            hint = ''
        raise StadError(f'{path}: not a checkpoint of this {what} ({"; ".join(parts)}){hint}')
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:  # names and shapes matched: e.g. a dtype torch cannot copy
        raise StadError(f'{path}: cannot load into this {what}: {one_line(e)}') from None
    return ckpt
