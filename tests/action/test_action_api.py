"""stad.apis.action: batched inference equals mmaction2's own val step."""
import numpy as np
import pytest
from action_helpers import CPU_CONFIG, tiny_cfg_options

from stad.errors import StadError


@pytest.fixture(scope='module')
def action_model(action_data):
    import torch

    from stad.apis.action import load_action_model
    root, proposals = action_data
    torch.manual_seed(0)
    # flip_test off: mmaction2's test_step (compared with below) does not flip
    am = load_action_model(CPU_CONFIG, None, cfg_options=tiny_cfg_options(root, proposals),
                           flip_test=False)
    # random weights give near-uniform softmax; spread the logits so a mismatch shows
    with torch.no_grad():
        am.model.roi_head.bbox_head.fc_cls.weight.mul_(20)
    return am


def _val_dataset(am):
    from mmaction.registry import DATASETS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmaction'):
        return DATASETS.build(am.cfg.val_dataloader.dataset)


def test_batched_scores_equal_mmaction_test_step(action_model, action_data):
    import decord
    import torch
    from mmengine.dataset import pseudo_collate

    from stad.apis.action import predict_keyframes
    from stad.io.layout import DataLayout, parse_img_key
    am = action_model
    ds = _val_dataset(am)
    picks = [0, len(ds) // 2, len(ds) - 1]  # first/last keyframes: clips clamped at the ends
    expected, keyframes, boxes, videos = [], [], [], set()
    for i in picks:
        info = ds.get_data_info(i)
        sample = ds[i]
        with torch.no_grad():  # as mmengine's ValLoop
            out = am.model.test_step(pseudo_collate([sample]))[0]
        expected.append(out.pred_instances.scores.numpy())
        video, frame = parse_img_key(info['img_key'])
        videos.add(video)
        keyframes.append(frame)
        boxes.append(info['proposals'])  # normalised, after the score threshold
    assert len(videos) == 1, 'the tiny val split is one video'
    reader = decord.VideoReader(DataLayout(action_data[0]).video_path(videos.pop()))
    got = predict_keyframes(am, reader, keyframes, boxes, batch_size=3)
    for e, g in zip(expected, got):
        assert g.shape == e.shape == (len(e), 4)
        np.testing.assert_allclose(g, e, atol=1e-4)
        assert np.allclose(g.sum(1), 1, atol=1e-5)  # single-label head: softmax
    # decoded array input and batch size 1 give the same scores
    frames = reader.get_batch(list(range(len(reader)))).asnumpy()
    got1 = predict_keyframes(am, frames, keyframes, boxes, batch_size=1)
    for e, g in zip(expected, got1):
        np.testing.assert_allclose(g, e, atol=1e-4)


def test_shapes_pixels_and_empty(action_model):
    from stad.apis.action import predict_keyframes
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (30, 120, 160, 3), dtype=np.uint8)
    norm = [np.array([[0.1, 0.2, 0.4, 0.9]]), np.zeros((0, 4)),
            np.array([[0.1, 0.2, 0.4, 0.9, 0.7], [0.5, 0.1, 0.9, 0.8, 0.9]])]
    out = predict_keyframes(action_model, frames, [1, 15, 30], norm)
    assert [o.shape for o in out] == [(1, 4), (0, 4), (2, 4)]
    pix = [b[:, :4] * np.array([160, 120, 160, 120]) for b in norm]
    out_px = predict_keyframes(action_model, frames, [1, 15, 30], pix, normalized=False)
    for a, b in zip(out, out_px):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_flip_test_averages_the_mirrored_clip(action_model):
    import dataclasses

    from stad.apis.action import load_action_model, predict_keyframes
    assert load_action_model(CPU_CONFIG).flip_test  # the synthetic config turns it on
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 255, (30, 120, 160, 3), dtype=np.uint8)
    boxes = [np.array([[0.1, 0.2, 0.4, 0.9], [0.5, 0.1, 0.7, 0.8]]), np.array([[0., 0., 1., 1.]])]
    mirrored = [np.stack([1 - b[:, 2], b[:, 1], 1 - b[:, 0], b[:, 3]], 1) for b in boxes]
    plain = predict_keyframes(action_model, frames, [10, 20], boxes)
    flipped = predict_keyframes(action_model, frames[:, :, ::-1], [10, 20], mirrored)
    tta = predict_keyframes(dataclasses.replace(action_model, flip_test=True), frames,
                            [10, 20], boxes)
    for p, f, t in zip(plain, flipped, tta):
        # the mirror view is a different view (log: the fixture's softmax is peaked)
        assert not np.allclose(np.log(p), np.log(f), atol=0.5)
        np.testing.assert_allclose(t, (p + f) / 2, rtol=1e-3, atol=1e-7)


def test_short_video_and_bad_input_raise(action_model):
    from stad.apis.action import predict_keyframes
    am = action_model
    short = np.zeros((am.clip_window - 1, 120, 160, 3), dtype=np.uint8)
    box = [np.array([[0.1, 0.1, 0.5, 0.9]])]
    w = am.clip_window  # (clip_len - 1) * frame_interval + 1 of the CPU config
    with pytest.raises(StadError, match=rf'v1: {w - 1} frames, shorter than .* clip window of {w}'):
        predict_keyframes(am, short, [5], box, video='v1')
    ok = np.zeros((40, 120, 160, 3), dtype=np.uint8)
    with pytest.raises(StadError, match='keyframe 41 outside the video'):
        predict_keyframes(am, ok, [41], box)
    with pytest.raises(StadError, match=r'normalized boxes must lie in \[0, 1\]'):
        predict_keyframes(am, ok, [5], [np.array([[10., 10., 50., 90.]])])


def test_predict_dataset_rows(action_model, action_data, tmp_path):
    from stad.data.gt import load_gt
    from stad.evaluation.functional.multisports import DET_COLUMNS, frame_ap
    from stad.io.layout import DataLayout
    from stad.tasks.predict import predict_dataset
    root, proposals = action_data
    dets = predict_dataset(action_model, root, split='val', proposal_file=proposals['val'],
                           progress=False)
    assert dets.shape[1] == len(DET_COLUMNS) == 8 and len(dets) > 0
    # default: every class of every box, scored P(person) x P(action | person)
    best = predict_dataset(action_model, root, split='val', proposal_file=proposals['val'],
                           all_classes=False, det_score=False, progress=False)
    assert len(dets) == 4 * len(best)
    boxes = np.unique(dets[:, [0, 1, 4, 5, 6, 7]], axis=0)
    assert len(boxes) == len(best)
    for row in best[:5]:
        same = (dets[:, [0, 1, 4, 5, 6, 7]] == row[[0, 1, 4, 5, 6, 7]]).all(1)
        probs = dets[same, 3]
        # ranks of the classes are unchanged by the detector score factor
        assert dets[same][np.argmax(probs), 2] == row[2] and probs.max() <= row[3] + 1e-6
    gt = load_gt(DataLayout(root).gt_file)
    assert set(dets[:, 0].astype(int)) <= set(range(len(gt['test_videos'][0])))
    assert set(dets[:, 2].astype(int)) <= set(range(4))
    assert ((dets[:, 3] > 0) & (dets[:, 3] <= 1)).all()
    h, w = gt['resolution'][gt['test_videos'][0][0]]
    assert dets[:, 4:].max() <= max(h, w) + 1
    res = frame_ap(gt, dets, 0.5)[0.5]
    assert 0 <= res.mean_ap <= 1


def test_stad_predict_writes_what_stad_eval_reads(action_model, action_data, tmp_path, capsys):
    """`stad predict` (checkpoint + proposals -> detections file) then `stad eval` on it:
    the same detections as predict_dataset, scored without a hand-written step."""
    import torch

    from stad.apis.action import load_action_model
    from stad.cli import main
    from stad.data.gt import load_gt
    from stad.io.detections import load_detections
    from stad.io.layout import DataLayout
    from stad.tasks.predict import predict_dataset
    root, proposals = action_data
    ckpt = str(tmp_path / 'action.pth')
    torch.save({'state_dict': action_model.model.state_dict(), 'meta': {}}, ckpt)
    out = str(tmp_path / 'dets.pkl')
    assert main(['predict', '--config', CPU_CONFIG, '--checkpoint', ckpt, '--data-root', root,
                 '--proposals', proposals['val'], '--out', out, '--quiet']) == 0
    gt = load_gt(DataLayout(root).gt_file)
    written = load_detections(out, gt)
    am = load_action_model(CPU_CONFIG, ckpt)  # what stad predict loads
    expected = predict_dataset(am, root, split='val', proposal_file=proposals['val'],
                               frames='all_frames', progress=False)
    np.testing.assert_allclose(written, expected, rtol=1e-5, atol=1e-6)
    assert capsys.readouterr().out.strip() == f'{out}: {len(written)} detections'
    assert main(['eval', '--gt', DataLayout(root).gt_file, '--dets', out]) == 0
    assert 'frameAP@0.5' in capsys.readouterr().out
