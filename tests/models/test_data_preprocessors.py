"""The channels-last preprocessor gives mmaction2's batch, values unchanged, in the memory
format the CPU convolutions run fastest in, and the model's output does not change."""
import torch

from stad.models import ChannelsLastActionDataPreprocessor

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def _batch(shape):
    from mmaction.structures import ActionDataSample
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, shape, generator=g, dtype=torch.uint8) for _ in range(2)]
    return dict(inputs=inputs, data_samples=[ActionDataSample() for _ in inputs])


def _both(format_shape):
    from mmaction.models.data_preprocessors import ActionDataPreprocessor
    kw = dict(mean=MEAN, std=STD, format_shape=format_shape)
    return ActionDataPreprocessor(**kw), ChannelsLastActionDataPreprocessor(**kw)


def test_clips_same_values_channels_last_3d():
    ref_pp, ours_pp = _both('NCTHW')
    ref = ref_pp(_batch((3, 4, 16, 20)))['inputs']
    ours = ours_pp(_batch((3, 4, 16, 20)))['inputs']
    assert ours.shape == ref.shape == (2, 3, 4, 16, 20)
    assert ours.is_contiguous(memory_format=torch.channels_last_3d)
    assert torch.equal(ours, ref)


def test_images_same_values_channels_last():
    ref_pp, ours_pp = _both('NCHW')
    ref = ref_pp(_batch((3, 16, 20)))['inputs']
    ours = ours_pp(_batch((3, 16, 20)))['inputs']
    assert ours.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(ours, ref)


def test_slowonly_features_unchanged():
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from stad.tasks.run import SYNTH_ACTION_CONFIG
    init_default_scope('mmaction')
    torch.manual_seed(0)
    net = MODELS.build(Config.fromfile(SYNTH_ACTION_CONFIG).model.backbone)
    net.eval()  # ResNet3d.train() returns None, so no chaining
    x = torch.randn(2, 3, 4, 32, 40)
    with torch.no_grad():
        ref = net(x)
        ours = net(x.contiguous(memory_format=torch.channels_last_3d))
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
