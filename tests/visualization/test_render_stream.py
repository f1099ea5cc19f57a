"""`stad demo` renders while it predicts (stad.visualization.render.stream_annotated): every
frame must be the frame the finished prediction gives (annotate_frames), tracks that end
included, and frames must come out before the prediction ends. Random models (the
detector's threshold 0: many short tracks), so this checks the flow, not accuracy."""
import os
import threading
import time

import numpy as np
import pytest

from stad.apis.video import DemoOptions, PartialResults, predict_video
from stad.errors import StadError
from stad.io.video import VideoFrames
from stad.tasks.run import SYNTH_ACTION_CONFIG, SYNTH_DET_CONFIG
from stad.visualization.render import annotate_frames, stream_annotated

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    from stad.data.synth import VideoPlan, render_video, write_video
    frames, _ = render_video(VideoPlan('gym', 5, 96, 72, 44, (0, 1, 2)))
    path = str(tmp_path_factory.mktemp('stream') / 'v.mp4')
    write_video(path, frames, 10.0)
    return path


# a track lost for 3 updates ends (track_buffer): frames whose tracks end are drawn then
@pytest.mark.parametrize('track_stride,window', [(1, 3), (2, 5), (4, 1)])
def test_streamed_frames_are_the_finished_predictions(tiny_models, video, track_stride,
                                                      window):
    from stad.tasks.demo import load_models
    det_ckpt, act_ckpt = tiny_models
    opts = DemoOptions(det_score_thr=0.0, track_init_thr=0.0, action_score_thr=0.0,
                       track_stride=track_stride, keyframe_stride=4, label_window=window,
                       track_buffer=3, batch_size=2)
    detector, am = load_models(os.path.join(ROOT, SYNTH_DET_CONFIG), det_ckpt,
                               os.path.join(ROOT, SYNTH_ACTION_CONFIG), act_ckpt,
                               options=opts)
    labels = {i: str(i) for i in range(am.num_classes)}
    slow = detector

    def detect(frames):  # slower than the renderer: it must wait for what it draws
        time.sleep(0.02)
        return slow(frames)

    partial, out = PartialResults(), {}

    def predict():
        out['results'] = predict_video(VideoFrames(video), detect, am, label_map=labels,
                                       options=opts, progress=False, partial=partial)

    thread = threading.Thread(target=predict)
    thread.start()
    streamed, early = [], 0
    for frame in stream_annotated(VideoFrames(video).iter_frames(1), partial, labels,
                                  thr=opts.action_score_thr, topk=opts.topk, window=window):
        early += not partial.done
        streamed.append(frame)
    thread.join()
    results = out['results']
    assert len({int(t) for r in results for t in r.track_ids}) >= 3
    assert any(r.actions and any(r.actions) for r in results)
    finished = list(annotate_frames(VideoFrames(video).iter_frames(1), results))
    assert len(streamed) == len(finished) == 44
    assert all(np.array_equal(a, b) for a, b in zip(streamed, finished))
    assert early > 0  # drawn while the prediction still ran


def test_a_failed_prediction_stops_the_render(video):
    partial = PartialResults()
    frames = stream_annotated(VideoFrames(video).iter_frames(1), partial, {}, thr=0.0,
                              topk=3, window=3)
    partial.finish(RuntimeError('out of memory'))
    with pytest.raises(StadError, match='prediction failed .*out of memory'):
        next(frames)
