"""The runtime detector's numpy pre- and post-processing (stad.apis.detect_numpy) against
mmdet's own, on the same inputs: what a user of ``--backend onnxruntime/openvino`` gets
must be the boxes eager PyTorch gives."""
import copy
import os

import numpy as np
import pytest
import torch

from stad.apis import detect_numpy as dn
from stad.errors import StadError
from stad.tasks.run import SYNTH_DET_CONFIG

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DET_CONFIG = os.path.join(ROOT, SYNTH_DET_CONFIG)


@pytest.fixture(scope='module')
def model():
    import warnings

    from mmdet.apis import init_detector

    from stad.apis.detect import FrameDetector
    from stad.io.config import read_config
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        m = init_detector(read_config(DET_CONFIG, 'detector config'), None, device='cpu')
    m.dataset_meta = dict(classes=('person',))
    return FrameDetector(m, score_thr=0.0, max_per_frame=100)


def _runtime_side(cfg):
    """A RuntimeDetector's numpy half (no sessions) for ``cfg``, with the graph facts the
    export's manifest would give."""
    m = cfg['model']
    meta = dict(levels=len(m['rpn_head']['anchor_generator']['strides']),
                roi_levels=len(m['roi_head']['bbox_roi_extractor']['featmap_strides']))
    rt = dn.RuntimeDetector.__new__(dn.RuntimeDetector)
    rt._setup(cfg, meta, 'test config')
    return rt


def test_anchors_are_mmdets():
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    for gen in (dict(strides=[8, 16, 32, 64], ratios=[1.0, 2.0, 3.0], scales=[6]),
                dict(strides=[4, 8], ratios=[0.5, 1.0, 2.0], scales=[8], center_offset=0.5),
                dict(strides=[(8, 6), 16], ratios=[0.5, 1.0], octave_base_scale=4,
                     scales_per_octave=3, scale_major=False),
                dict(strides=[8], ratios=[1.0], scales=[2, 4], base_sizes=[10])):
        ref = AnchorGenerator(**gen)
        base, strides = dn.base_anchors(gen)
        sizes = [(5, 7), (3, 2)][:len(base)] + [(2, 2)] * max(0, len(base) - 2)
        theirs = ref.grid_priors(sizes, dtype=torch.float32, device='cpu')
        for lvl, (h, w) in enumerate(sizes):
            ours = dn.grid_anchors(base[lvl], strides[lvl], h, w)
            np.testing.assert_allclose(ours, theirs[lvl].numpy(), atol=1e-5)
            rows = np.array([len(ours) - 1, 0, 3, 3])  # the RPN's top-k rows, any order
            assert np.array_equal(dn.grid_anchors(base[lvl], strides[lvl], h, w, rows=rows),
                                  ours[rows])


def test_delta_decoding_is_mmdets():
    from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
    rng = np.random.default_rng(0)
    xy = rng.uniform(-10, 200, (500, 2))
    rois = np.concatenate([xy, xy + rng.uniform(0.5, 90, (500, 2))], 1).astype(np.float32)
    deltas = rng.normal(0, 2, (500, 4)).astype(np.float32)  # some beyond the wh clip
    for means, stds, shape in (((0, 0, 0, 0), (1, 1, 1, 1), (120, 160)),
                               ((0.1, 0, -0.1, 0), (0.1, 0.1, 0.2, 0.2), (240, 320))):
        ref = delta2bbox(torch.from_numpy(rois), torch.from_numpy(deltas), means, stds,
                         max_shape=shape).numpy()
        np.testing.assert_allclose(dn.delta2bbox(rois, deltas, means, stds, shape), ref,
                                   atol=1e-4)


def test_nms_keeps_what_mmcv_keeps():
    from mmcv.ops import batched_nms, nms
    rng = np.random.RandomState(0)
    for trial in range(150):
        n = rng.randint(1, 300)
        xy = rng.uniform(0, 300, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(1, 80, (n, 2))], 1).astype(np.float32)
        boxes[n // 2:] = boxes[:n - n // 2] + rng.normal(0, 2, (n - n // 2, 4))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 0.5)
        if trial % 5 == 0:  # zero-area boxes: mmcv never suppresses them
            boxes[:3, 2] = boxes[:3, 0]
        scores = rng.uniform(0.01, 1, n).astype(np.float32)
        groups = rng.randint(0, 3, n)
        thr = float(rng.choice([0.3, 0.5, 0.7]))
        _, keep = nms(torch.from_numpy(boxes), torch.from_numpy(scores), thr)
        np.testing.assert_array_equal(dn.nms(boxes, scores, thr), keep.numpy())
        for max_keep in (1, 5, 40):  # the first keeps, from a part of the boxes or all
            np.testing.assert_array_equal(dn.nms(boxes, scores, thr, max_keep),
                                          keep.numpy()[:max_keep])
        _, keep = batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores),
                              torch.from_numpy(groups), dict(type='nms', iou_threshold=thr))
        ours = dn.batched_nms(boxes, scores, groups, thr)
        assert sorted(ours.tolist()) == sorted(keep.numpy().tolist())
        np.testing.assert_array_equal(scores[ours], scores[keep.numpy()])


def test_preprocessing_is_mmdets(model):
    """Resize + normalise + pad as the test pipeline and DetDataPreprocessor do."""
    from stad.apis.runtime import _det_inputs
    rt = _runtime_side(model.model.cfg)
    rng = np.random.default_rng(1)
    for sizes in ([(240, 320)] * 2, [(480, 640)] * 2, [(100, 75)] * 2, [(333, 500)] * 2,
                  [(240, 320), (480, 640), (100, 75)]):  # one batch, padded to the largest
        frames = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for size in sizes]
        inputs, samples = _det_inputs(model, frames)
        ours, shapes, scales = rt.preprocess(frames)
        assert ours.shape == tuple(inputs.shape)
        np.testing.assert_allclose(ours, inputs.numpy(), atol=1e-5)
        assert shapes == [s.metainfo['img_shape'] for s in samples]
        np.testing.assert_allclose(scales, [s.metainfo['scale_factor'] for s in samples])


def _rows(boxes):
    """Boxes in a fixed row order (ties in score may come in either order)."""
    return boxes[np.lexsort(np.round(boxes, 2).T[::-1])]


def test_post_processing_is_mmdets(model):
    """RPN proposals and final boxes from the same head outputs (random weights, random
    frames: many boxes, NMS busy)."""
    from mmdet.structures.bbox import bbox2roi

    from stad.apis.runtime import _det_inputs
    m = model.model
    test_cfg = copy.deepcopy(m.cfg)
    test_cfg.model.test_cfg.rcnn.score_thr = 0.0  # keep many boxes for the comparison
    m.roi_head.test_cfg.score_thr = 0.0
    rt = _runtime_side(test_cfg)
    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(3)]
    inputs, samples = _det_inputs(model, frames)
    metas = [s.metainfo for s in samples]
    with torch.no_grad():
        feats = m.extract_feat(inputs)
        cls, reg = m.rpn_head(feats)
        # scale the random maps so that scores spread and NMS has work (not so much that
        # sigmoids saturate to 1.0: torch orders tied scores arbitrarily, run to run)
        cls = [c * 5 for c in cls]
        ref = m.rpn_head.predict_by_feat(cls, reg, batch_img_metas=metas, rescale=False)
        rois = bbox2roi([r.bboxes for r in ref])
        res = m.roi_head._bbox_forward(feats, rois)
        cls_score, bbox_pred = res['cls_score'] * 10, res['bbox_pred']
        per = tuple(len(r) for r in ref)
        final = m.roi_head.bbox_head.predict_by_feat(
            rois=rois.split(per), cls_scores=cls_score.split(per),
            bbox_preds=bbox_pred.split(per), batch_img_metas=metas,
            rcnn_test_cfg=m.roi_head.test_cfg, rescale=True)
    np_cls, np_reg = [c.numpy() for c in cls], [r.numpy() for r in reg]
    start = 0
    for i, meta in enumerate(metas):
        props = rt._proposals(np_cls, np_reg, i, meta['img_shape'])
        assert len(props) == len(ref[i]) > 20
        np.testing.assert_allclose(_rows(props), _rows(ref[i].bboxes.numpy()), atol=1e-3)
        k = per[i]
        boxes, scores, labels = rt._boxes(rois[start:start + k, 1:].numpy(),
                                          cls_score[start:start + k].numpy(),
                                          bbox_pred[start:start + k].numpy(),
                                          meta['img_shape'], meta['scale_factor'])
        start += k
        assert len(boxes) == len(final[i].bboxes) > 5
        np.testing.assert_allclose(boxes, final[i].bboxes.numpy(), atol=1e-3)
        np.testing.assert_allclose(scores, final[i].scores.numpy(), atol=1e-6)
        np.testing.assert_array_equal(labels, final[i].labels.numpy())


def test_unsupported_detectors_are_refused(model):
    cfg = copy.deepcopy(model.model.cfg)
    cfg.model.rpn_head.anchor_generator.type = 'SSDAnchorGenerator'
    with pytest.raises(StadError, match='anchor_generator type .SSDAnchorGenerator.*--backend torch'):
        _runtime_side(cfg)
    cfg = copy.deepcopy(model.model.cfg)
    cfg.model.test_cfg.rcnn.nms = dict(type='soft_nms', iou_threshold=0.5)
    with pytest.raises(StadError, match="NMS type 'soft_nms'"):
        _runtime_side(cfg)
    cfg = copy.deepcopy(model.model.cfg)
    cfg.model.roi_head.bbox_head = [cfg.model.roi_head.bbox_head] * 3  # Cascade R-CNN
    with pytest.raises(StadError, match='not a two-stage detector with one box head'):
        _runtime_side(cfg)
    for change, match in (
            (lambda c: c.test_dataloader.dataset.pipeline.insert(
                2, dict(type='Pad', size_divisor=64)), "test pipeline step 'Pad'"),
            (lambda c: c.model.data_preprocessor.update(pad_value=114),
             'model.data_preprocessor .*zero padding only'),
            (lambda c: c.model.test_cfg.rpn.pop('max_per_img'),
             "model.test_cfg.rpn has no 'max_per_img'")):
        cfg = copy.deepcopy(model.model.cfg)
        change(cfg)
        with pytest.raises(StadError, match=f'^test config: {match}'):
            _runtime_side(cfg)


def test_rpn_score_kind_follows_mmdet(model):
    """mmdet's AnchorHead: sigmoid scores unless loss_cls is given without
    use_sigmoid (then softmax over 2 channels per anchor)."""
    cfg = copy.deepcopy(model.model.cfg)
    assert _runtime_side(cfg).rpn_sigmoid is True  # the synthetic config: use_sigmoid
    cfg.model.rpn_head.loss_cls = dict(type='CrossEntropyLoss', loss_weight=1.0)
    assert _runtime_side(cfg).rpn_sigmoid is False
    del cfg.model.rpn_head['loss_cls']
    assert _runtime_side(cfg).rpn_sigmoid is True


def test_top_k_is_a_stable_sort_cut():
    rng = np.random.default_rng(3)
    for n, k in ((50, 10), (300, 300), (1000, 300), (7, 9)):
        s = rng.integers(0, 6, n).astype(np.float32)  # many ties
        np.testing.assert_array_equal(dn.top_k(s, k), np.argsort(-s, kind='stable')[:k])
