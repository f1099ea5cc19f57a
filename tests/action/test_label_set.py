"""An action config's classes come from the dataset's label set, and Create ML's
prediction window (seconds x frame rate) sets its clip sampling."""
import pytest

from stad.errors import StadError
from stad.tasks.run import SYNTH_ACTION_CONFIG
from stad.tasks.train import clip_window, load_config


def test_a_seven_class_label_set_needs_no_config_edit():
    names = ['run', 'jump', 'sit', 'stand', 'wave', 'clap', 'negative']
    cfg = load_config(SYNTH_ACTION_CONFIG, labels=names)
    head = cfg.model.roi_head.bbox_head
    assert head.num_classes == 7 and tuple(head.topk) == (1, 2)
    assert cfg.class_names == names
    for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[dl].dataset.num_classes == 7
    two = load_config(SYNTH_ACTION_CONFIG, labels=['a', 'b']).model.roi_head.bbox_head
    assert tuple(two.topk) == (1,)  # BBoxHeadAVA asserts every k < num_classes
    with pytest.raises(StadError, match=r'at least 2 classes, the label set has 1'):
        load_config(SYNTH_ACTION_CONFIG, labels=['only'])


@pytest.mark.parametrize('seconds, fps, clip_len, interval, span', [
    (1.0, 25, 4, 8, 25), (1.0, 30, 4, 10, 31), (0.5, 25, 4, 4, 13), (2.0, 30, 8, 8, 57),
    (0.1, 25, 4, 1, 4)])
def test_window_seconds_at_the_frame_rate_give_the_frame_interval(seconds, fps, clip_len,
                                                                    interval, span):
    got, text = clip_window(seconds, fps, clip_len)
    assert got == interval
    assert f'clip_len {clip_len} x frame_interval {interval}: a clip spans {span} frames' in text


def test_window_is_set_in_every_pipeline_and_printed():
    said = []
    cfg = load_config(SYNTH_ACTION_CONFIG, window_seconds=1.0, fps=25, say=said.append)
    for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        sample = [t for t in cfg[dl].dataset.pipeline if t['type'] == 'SampleAVAFrames']
        assert sample[0]['frame_interval'] == 8 and sample[0]['clip_len'] == 4
    assert said == ['prediction window: window 1 s x 25 fps = 25 frames -> clip_len 4 x '
                    'frame_interval 8: a clip spans 25 frames (1.00 s)']
    with pytest.raises(StadError, match='needs the videos'):
        load_config(SYNTH_ACTION_CONFIG, window_seconds=1.0)


def test_class_names_recorded_in_a_checkpoint_are_read_without_running_its_config():
    from stad.io.config import recorded_class_names
    cfg_text = ("model = dict(type='FastRCNN')\nclass_names = [\n    'run',\n    'jump',\n]\n"
                "x = __import__('os').system('echo pwned')\n")
    assert recorded_class_names({'meta': {'cfg': cfg_text}}) == ['run', 'jump']
    assert recorded_class_names({'meta': {'cfg': "class_names = names_from_elsewhere()"}}) \
        is None
    assert recorded_class_names({'meta': {}}) is None and recorded_class_names({}) is None
