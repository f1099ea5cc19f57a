"""The person detector and the action model outside PyTorch: ONNX export and the ONNX
Runtime / OpenVINO sessions behind :class:`stad.apis.detect_numpy.RuntimeDetector`
(:func:`stad.apis.detect.make_detector`) and :func:`stad.apis.action.predict_keyframes`.

What goes to ONNX (``stad export onnx``, :func:`export_onnx`), three files and a
manifest in one folder:

* ``detector_features.onnx``: the Faster R-CNN's learned dense part, the normalised
  padded image batch (what mmdet's ``DetDataPreprocessor`` gives) -> the FPN features
  and the RPN's class and box maps per level;
* ``detector_roi_head.onnx``: FPN features + per feature level its RoIs ``(K_l, 5)``
  ``[image, x1, y1, x2, y2]`` in input pixels (mmdet's level rule applied outside) -> the
  box head's class scores and box deltas, rows in level order;
* ``action.onnx``: the action model, backbone + RoI extractor + head: the normalised clip
  ``(N, 3, T, H, W)`` + RoIs ``(K, 5)`` -> class probabilities ``(K, C)``;
* ``stad_export.json`` (and the same as ONNX ``metadata_props`` in each file): labels,
  clip sampling, input size, normalisation, the detector's test settings, stad version,
  and copies of both configs (the runtime rebuilds the pre- and post-processing from them).

Not in the graphs: anchor generation, box decoding and NMS (weightless, data-dependent
sizes). The runtime detector does them, and the resizing and normalisation, in numpy
(:mod:`stad.apis.detect_numpy`, a port of mmdet's, tested against it), so a runtime run
imports neither torch nor mmdet.

Why torchvision's ``roi_align``: mmcv's ``RoIAlign`` is an autograd Function over a C++
op whose ``symbolic`` only the legacy TorchScript exporter understands, and mmdeploy (the
project that rewrote mmcv ops for export) does not support torch 2.x.
``torchvision.ops.roi_align`` with ``aligned=True`` computes the same values (mmcv's own
``use_torchvision`` switch routes there; :func:`use_torchvision_roi_align`), exports with
both exporters (opset >= 16) and OpenVINO reads it. It is also faster in eager PyTorch, so
the eager models use it too. The export uses the TorchScript exporter (``dynamo=False``):
dynamic batch, box count and image size with ``dynamic_axes``, no ``torch.export`` shape
constraints to write per model.

Parity (:func:`check_parity`, after every export): on frames of a synthetic video (or the
user's), the runtime detector's final boxes (numpy pre- and post-processing, graphs on
ONNX Runtime or OpenVINO) must be within 1 px of eager PyTorch's and the action
probabilities within 1e-4; else :class:`StadError`.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from typing import Sequence

import numpy as np

from stad.errors import StadError

BACKENDS = ('auto', 'torch', 'onnxruntime', 'openvino')
#: ``'auto'``: each graph on the runtime measured fastest for it, pre- and post-processing
#: included (tools/benchmarks/bench_backends.py, 2026-12-01, 2 CPU cores, quiet machine;
#: docs/experiments.md). f32: the detector on 4 frames (numpy pre/post) eager 62.1 ms, ONNX
#: Runtime 50.4, OpenVINO f32 61.3 (its RoI head graph is slower: 11.6 vs 3.6 ms for 100
#: boxes; its features graph alone faster, 23.9 vs 29.0, but beside the RoI head on ONNX
#: Runtime the detector was not: 46.1 vs 44.9 ms, interleaved); predict_keyframes on 4
#: keyframes eager 93.6 ms, ONNX Runtime 126.1, OpenVINO f32 78.2. bf16 (OpenVINO only):
#: the action model (52.4 ms) and the detector's features graph (13.5 ms vs 29.0 on ONNX
#: Runtime; the detector 35.6 ms vs 45.7 with the RoI head on ONNX Runtime, interleaved).
FASTEST = {'f32': {'det_features': 'onnxruntime', 'det_roi': 'onnxruntime',
                   'action': 'openvino'},
           'bf16': {'det_features': 'openvino', 'det_roi': 'onnxruntime',
                    'action': 'openvino'}}
PRECISIONS = ('f32', 'bf16')
FILES = {'det_features': 'detector_features.onnx', 'det_roi': 'detector_roi_head.onnx',
         'action': 'action.onnx'}
MANIFEST = 'stad_export.json'
OPSET = 17
BOX_TOL_PX = 1.0
SCORE_TOL = 1e-4


def check_backend(backend: str, precision: str = 'f32') -> None:
    if backend not in BACKENDS:
        raise StadError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if precision not in PRECISIONS:
        raise StadError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != 'f32' and backend not in ('openvino', 'auto'):
        raise StadError(f'precision {precision} is an OpenVINO option (--backend openvino '
                        'or auto)')


def graph_backend(backend: str, graph: str, precision: str = 'f32') -> tuple[str, str]:
    """``(backend, precision)`` that ``graph`` (a key of :data:`FILES`) runs on:
    ``'auto'`` is :data:`FASTEST`'s; a precision other than f32 only on OpenVINO."""
    check_backend(backend, precision)
    b = FASTEST[precision][graph] if backend == 'auto' else backend
    return b, precision if b == 'openvino' else 'f32'


def use_torchvision_roi_align(model) -> int:
    """Route every mmcv ``RoIAlign`` of ``model`` (average pooling) to
    ``torchvision.ops.roi_align``, same values (module docstring); returns how many."""
    from mmcv.ops import RoIAlign
    n = 0
    for m in model.modules():
        if isinstance(m, RoIAlign) and m.pool_mode == 'avg':
            m.use_torchvision = True
            n += 1
    return n


# ------------------------------------------------------------------ export wrappers

def _wrappers():
    """The torch modules that are exported (built lazily: torch is imported here)."""
    import torch
    from torch import nn
    from torchvision.ops import roi_align

    class DetFeatures(nn.Module):
        def __init__(self, det):
            super().__init__()
            self.det = det

        def forward(self, inputs):
            feats = self.det.extract_feat(inputs)
            cls, reg = self.det.rpn_head(feats)
            return (*feats, *cls, *reg)

    class DetRoIHead(nn.Module):
        """mmdet's ``SingleRoIExtractor`` + box head on RoIs already sorted into their
        feature levels (mmdet's level rule, applied outside the graph:
        :func:`stad.apis.detect_numpy.roi_levels`): one RoIAlign per level on that
        level's boxes (every box on every level and a mask, the graph without
        data-dependent shapes of an earlier export, did 3x the RoIAlign work: 22 ms for
        400 boxes on ONNX Runtime), rows out in level order."""

        def __init__(self, det):
            super().__init__()
            ex = det.roi_head.bbox_roi_extractor
            self.layers = [(tuple(layer.output_size), float(layer.spatial_scale),
                            int(layer.sampling_ratio), bool(layer.aligned))
                           for layer in ex.roi_layers]
            self.head = det.roi_head.bbox_head

        def forward(self, *args):
            n = len(self.layers)
            feats, rois = args[:n], args[n:]
            return self.head(torch.cat([
                roi_align(f, r, size, s, ratio, aligned)
                for f, r, (size, s, ratio, aligned) in zip(feats, rois, self.layers)]))

    class ActionNet(nn.Module):
        """Backbone + RoI extractor + head, pools written out (adaptive pools with
        ``None`` sizes do not export), probabilities as :func:`stad.apis.action` scores."""

        def __init__(self, model):
            super().__init__()
            self.model = model
            head = model.roi_head.bbox_head
            self.multilabel = bool(head.multilabel)
            self.t_pool = type(head.temporal_pool).__name__
            self.s_pool = type(head.spatial_pool).__name__

        def forward(self, clip, rois):
            m = self.model
            x = m.extract_feat(clip)
            roi_feats, _ = m.roi_head.bbox_roi_extractor(x, rois)
            x = roi_feats.mean(2, keepdim=True) if 'Avg' in self.t_pool else \
                roi_feats.amax(2, keepdim=True)
            x = x.mean((3, 4), keepdim=True) if 'Avg' in self.s_pool else \
                x.amax((3, 4), keepdim=True)
            cls = m.roi_head.bbox_head.fc_cls(x.flatten(1))
            return cls.sigmoid() if self.multilabel else cls.softmax(-1)

    return DetFeatures, DetRoIHead, ActionNet


# --------------------------------------------------------------------------- export

def _sample_frames(video: str | None, n: int, size=(320, 240)) -> tuple[list, str]:
    """``n`` consecutive BGR frames for the parity check: from ``video``, else rendered
    by the synthetic generator (three people acting)."""
    if video is not None:
        from stad.io.video import open_video
        reader = open_video(video)
        m = min(n, len(reader))
        rgb = reader.get_batch(list(range(m))).asnumpy()
        return [np.ascontiguousarray(f[..., ::-1]) for f in rgb], video
    from stad.data.synth import VideoPlan, render_video
    # the people walk in from the edges: frames after the first 40 show all three
    frames, _ = render_video(VideoPlan('gym', 7, size[0], size[1], n + 40, (0, 1, 2)))
    return frames[40:], f'a synthetic {size[0]}x{size[1]} video'


def _det_inputs(detector, frames: Sequence[np.ndarray]):
    """The detector's data preprocessor output for BGR ``frames``: (inputs, samples)."""
    import torch
    packed = [detector.pipeline(dict(img=f, img_id=i)) for i, f in enumerate(frames)]
    with torch.no_grad():
        data = detector.model.data_preprocessor(
            dict(inputs=[p['inputs'] for p in packed],
                 data_samples=[p['data_samples'] for p in packed]), False)
    return data['inputs'], data['data_samples']


def _steps(pipeline, kind: str) -> list:
    """The steps of ``pipeline`` of type ``kind`` (any scope), as plain dicts."""
    from stad.apis.detect_numpy import _kind
    return [dict(t) for t in pipeline if _kind(t) == kind]


def _metadata(det_model, am, detector) -> dict:
    from stad.apis.detect_numpy import detector_settings
    from stad.version import __version__
    cfg = det_model.cfg
    settings = detector_settings(cfg, getattr(cfg, 'filename', None) or 'detector config')
    apre = am.cfg.model.data_preprocessor
    action_pipeline = am.cfg.test_dataloader.dataset.pipeline
    labels = list(am.class_names or [str(i) for i in range(am.num_classes)])
    return {
        'stad_version': __version__,
        'opset': OPSET,
        'detector': {
            'files': [FILES['det_features'], FILES['det_roi']],
            'classes': list(det_model.dataset_meta.get('classes', ())),
            'person_label': int(detector.label),
            'input': 'float32 (B, 3, H, W): BGR frame -> Resize below -> '
                     + ('RGB, ' if settings['bgr_to_rgb'] else '')
                     + '(x - mean) / std, zero-padded to a multiple of pad_size_divisor',
            **{k: settings[k] for k in ('resize', 'mean', 'std', 'bgr_to_rgb',
                                        'pad_size_divisor')},
            'outputs': f'{FILES["det_features"]}: FPN features per level, RPN class maps '
                       f'per level, RPN box maps per level; {FILES["det_roi"]}: (the RoI '
                       'levels\' features, then per level its rois (K_l, 5) [image, x1, '
                       'y1, x2, y2] input px, mmdet\'s level rule) -> '
                       'class scores, box deltas, rows in level order',
            'test_cfg': json.loads(json.dumps(settings['test_cfg'])),
        },
        'action': {
            'file': FILES['action'], 'labels': labels, 'num_classes': am.num_classes,
            'multilabel': bool(am.model.roi_head.bbox_head.multilabel),
            'clip_len': am.clip_len, 'frame_interval': am.frame_interval,
            'sampling': _steps(action_pipeline, 'SampleAVAFrames'),
            'resize': _steps(action_pipeline, 'Resize'),
            'input': 'float32 (N, 3, T, H, W): RGB clip of clip_len frames frame_interval '
                     'apart centred on the keyframe, Resize below, (x - mean) / std; rois '
                     '(K, 5) [clip, x1, y1, x2, y2] in resized px, at least 1 px wide and '
                     'high (smaller boxes are widened about their centre: in bf16 a box '
                     'of zero size gives NaN)',
            'mean': list(apre.mean), 'std': list(apre.std),
            'outputs': 'probabilities (K, num_classes) (softmax, or sigmoid if multilabel)',
            'flip_test': bool(am.flip_test),
        },
    }


def _export(module, args, path: str, inputs: list, outputs: list, dynamic: dict) -> None:
    import warnings

    import torch

    from stad.io.atomic import atomic_path
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(module, args, tmp, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False,
                          do_constant_folding=True)


def _add_metadata(path: str, meta: dict) -> None:
    import onnx

    from stad.io.atomic import atomic_path
    model = onnx.load(path)
    del model.metadata_props[:]
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v if isinstance(v, str) else json.dumps(v)
    with atomic_path(path) as tmp:
        onnx.save(model, tmp)


def export_onnx(detector, am, out_dir: str, *, video: str | None = None,
                log=print) -> dict:
    """Export the detector (a :class:`FrameDetector` on torch) and the action model (an
    eager :class:`ActionModel`) to ``out_dir``, then check parity (:func:`check_parity`).

    Returns:
        the manifest (also ``out_dir/stad_export.json``) with the parity figures.

    Raises:
        StadError: the parity check failed (the files stay, with the figures, for a
            look; the manifest records ``parity.ok = false``).
    """
    import torch

    from stad.io.atomic import atomic_write_text
    os.makedirs(out_dir, exist_ok=True)
    det_model = detector.model
    for m in (det_model, am.model):
        use_torchvision_roi_align(m)
    DetFeatures, DetRoIHead, ActionNet = _wrappers()
    frames, where = _sample_frames(video, max(am.clip_window, 2))
    if len(frames) < am.clip_window:  # before any file is written
        raise StadError(f'{where}: {len(frames)} frames, fewer than the action model\'s '
                        f'clip window of {am.clip_window}: give a longer --video for the '
                        'parity check')
    inputs, samples = _det_inputs(detector, frames[:2])
    features = DetFeatures(det_model).eval()
    with torch.no_grad():
        feats = features(inputs)
    levels = len(feats) // 3  # the neck's outputs (the RPN's levels)
    roi_levels = len(det_model.roi_head.bbox_roi_extractor.featmap_strides)
    feat_names = [f'feat{i}' for i in range(levels)]
    names = feat_names + [f'rpn_cls{i}' for i in range(levels)] + \
        [f'rpn_reg{i}' for i in range(levels)]
    hw = {0: 'batch', 2: 'height', 3: 'width'}
    log(f'export: {FILES["det_features"]}')
    _export(features, (inputs,), os.path.join(out_dir, FILES['det_features']),
            ['inputs'], names, {'inputs': hw, **{n: hw for n in names}})
    rois = torch.tensor([[0, 10, 10, 60, 90], [1, 30, 20, 200, 170]], dtype=torch.float32)
    roi_names = [f'rois{i}' for i in range(roi_levels)]
    log(f'export: {FILES["det_roi"]}')
    _export(DetRoIHead(det_model).eval(), (*feats[:roi_levels], *[rois] * roi_levels),
            os.path.join(out_dir, FILES['det_roi']), feat_names[:roi_levels] + roi_names,
            ['cls_score', 'bbox_pred'],
            {**{n: hw for n in feat_names[:roi_levels]}, **{n: {0: f'boxes{i}'} for i, n in
                                                          enumerate(roi_names)},
             'cls_score': {0: 'boxes'}, 'bbox_pred': {0: 'boxes'}})
    clip, arois = _action_inputs(am, frames, [np.array([[20, 20, 120, 200], [150, 30, 300, 220]],
                                                       np.float32)] * 2)
    log(f'export: {FILES["action"]}')
    _export(ActionNet(am.model).eval(), (clip, arois), os.path.join(out_dir, FILES['action']),
            ['clip', 'rois'], ['probs'],
            {'clip': {0: 'clips', 3: 'height', 4: 'width'}, 'rois': {0: 'boxes'},
             'probs': {0: 'boxes'}})
    meta = _metadata(det_model, am, detector)
    meta['detector'].update(levels=levels, roi_levels=roi_levels)
    meta['det_config'] = det_model.cfg.pretty_text
    meta['action_config'] = am.cfg.pretty_text
    for key, f in FILES.items():
        part = meta['detector'] if key.startswith('det') else meta['action']
        _add_metadata(os.path.join(out_dir, f), {'stad_version': meta['stad_version'],
                                                 'stad': part})
    meta['parity'] = {'ok': None}  # checked next
    atomic_write_text(os.path.join(out_dir, MANIFEST), json.dumps(meta, indent=1) + '\n')
    log(f'parity: ONNX Runtime and OpenVINO (f32) vs eager PyTorch on {where}')
    parity = {'frames_from': where}
    bad = []
    for backend in ('onnxruntime', 'openvino'):
        p = check_parity(detector, am, out_dir, frames, backend=backend)
        parity[backend] = p
        log(f'parity {backend}: boxes max |diff| {p["box_max_abs_px"]:.2e} px over '
            f'{p["boxes"]} boxes, action probabilities max |diff| {p["score_max_abs"]:.2e} '
            f'over {p["scores"]} values')
        if not p['ok']:
            bad.append(f'{backend}: boxes {p["box_max_abs_px"]:.3g} px (tolerance '
                       f'{BOX_TOL_PX}), scores {p["score_max_abs"]:.3g} (tolerance {SCORE_TOL})'
                       + (f', {p["note"]}' if p.get('note') else ''))
    parity['ok'] = not bad
    meta['parity'] = parity
    atomic_write_text(os.path.join(out_dir, MANIFEST), json.dumps(meta, indent=1) + '\n')
    if bad:
        raise StadError(f'{out_dir}: parity check FAILED, ' + '; '.join(bad))
    return meta


def _action_inputs(am, frames_bgr: Sequence[np.ndarray], boxes: Sequence[np.ndarray]):
    """The action model's (clip, rois) for the middle keyframe of ``frames_bgr`` and
    pixel ``boxes`` per clip (through :func:`stad.apis.action.prepare_batch`)."""
    from stad.apis.action import prepare_batch
    rgb = np.stack([f[..., ::-1] for f in frames_bgr])
    key = len(rgb) // 2 + 1
    inputs, rois, _ = prepare_batch(am, rgb, [key] * len(boxes), list(boxes),
                                    normalized=False, video='export')
    return inputs.contiguous(), rois


# -------------------------------------------------------------------------- sessions

class Session:
    """One ONNX file on ONNX Runtime or OpenVINO (CPU): ``session(*arrays) -> [arrays]``.

    OpenVINO compiles the ONNX file; ``precision='f32'`` pins its CPU inference
    precision to f32 (on CPUs with bf16 its default is bf16), ``'bf16'`` asks for bf16.

    Opening one sets torch, if it is imported, to one thread: beside a runtime torch only
    does light work, and its OpenMP threads, busy-waiting after each op, took the cores
    from the runtime's own threads (measured: ``stad propose`` on ONNX Runtime 2.5x slower
    than eager before, tools/benchmarks/bench_precision.py).
    """

    def __init__(self, path: str, backend: str, *, precision: str = 'f32',
                 threads: int | None = None):
        if not os.path.isfile(path):
            raise StadError(f'{path}: ONNX file not found (write it with `stad export onnx`)')
        check_backend(backend, precision)
        torch = sys.modules.get('torch')
        if torch is not None:
            torch.set_num_threads(1)
        self.backend, self.path = backend, path
        if backend == 'onnxruntime':
            ort = _onnxruntime()
            so = ort.SessionOptions()
            if threads:
                so.intra_op_num_threads = threads
            so.log_severity_level = 3
            # no busy-waiting between runs: the pre- and post-processing (torch, on the
            # same cores) runs right after each call
            so.add_session_config_entry('session.intra_op.allow_spinning', '0')
            self._sess = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
            self.inputs = [i.name for i in self._sess.get_inputs()]
        elif backend == 'openvino':
            import openvino as ov
            core = ov.Core()
            config = {'INFERENCE_PRECISION_HINT': precision, 'PERFORMANCE_HINT': 'LATENCY'}
            if threads:
                config['INFERENCE_NUM_THREADS'] = threads
                # a share of the cores (one of several workers): OpenVINO pins a model's
                # threads to the first cores, so two 1-thread workers shared one core
                # (measured: `stad propose --precision bf16`, 2 workers, 3.1 s wall pinned,
                # 2.2-2.45 s not, the same CPU time)
                config['ENABLE_CPU_PINNING'] = False
            self._compiled = core.compile_model(core.read_model(path), 'CPU', config)
            self._request = self._compiled.create_infer_request()
            # OpenVINO's bindings set up pybind11's numpy API on the first `.data` of a
            # tensor; two threads doing that at once deadlocked (one held the GIL
            # waiting for the C++ static's guard, the other held the guard waiting for
            # the GIL: `stad propose --precision bf16`, 2 workers, 1 run in 6). Done here,
            # on the thread that opens the sessions, before any worker infers.
            self._request.get_input_tensor(0).data
            self.inputs = [i.get_any_name() for i in self._compiled.inputs]
        else:
            raise StadError(f'{path}: a Session runs onnxruntime or openvino, not {backend}')

    def __call__(self, *arrays) -> list:
        feed = {n: np.ascontiguousarray(a, dtype=np.float32) for n, a in zip(self.inputs, arrays)}
        if self.backend == 'onnxruntime':
            return self._sess.run(None, feed)
        res = self._request.infer(feed)
        return [np.asarray(res[o]) for o in self._compiled.outputs]


@functools.cache
def _onnxruntime():
    """``onnxruntime``, its usage events switched off once per process (ONNX Runtime's
    own switch; its library holds a Microsoft events endpoint, and a stad run was seen
    resolving it)."""
    import onnxruntime as ort
    ort.disable_telemetry_events()
    return ort


def default_threads(parts: int) -> int:
    """Threads for each of ``parts`` processes or workers: the CPUs this process may use,
    shared out (at least 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, cpus // max(1, parts))


def read_manifest(onnx_dir: str) -> dict:
    """``onnx_dir/stad_export.json`` (what :func:`export_onnx` wrote)."""
    path = os.path.join(onnx_dir, MANIFEST)
    if not os.path.isfile(path):
        raise StadError(f'{onnx_dir}: no {MANIFEST} (not a `stad export onnx` folder)')
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise StadError(f'{path}: unreadable export manifest ({e})') from e
    for f in FILES.values():
        if not os.path.isfile(os.path.join(onnx_dir, f)):
            raise StadError(f'{onnx_dir}: {f} missing (rerun `stad export onnx`)')
    return meta


def export_config(onnx_dir: str, manifest: dict, key: str):
    """The config ``key`` (``'det_config'`` or ``'action_config'``) of the export in
    ``onnx_dir`` whose manifest (:func:`read_manifest`) is ``manifest``, as an mmengine
    ``Config`` whose ``filename`` names the manifest and key, for messages (mmengine's own
    would be a deleted temp file).

    It is Python config text that mmengine runs to build it, as it runs any config given
    with ``--config``: an export folder is trusted as a config file is (the ONNX files and
    the JSON manifest themselves hold no code)."""
    from mmengine.config import Config
    path = os.path.join(onnx_dir, MANIFEST)
    try:
        cfg = Config.fromstring(manifest[key], file_format='.py')
    except Exception as e:
        raise StadError(f'{path}: bad {key} ({e})') from e
    return Config(cfg.to_dict(), cfg_text=manifest[key], filename=f'{path} ({key})')


def require_onnx_dir(backend: str, onnx_dir: str | None) -> str:
    """``onnx_dir``, or a one-line :class:`StadError` when a runtime ``backend`` has none."""
    if onnx_dir is None:
        raise StadError(f'backend {backend} runs the files of `stad export onnx`: give '
                        'their folder (--onnx-dir)')
    return onnx_dir


def graph_session(onnx_dir: str, graph: str, backend: str, *, precision: str = 'f32',
                  threads: int | None = None) -> Session:
    """The export's ``graph`` (a key of :data:`FILES`) on ``backend`` (``'auto'``:
    :data:`FASTEST`'s)."""
    b, p = graph_backend(backend, graph, precision)
    return Session(os.path.join(onnx_dir, FILES[graph]), b, precision=p, threads=threads)


# --------------------------------------------------------------------------- parity

def check_parity(detector, am, onnx_dir: str, frames: Sequence[np.ndarray], *,
                 backend: str = 'onnxruntime') -> dict:
    """Eager PyTorch vs ``backend`` (f32) on BGR ``frames``: the detector's final boxes,
    every class, in frame px (same count, max abs difference, matched in score order;
    the runtime side is :class:`stad.apis.detect_numpy.RuntimeDetector`, its numpy pre-
    and post-processing included) and the action model's probabilities on the eager
    detector's boxes of the middle keyframe.

    Returns:
        ``{'boxes', 'box_max_abs_px', 'scores', 'score_max_abs', 'ok'[, 'note']}``.
    """
    import torch

    from stad.apis.detect_numpy import RuntimeDetector
    rt = RuntimeDetector(onnx_dir, backend, score_thr=detector.score_thr,
                         max_per_frame=detector.max_per_frame)
    inputs, samples = _det_inputs(detector, frames[:4])
    with torch.no_grad():
        eager = detector.model.predict(inputs.contiguous(), samples)
    eager = [e.pred_instances for e in eager]
    ours = rt.predict(frames[:4])
    box_diff, n_boxes, note = 0.0, 0, ''
    for e, (ob, _, _) in zip(eager, ours):
        eb = e.bboxes.numpy()
        if len(eb) != len(ob):
            note = f'{len(ob)} boxes where eager has {len(eb)}'
            box_diff = float('inf')
            break
        n_boxes += len(eb)
        if len(eb):
            box_diff = max(box_diff, float(np.abs(eb - ob).max()))
    mid = len(frames) // 2
    dets = detector([frames[mid]])[0]
    boxes = dets[:, :4] if len(dets) else np.array([[20, 20, 120, 200]], np.float32)
    from stad.apis.action import load_action_model, predict_keyframes
    rgb = np.stack([f[..., ::-1] for f in frames])
    onnx_am = load_action_model(am.cfg, None, backend=backend, onnx_dir=onnx_dir,
                                flip_test=am.flip_test)
    eager_p, ours_p = (predict_keyframes(m, rgb, [mid + 1], [boxes], normalized=False,
                                         video='export')[0] for m in (am, onnx_am))
    score_diff = float(np.abs(eager_p - ours_p).max())
    out = dict(boxes=n_boxes, box_max_abs_px=box_diff, scores=int(eager_p.size),
               score_max_abs=score_diff,
               ok=bool(box_diff <= BOX_TOL_PX and score_diff <= SCORE_TOL))
    if note:
        out['note'] = note
    return out
