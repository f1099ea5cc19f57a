"""Model forward's share of `stad demo`'s time after start-up (issue 15's 80% target).

Each run is a fresh process that runs :func:`stad.tasks.demo.run_demo` on a runtime
backend with bench_demo.py's settings (its synthetic video, keyframes every 8 frames,
every 4th frame written at 6 fps; thresholds 0.5 / 0.3). It times, with
``time.perf_counter`` inside the process:

* the forwards: every call of a runtime session (``stad.apis.runtime.Session.__call__``:
  ONNX Runtime's ``run``, OpenVINO's ``infer``), detector and action model;
* after start-up: prediction (``predict_video``) + the render pass (``write_mp4``), i.e.
  everything but imports, model loading and the files written at the end;
* where that time goes (:data:`PARTS`): the forwards of each model, decoding in the
  prediction pass, the detector's numpy pre/post-processing, tracking, the action
  model's clip preparation and post-processing, the render pass, the rest.

A sampling profiler is not used for the figure: py-spy stops the process for each sample,
which on 2026-12-02 stretched the render pass from 1.2-1.3 s to 2.6 s (equal work: 46%
under py-spy where this timing gives 61-64%). Only the runtime backends (``--onnx-dir``):
eager PyTorch's forwards do not go through a session.

    python tools/benchmarks/bench_forward_share.py --onnx-dir work_dirs/onnx_run \
        [--frames 1600] [--reps 2] [--track-strides 8 1] [--precision f32]
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from bench_demo import EQUAL_WORK_STRIDE, VARIANT_NAMES, make_video  # noqa: E402

#: the parts of the time after start-up that the child times (seconds, medians printed)
PARTS = ('detector forwards', 'action forwards', 'decoding', 'detector pre/post',
         'tracking', 'action clips + post', 'render pass', 'other')


def child(stride: int, video: str, onnx_dir: str, precision: str, out: str) -> None:
    """One timed demo run; prints its figures as one JSON line."""
    import stad.apis.action as action
    import stad.apis.detect_numpy as detect_numpy
    import stad.apis.runtime as runtime
    import stad.apis.video as apis_video
    import stad.io.video as io_video
    import stad.tasks.demo as demo
    from stad.apis.video import DemoOptions

    seconds, calls = collections.defaultdict(float), collections.Counter()
    in_predict = [False]

    def timed(keys, fn):
        """``fn`` timed into ``seconds[key]`` for each key of ``keys`` (a name, or a function
        of the call's arguments giving the names)."""
        def run(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t
                for key in keys(*args) if callable(keys) else (keys,):
                    seconds[key] += dt
                    calls[key] += 1
        return run

    def graphs(session, *_):  # a detector graph's call counts as a detector forward too
        detector = os.path.basename(session.path).startswith('detector')
        return ('forward', 'det_forward') if detector else ('forward',)

    def predicting(*args, **kwargs):
        in_predict[0] = True
        try:
            return predict_video(*args, **kwargs)
        finally:
            in_predict[0] = False

    def stream(self, *args, **kwargs):  # decoding of the prediction pass (not the render's)
        frames = read_stream(self, *args, **kwargs)
        while True:
            t = time.perf_counter()
            try:
                item = next(frames)
            except StopIteration:
                return
            finally:
                if in_predict[0]:
                    seconds['decode'] += time.perf_counter() - t
            yield item

    predict_video, read_stream = demo.predict_video, io_video.VideoFrames.stream
    runtime.Session.__call__ = timed(graphs, runtime.Session.__call__)
    demo.predict_video = timed('predict', predicting)
    io_video.VideoFrames.stream = stream
    demo.write_mp4 = timed('render', demo.write_mp4)
    detect_numpy.RuntimeDetector.__call__ = timed('detector',
                                                  detect_numpy.RuntimeDetector.__call__)
    apis_video.track_boxes = timed('track', apis_video.track_boxes)
    action.predict_keyframes = timed('actions', action.predict_keyframes)
    options = DemoOptions(det_score_thr=0.5, action_score_thr=0.3, keyframe_stride=8,
                          track_stride=stride, det_cat_id=0)
    equal_work = stride == EQUAL_WORK_STRIDE
    demo.run_demo(video, out, det_config=None, det_checkpoint=None, config=None,
                  checkpoint=None, options=options, out_fps=6.0, output_stride=4,
                  cfg_options={'stad_flip_test': False} if equal_work else None,
                  progress=False, backend='auto', onnx_dir=onnx_dir, precision=precision)
    s = seconds
    after = s['predict'] + s['render']
    act_forward = s['forward'] - s['det_forward']
    parts = dict(zip(PARTS, (s['det_forward'], act_forward, s['decode'],
                             s['detector'] - s['det_forward'], s['track'],
                             s['actions'] - act_forward, s['render'])))
    parts['other'] = after - sum(parts.values())
    print(json.dumps(dict(after=after, forward=s['forward'], predict=s['predict'],
                          render=s['render'], calls=calls['forward'], parts=parts,
                          share=s['forward'] / after)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--onnx-dir', required=True, help='the `stad export onnx` folder')
    p.add_argument('--precision', default='f32', choices=('f32', 'bf16'))
    p.add_argument('--frames', type=int, default=1600)
    p.add_argument('--size', default='320x240')
    p.add_argument('--reps', type=int, default=2, help='interleaved repetitions (medians)')
    p.add_argument('--track-strides', type=int, nargs='+', default=[EQUAL_WORK_STRIDE, 1],
                   choices=sorted(VARIANT_NAMES))
    p.add_argument('--work-dir', default=os.path.join(ROOT, 'work_dirs', 'bench_demo'))
    a = p.parse_args(argv)
    if not os.path.isfile(os.path.join(a.onnx_dir, 'stad_export.json')):
        sys.exit(f'bench_forward_share: {a.onnx_dir}: no stad_export.json (run `stad export '
                 'onnx ... --out DIR` first)')
    os.makedirs(a.work_dir, exist_ok=True)
    w, h = (int(v) for v in a.size.split('x'))
    video = make_video(a.work_dir, a.frames, (w, h))
    runs = {s: [] for s in a.track_strides}
    for rep in range(a.reps):
        for s in a.track_strides:
            out = os.path.join(a.work_dir, f'out_share_s{s}.mp4')
            cmd = [sys.executable, os.path.abspath(__file__), '_child', str(s), video,
                   a.onnx_dir, a.precision, out]
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if res.returncode:
                sys.exit(f'bench_forward_share: run failed ({res.returncode}):\n'
                         f'{res.stderr[-3000:]}')
            r = json.loads(res.stdout.strip().splitlines()[-1])
            runs[s].append(r)
            print(f"rep {rep + 1}/{a.reps} track-stride {s}: forwards {r['forward']:.2f} s "
                  f"of {r['after']:.2f} s after start-up = {100 * r['share']:.1f}% "
                  f"(prediction {r['predict']:.2f} s, render pass {r['render']:.2f} s, "
                  f"{r['calls']} forward calls)", flush=True)
    print(f'\n{video}, {a.frames} frames {a.size}; {a.onnx_dir} ({a.precision}); load '
          f'average at end {" ".join(f"{x:.2f}" for x in os.getloadavg())}, '
          f'{os.cpu_count()} CPUs')
    print('| mode | forward share (median) | runs | forwards s | after start-up s | '
          'render pass s |')
    print('| --- | ---: | --- | ---: | ---: | ---: |')
    for s, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ('share', 'forward', 'after',
                                                                 'render')}
        each = ', '.join('%.1f%%' % (100 * r['share']) for r in rs)
        print(f"| {VARIANT_NAMES[s]} | {100 * med['share']:.1f}% | {each} | {med['forward']:.2f} | "
              f"{med['after']:.2f} | {med['render']:.2f} |")
    print('\nwhere the time after start-up goes (median s; the render pass decodes the video '
          'again, draws and encodes):')
    print('| mode | ' + ' | '.join(PARTS) + ' |')
    print('| --- |' + ' ---: |' * len(PARTS))
    for s, rs in runs.items():
        print(f'| {VARIANT_NAMES[s]} | ' + ' | '.join(
            '%.2f' % statistics.median(r['parts'][k] for r in rs) for k in PARTS) + ' |')
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '_child':
        s, video, onnx_dir, precision, out = sys.argv[2:7]
        child(int(s), video, onnx_dir, precision, out)
    else:
        sys.exit(main())
