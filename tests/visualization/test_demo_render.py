"""Rendering of demo results: box colours per track, interpolation, mp4 writing."""
import numpy as np
import pytest

from stad.apis.video import KeyframeResult
from stad.io.video import write_mp4
from stad.visualization.draw import _PALETTE
from stad.visualization.render import annotate_frames, caption, frame_boxes, render_frame


def _result(index, boxes, ids, actions=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return KeyframeResult(frame_index=index, boxes=boxes, det_scores=np.ones(len(boxes)),
                          track_ids=np.asarray(ids, np.int64),
                          actions=actions or tuple(() for _ in ids))


def test_render_draws_the_track_colour_on_the_box_edge():
    frame = np.zeros((64, 80, 3), np.uint8)
    out = render_frame(frame, np.array([[10, 20, 50, 60]]), [1], ['#1 wave 0.90'], thickness=2)
    assert frame.max() == 0  # input untouched
    rgb = tuple(int(c) for c in _PALETTE[1][::-1])  # palette is BGR
    assert tuple(out[40, 10]) == rgb  # left edge, half way down
    assert tuple(out[59, 30]) == rgb or tuple(out[60, 30]) == rgb  # bottom edge
    assert out[40, 30].max() == 0  # inside the box: untouched
    # the caption is drawn on a filled label of the same colour above/at the box top
    assert (out[:25, 10:60] == rgb).all(-1).sum() > 50
    # another track gets another colour
    other = render_frame(frame, np.array([[10, 20, 50, 60]]), [2], ['#2'])
    assert tuple(other[40, 10]) != rgb


def test_caption_lists_top_actions():
    assert caption(3, [('wave', 0.82), ('walk', 0.413)]) == '#3 wave 0.82, walk 0.41'
    assert caption(7, ()) == '#7'


def test_boxes_between_keyframes_are_interpolated_per_track():
    results = [_result(10, [[0, 0, 10, 10], [50, 50, 60, 60]], [1, 2]),
               _result(20, [[10, 0, 20, 10]], [1])]
    boxes, ids, kp, rows = frame_boxes(results, 15)
    assert ids.tolist() == [1, 2] and kp is results[0]
    assert np.allclose(boxes[0], [5, 0, 15, 10])  # halfway between its two keyframes
    assert np.allclose(boxes[1], [50, 50, 60, 60])  # not on the next keyframe: held
    assert np.allclose(frame_boxes(results, 0)[0], results[0].boxes)  # before the first
    assert np.allclose(frame_boxes(results, 99)[0], results[1].boxes)  # after the last
    assert frame_boxes([], 3)[0].shape == (0, 4)


def test_write_mp4_streams_frames_and_reads_back(tmp_path):
    decord = pytest.importorskip('decord')
    made = []

    def frames():
        for i in range(9):
            f = np.full((25, 33, 3), 20 * i, np.uint8)  # odd size: padded to even
            made.append(i)
            yield f

    out = str(tmp_path / 'v.mp4')
    n = write_mp4(frames(), out, fps=5, size=(33, 25))
    assert n == 9 and made == list(range(9))
    vr = decord.VideoReader(out)
    assert len(vr) == 9 and vr[0].shape == (26, 34, 3)
    assert abs(int(vr[8].asnumpy()[10, 10, 0]) - 160) < 8
    assert [p.name for p in tmp_path.iterdir()] == ['v.mp4']  # no temp file left


def test_write_mp4_failure_leaves_no_file(tmp_path):
    def frames():
        yield np.zeros((8, 8, 3), np.uint8)
        raise RuntimeError('boom')

    with pytest.raises(RuntimeError):
        write_mp4(frames(), str(tmp_path / 'v.mp4'), fps=5, size=(8, 8))
    assert list(tmp_path.iterdir()) == []


def test_annotate_frames_uses_keyframe_captions():
    results = [_result(0, [[2, 2, 20, 20]], [1], actions=((('wave', 0.9),),))]
    frames = [(i, np.zeros((32, 32, 3), np.uint8)) for i in range(3)]
    outs = list(annotate_frames(iter(frames), results))
    assert len(outs) == 3 and all(o.max() > 0 for o in outs)


def test_caption_of_a_box_at_the_right_edge_stays_inside_the_frame():
    """A person at the right edge: the caption is moved left, all of it visible."""
    import cv2
    img = np.zeros((60, 120, 3), np.uint8)
    text = '#7 jumping jack 0.93'
    (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
    from stad.visualization.draw import draw_boxes
    out = draw_boxes(img, np.array([[100, 20, 119, 59]]), texts=[text], colours=[0])
    caption_rows = out[:20]
    cols = np.flatnonzero(caption_rows.any(axis=(0, 2)))
    assert cols.min() == 120 - tw and cols.max() == 119  # the whole caption, flush right
