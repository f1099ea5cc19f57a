"""Data preprocessors for configs (``type='stad.X'``)."""
from __future__ import annotations

import torch
from mmaction.models.data_preprocessors import ActionDataPreprocessor

from stad.registry import MODELS


@MODELS.register_module()
class ChannelsLastActionDataPreprocessor(ActionDataPreprocessor):
    """mmaction2's ``ActionDataPreprocessor`` whose batch leaves in channels-last memory
    format (``NTHWC`` strides for ``NCTHW`` clips, ``NHWC`` for images).

    On CPU, oneDNN convolutions run natively in channels-last: with the input in that
    format every convolution of the network stays in it, without the reorders the default
    layout costs. The values are unchanged; only the strides differ. Measured on the
    synthetic SlowOnly config (2 CPU cores): ``tools/benchmarks/bench_action_train.py``.
    """

    def forward_onesample(self, data: dict, training: bool = False) -> dict:
        out = super().forward_onesample(data, training)
        inputs = out['inputs']
        if isinstance(inputs, torch.Tensor) and inputs.dim() in (4, 5):
            fmt = torch.channels_last_3d if inputs.dim() == 5 else torch.channels_last
            out['inputs'] = inputs.contiguous(memory_format=fmt)
        return out
