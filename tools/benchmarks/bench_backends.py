"""The three runtimes side by side on this CPU, per model: eager PyTorch, ONNX Runtime,
OpenVINO (f32, and bf16 where the CPU has it), median milliseconds of interleaved runs.

Rows:
* the graphs alone (``stad export onnx``'s files vs the eager modules they came from):
  detector backbone + neck + RPN convolutions, detector RoI head (100 boxes), action model
  (clip + boxes -> probabilities);
* what the demo calls, pre- and post-processing included: the detector on a batch of
  frames (resize, normalise, graphs, RPN proposals, NMS; eager ``FrameDetector`` in
  torch, ``RuntimeDetector`` in numpy beside a runtime) and ``predict_keyframes`` on a
  batch of keyframes (clip sampling, resize, normalise, graph).

    python tools/benchmarks/bench_backends.py --onnx-dir DIR --det-config D --det-checkpoint D.pth \\
        --config A --checkpoint A.pth [--batch 4 --reps 15]

Eager runs with ``torch.inference_mode`` and channels-last inputs (what the demo does).
Threads: eager torch on its default (the cores); ONNX Runtime and OpenVINO on their
defaults (the cores) with torch on one thread beside them, as ``stad`` runs them.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import interleaved_medians  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--onnx-dir', required=True)
    p.add_argument('--det-config', required=True)
    p.add_argument('--det-checkpoint', required=True)
    p.add_argument('--config', required=True)
    p.add_argument('--checkpoint', required=True)
    p.add_argument('--batch', type=int, default=4, help='frames / keyframes per call')
    p.add_argument('--reps', type=int, default=15)
    p.add_argument('--no-bf16', action='store_true')
    a = p.parse_args(argv)

    import dataclasses

    import torch

    from stad.apis.action import box_probs, load_action_model, predict_keyframes
    from stad.apis.detect_numpy import RuntimeDetector
    from stad.apis.runtime import _action_inputs, _det_inputs, _sample_frames, _wrappers, graph_session
    from stad.tasks.demo import load_models

    det, am = load_models(a.det_config, a.det_checkpoint, a.config, a.checkpoint)
    threads = torch.get_num_threads()  # before a Session sets it to 1
    frames, where = _sample_frames(None, max(am.clip_window, a.batch) + a.batch)
    bgr = frames[:a.batch]
    inputs, samples = _det_inputs(det, bgr)
    DetFeatures, _, _ = _wrappers()
    feat_mod = DetFeatures(det.model).eval()
    with torch.inference_mode():
        feats = feat_mod(inputs)
    def runtime_detector(b, prec='f32'):
        return RuntimeDetector(a.onnx_dir, b, score_thr=det.score_thr,
                               max_per_frame=det.max_per_frame, precision=prec)

    rlev = runtime_detector('onnxruntime').roi_levels
    rng = np.random.default_rng(0)
    h, w = inputs.shape[-2:]
    xy = rng.uniform(0, [w * 0.7, h * 0.7], (100, 2))
    wh = rng.uniform(16, [w * 0.3, h * 0.3], (100, 2))
    rois = torch.tensor(np.concatenate([rng.integers(0, a.batch, (100, 1)), xy, xy + wh], 1),
                        dtype=torch.float32)
    kf_boxes = [np.array([[20, 20, 120, 200], [150, 30, 300, 220], [60, 40, 160, 230]],
                         np.float32)] * a.batch
    clip, arois = _action_inputs(am, frames[:am.clip_window], kf_boxes)
    rgb = np.stack([f[..., ::-1] for f in frames])
    keys = [am.clip_window // 2 + 1 + i for i in range(a.batch)]

    variants = [('onnxruntime', 'f32'), ('openvino', 'f32')]
    bf16 = not a.no_bf16 and 'avx512_bf16' in open('/proc/cpuinfo').read()
    if bf16:
        variants.append(('openvino', 'bf16'))
    sessions = {}
    for b, prec in variants:
        name = b if b == 'onnxruntime' else f'openvino {prec}'
        sessions[name] = (runtime_detector(b, prec),
                          graph_session(a.onnx_dir, 'action', b, precision=prec))

    cl = inputs.contiguous(memory_format=torch.channels_last)
    ccl = clip.contiguous(memory_format=torch.channels_last_3d)
    np_in, np_feats = inputs.numpy(), [f.numpy() for f in feats[:rlev]]
    np_rois, np_clip, np_arois = rois.numpy(), np.ascontiguousarray(clip.numpy()), arois.numpy()

    def eager(fn):
        def run():  # torch on every core, as in an eager run
            torch.set_num_threads(threads)
            with torch.inference_mode():
                fn()
        return run

    def rt(fn):
        def run():  # torch on one thread, as a Session sets it (stad.apis.runtime.Session)
            torch.set_num_threads(1)
            with torch.inference_mode():
                fn()
        return run

    rows = {
        f'detector backbone+neck+RPN convs, {a.batch} frames {w}x{h}': dict(
            eager=eager(lambda: feat_mod(cl)),
            **{n: rt(lambda s=s: s[0].features(np_in)) for n, s in sessions.items()}),
        'detector RoI head, 100 boxes': dict(
            eager=eager(lambda: det.model.roi_head._bbox_forward(feats, rois)),
            **{n: rt(lambda s=s: s[0].roi_outputs(np_feats, np_rois))
               for n, s in sessions.items()}),
        f'action model, {a.batch} clips {tuple(clip.shape[2:])} x 3 boxes': dict(
            eager=eager(lambda: box_probs(am, ccl, arois)),
            **{n: rt(lambda s=s: s[1](np_clip, np_arois)) for n, s in sessions.items()}),
    }
    dets = {'eager': det, **{n: s[0] for n, s in sessions.items()}}
    base = load_action_model(a.config, None, backend='onnxruntime', onnx_dir=a.onnx_dir)
    ams = {'eager': am, **{n: dataclasses.replace(base, runtime=s[1])
                           for n, s in sessions.items()}}
    rows[f'detector incl. pre + post, {a.batch} frames'] = {
        n: (eager if n == 'eager' else rt)(lambda d=d: d(bgr)) for n, d in dets.items()}
    rows[f'predict_keyframes (clip prep + model), {a.batch} keyframes x 3 boxes'] = {
        n: (eager if n == 'eager' else rt)(
            lambda m=m: predict_keyframes(m, rgb, keys, kf_boxes, normalized=False,
                                          batch_size=a.batch)) for n, m in ams.items()}
    names = ['eager', *sessions]
    print(f'bench_backends: {a.reps} interleaved repetitions per row, median ms; torch '
          f'{torch.__version__}, eager on {threads} threads, 1 beside a runtime; frames from '
          f'{where}')
    table = []
    for row, steps in rows.items():
        for fn in steps.values():  # warm-up (OpenVINO compiles shapes lazily)
            fn()
        med = interleaved_medians(steps, a.reps)
        table.append((row, [med[n] * 1000 for n in names]))
        print(f'  {row}: ' + ', '.join(f'{n} {med[n] * 1000:.1f}' for n in names), flush=True)
    print('\n| model | ' + ' | '.join(names) + ' | fastest |')
    print('| --- |' + ' ---: |' * (len(names) + 1))
    for row, ms in table:
        best = names[int(np.argmin(ms))]
        print(f'| {row} | ' + ' | '.join(f'{m:.1f}' for m in ms) + f' | {best} '
              f'({ms[0] / min(ms):.2f}x eager) |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
