"""``stad export onnx``: the person detector and the action model to ONNX, checked.

Loads both models as ``stad demo`` does, exports them with
:func:`stad.apis.runtime.export_onnx` into a temp folder that replaces ``out`` only when
the parity check passed (ONNX Runtime and OpenVINO f32 vs eager PyTorch: boxes within
1 px, action probabilities within 1e-4), so ``out`` holds a checked export or nothing.
"""
from __future__ import annotations

from typing import Callable, Mapping

from stad.apis.runtime import FILES, MANIFEST, export_onnx
from stad.io.atomic import atomic_folder
from stad.tasks.demo import load_models


def run_export_onnx(out: str, *, det_config: str, det_checkpoint: str, config: str,
                    checkpoint: str, video: str | None = None,
                    cfg_options: Mapping | None = None, overwrite: bool = False,
                    log: Callable = print) -> dict:
    """Export to ``out`` (``detector_features.onnx``, ``detector_roi_head.onnx``,
    ``action.onnx``, ``stad_export.json``); ``video``: frames for the parity check
    (default: a synthetic video). Returns the manifest.

    Raises:
        StadError: missing or mismatched files, ``out`` not empty (without
            ``overwrite``), or a failed parity check (nothing written then).
    """
    with atomic_folder(out, overwrite=overwrite) as tmp:
        detector, am = load_models(det_config, det_checkpoint, config, checkpoint,
                                   cfg_options=cfg_options)
        meta = export_onnx(detector, am, tmp, video=video, log=log)
    log(f'wrote {out}: ' + ', '.join([*FILES.values(), MANIFEST]))
    return meta
