"""Wall time, CPU time and peak memory of `stad demo` vs mmaction2's demo_spatiotemporal_det.py flow.

Each side runs in its own subprocess on the same synthetic video (``--frames``: the
issue's 1600-frame video by default, a 400-frame synthetic clip played 4 times) with the
same checkpoints and the same upstream demo arguments (``--predict-stepsize 8
--output-stepsize 4 --output-fps 6``). Ours is ``python -m stad.cli demo`` with the
equivalent options (``--keyframe-stride 8 --output-stride 4 --out-fps 6``, what
``demo/demo_spatiotemporal_det.py`` forwards) plus ``--ours-args``; upstream is
:func:`upstream_demo`, which REIMPLEMENTS the flow of mmaction2 1.2.0's
``demo/demo_spatiotemporal_det.py`` (that script is not in the wheel) with the upstream
library functions it calls.

Two variants of ours (``--track-strides``, default ``1 8``):

* ``--track-stride 1``: stad demo's DEFAULT, which detects and tracks people on EVERY
  frame (8x the detector work of upstream, which detects on keyframes only);
* ``--track-stride 8``: EQUAL WORK, detector on the keyframes only and one action model
  pass per keyframe, as upstream (``--cfg-options stad_flip_test=False``: the synthetic
  config's flip test, which upstream's flow ignores, scores each clip twice).

Per child: wall time, CPU time (user + sys of the child and the processes it waited
for, e.g. ffmpeg, from ``os.wait4``'s rusage) and peak RSS (its ``ru_maxrss``). With
``--reps N`` the runs are interleaved (ours, ours, upstream, ours, ours, upstream, ...)
and the table shows medians; every run's figures are printed too.

    python tools/benchmarks/bench_demo.py [--frames 1600 [400 ...]] [--reps 3]
        [--track-strides 1 8] [--ours-args "--backend openvino --onnx-dir D"]
        [--det-config D.py --det-checkpoint D.pth --config A.py --checkpoint A.pth]

Checkpoints default to the trained models of ``stad run`` (``--run-dir``, default
work_dirs/run): ``det/iter_600.pth`` and the checkpoint named in ``action/last_checkpoint``,
each with the config mmengine dumped beside it. The script fails if they are absent;
``--random-weights`` times randomly initialised weights instead (timing depends on the
number of boxes, which random weights change: the table prints it).
"""
import argparse
import glob
import importlib.util
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_SCRIPT = os.path.join(ROOT, 'demo', 'demo_spatiotemporal_det.py')
DET_CONFIG = (glob.glob(os.path.join(ROOT, 'configs', 'detection',
                                     'faster-rcnn_r18-c32-fpn64_scratch-*_synthetic-person.py'))
              or [None])[0]
ACTION_CONFIG = (glob.glob(os.path.join(ROOT, 'configs', 'action',
                                        'slowonly_scratch-r18-c16_*_synthetic-rgb.py'))
                 or [None])[0]
DET_ITER = 'iter_600.pth'  # the detector checkpoint `stad run` evaluates with
BASE_FRAMES = 400  # the synthetic clip a video repeats (the 1600 frames: 4 x 400)
UPSTREAM_FIXES = ('upstream needs two edits to run on this stack: np.Inf = np.inf '
                  '(numpy 2 removed np.Inf; mmaction.utils.frame_extract and the script '
                  'use it) and `from moviepy import ImageSequenceClip` (moviepy 2 has no '
                  'moviepy.editor)')
EQUAL_WORK_STRIDE = 8  # = the keyframe stride: the detector on keyframes only
VARIANT_NAMES = {1: 'ours default (--track-stride 1: detect + track EVERY frame)',
                 8: 'ours equal work (--track-stride 8: detect on keyframes, no flip test, '
                    'as upstream)'}


def _compat_parser():
    spec = importlib.util.spec_from_file_location('demo_spatiotemporal_det', DEMO_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_args_parser()


def upstream_demo(a) -> None:
    """Reimplementation of mmaction2 1.2.0 ``demo/demo_spatiotemporal_det.py::main``.

    Same steps and upstream calls, in the same order: ``frame_extract`` (every frame
    into memory and to JPEG), resize every frame to ``--short-side``,
    ``detection_inference`` on the keyframes' JPEGs, per keyframe a clip of normalised
    frames through ``model(..., mode='predict')``, then re-read the output frames from
    the JPEGs, draw on deep copies of all of them and write with ``ImageSequenceClip``.
    The drawing is a shortened form of upstream's ``visualize`` (boxes + label text).
    """
    import copy
    import tempfile

    import cv2
    import mmcv
    import numpy as np
    import torch
    from mmengine import Config
    from mmengine.runner import load_checkpoint
    from mmengine.structures import InstanceData

    np.Inf = np.inf  # numpy 2 removed np.Inf; upstream code still uses it
    from mmaction.apis import detection_inference
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    from mmaction.utils import frame_extract
    from moviepy import ImageSequenceClip  # upstream: import moviepy.editor as mpy

    from stad.tasks.train import parse_cfg_options
    tmp_dir = tempfile.TemporaryDirectory()
    frame_paths, original_frames = frame_extract(a.video, out_dir=tmp_dir.name)
    num_frame = len(frame_paths)
    h, w, _ = original_frames[0].shape
    new_w, new_h = mmcv.rescale_size((w, h), (a.short_side, np.Inf))
    frames = [mmcv.imresize(img, (new_w, new_h)) for img in original_frames]
    w_ratio, h_ratio = new_w / w, new_h / h

    config = Config.fromfile(a.config)
    config.merge_from_dict(parse_cfg_options(a.cfg_options))
    sampler = [x for x in config.val_pipeline if x['type'] == 'SampleAVAFrames'][0]
    clip_len, frame_interval = sampler['clip_len'], sampler['frame_interval']
    window_size = clip_len * frame_interval
    timestamps = np.arange(window_size // 2, num_frame + 1 - window_size // 2,
                           a.predict_stepsize)
    label_map = {}
    with open(a.label_map) as f:
        for line in f:
            k, v = line.strip().split(': ')
            label_map[int(k)] = v
    center_frames = [frame_paths[ind - 1] for ind in timestamps]
    human_detections, _ = detection_inference(a.det_config, a.det_checkpoint, center_frames,
                                              a.det_score_thr, a.det_cat_id, a.device)
    for i in range(len(human_detections)):
        det = human_detections[i]
        det[:, 0:4:2] *= w_ratio
        det[:, 1:4:2] *= h_ratio
        human_detections[i] = torch.from_numpy(det[:, :4]).to(a.device)

    config['model']['test_cfg']['rcnn'] = dict(action_thr=0)
    config.model.backbone.pretrained = None
    model = MODELS.build(config.model)
    load_checkpoint(model, a.checkpoint, map_location='cpu')
    model.to(a.device).eval()
    img_norm_cfg = dict(mean=np.array(config.model.data_preprocessor.mean),
                        std=np.array(config.model.data_preprocessor.std), to_rgb=False)
    predictions = []
    for timestamp, proposal in zip(timestamps, human_detections):
        if proposal.shape[0] == 0:
            predictions.append(None)
            continue
        start_frame = timestamp - (clip_len // 2 - 1) * frame_interval
        frame_inds = list(start_frame + np.arange(0, window_size, frame_interval) - 1)
        imgs = [frames[ind].astype(np.float32) for ind in frame_inds]
        _ = [mmcv.imnormalize_(img, **img_norm_cfg) for img in imgs]
        input_tensor = torch.from_numpy(np.stack(imgs).transpose((3, 0, 1, 2))[np.newaxis])
        datasample = ActionDataSample()
        datasample.proposals = InstanceData(bboxes=proposal)
        datasample.set_metainfo(dict(img_shape=(new_h, new_w)))
        with torch.no_grad():
            scores = model(input_tensor, [datasample], mode='predict')[0].pred_instances.scores
        prediction = [[] for _ in range(proposal.shape[0])]
        for i in range(scores.shape[1]):
            if i in label_map:
                for j in range(proposal.shape[0]):
                    if scores[j, i] > a.action_score_thr:
                        prediction[j].append((label_map[i], scores[j, i].item()))
        predictions.append(prediction)

    results = []  # upstream's pack_result: boxes normalised by the resized frame
    for det, pred in zip(human_detections, predictions):
        det = det.clone()
        det[:, 0::2] /= new_w
        det[:, 1::2] /= new_h
        results.append(None if pred is None else [
            (p.numpy(), [x[0] for x in sorted(r, key=lambda x: -x[1])],
             sorted([x[1] for x in r], reverse=True)) for p, r in zip(det, pred)])

    old = timestamps[1] - timestamps[0] if len(timestamps) > 1 else a.predict_stepsize
    dense_n = int(a.predict_stepsize / a.output_stepsize)
    start = timestamps[0] - old / dense_n * (dense_n - 1) / 2
    dense = (np.arange(len(timestamps) * dense_n) * old / dense_n + start).astype(np.int64)
    frames = [cv2.imread(frame_paths[i - 1]) for i in dense]
    frames_out = copy.deepcopy(frames)  # upstream's visualize() draws on a deep copy
    scale = np.array([w, h, w, h])
    for i, anno in enumerate(results):
        for j in range(dense_n):
            frame = frames_out[i * dense_n + j]
            for box, labels, scores in anno or ():
                box = (box * scale).astype(np.int64)
                cv2.rectangle(frame, tuple(box[:2]), tuple(box[2:]), (255, 0, 0), 2)
                for k, (lb, sc) in enumerate(zip(labels[:5], scores)):
                    cv2.putText(frame, f'{lb}: {sc:.2f}', (int(box[0]), int(box[1]) + 18 * k + 18),
                                cv2.FONT_HERSHEY_DUPLEX, 0.5, (255, 255, 255), 1)
    vid = ImageSequenceClip([x[:, :, ::-1] for x in frames_out], fps=a.output_fps)
    vid.write_videofile(a.out_filename, logger=None)
    tmp_dir.cleanup()
    print(f'BENCH keyframes={len(timestamps)} '
          f'boxes={sum(int(d.shape[0]) for d in human_detections)} frames={len(frames_out)}')


def measure(cmd: list, timeout: float) -> dict:
    """Run ``cmd`` (its output to a temp file); wall s, CPU s (user + sys), peak RSS MiB,
    output. Exits with the output's tail if it fails or outlasts ``timeout`` s."""
    with tempfile.TemporaryFile('w+') as log:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                p.kill()
                os.wait4(p.pid, 0)
                status = None
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        p.returncode = -1  # reaped by os.wait4: keep Popen from waiting again
        log.seek(0)
        out = log.read()
    if status is None:
        sys.exit(f'timed out after {timeout:.0f} s: {shlex.join(cmd)}\n{out[-3000:]}')
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f'failed ({code}): {shlex.join(cmd)}\n{out[-3000:]}')
    return dict(wall=wall, cpu=usage.ru_utime + usage.ru_stime,
                rss=usage.ru_maxrss / 1024.0, out=out)


def _config_beside(checkpoint: str, what: str) -> str:
    """The one config ``*.py`` mmengine dumped in the checkpoint's folder."""
    configs = sorted(glob.glob(os.path.join(os.path.dirname(checkpoint), '*.py')))
    if len(configs) != 1:
        sys.exit(f'bench_demo: {len(configs)} config files (*.py) beside the {what} checkpoint '
                 f'{checkpoint}, expected 1: pass its config explicitly')
    return configs[0]


def trained_models(run_dir: str) -> dict:
    """``stad run``'s trained models in ``run_dir``: ``{'det': (config, ckpt), 'action':
    (config, ckpt)}``; exits with one line naming what is missing."""
    hint = ('train them with `make run` (or `stad run --work-dir DIR`, then --run-dir DIR), '
            'pass --det-config/--det-checkpoint/--config/--checkpoint, or time random '
            'weights with --random-weights')
    det = os.path.join(run_dir, 'det', DET_ITER)
    if not os.path.isfile(det):
        sys.exit(f'bench_demo: no trained detector {det}: {hint}')
    last = os.path.join(run_dir, 'action', 'last_checkpoint')
    if not os.path.isfile(last):
        sys.exit(f'bench_demo: no trained action model ({last} is missing): {hint}')
    with open(last) as f:
        act = f.read().strip()
    if act and not os.path.isabs(act):
        act = os.path.join(run_dir, 'action', act)
    if not os.path.isfile(act):
        sys.exit(f'bench_demo: {last} names {act!r}, which does not exist: {hint}')
    return dict(det=(_config_beside(det, 'detector'), det),
                action=(_config_beside(act, 'action model'), act))


def random_checkpoints(out_dir: str, det_config: str, config: str) -> tuple[str, str]:
    import torch
    from mmdet.apis import init_detector

    from stad.apis.action import load_action_model
    torch.manual_seed(0)
    det, act = os.path.join(out_dir, 'det_random.pth'), os.path.join(out_dir, 'act_random.pth')
    model = init_detector(det_config, None, device='cpu')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('person', )))), det)
    torch.save(dict(state_dict=load_action_model(config, None).model.state_dict()), act)
    return det, act


def make_video(work_dir: str, frames: int, size: tuple[int, int]) -> str:
    """A synthetic video of ``frames`` frames: a ``BASE_FRAMES``-frame clip (people act
    throughout) played over and over; one file per length and size."""
    path = os.path.join(work_dir, f'synthetic_{size[0]}x{size[1]}_{frames}frames.mp4')
    if not os.path.isfile(path):
        from stad.data.synth import VideoPlan, render_video, write_video
        base, _ = render_video(VideoPlan('gym', 7, size[0], size[1], min(frames, BASE_FRAMES),
                                         (0, 1, 2)))
        write_video(path, [base[i % len(base)] for i in range(frames)], 25.0)
    return path


def config_short_side(config: str) -> int:
    """The short side the action config's test pipeline resizes frames to (``Resize``
    with ``scale=(-1, S)``): upstream's demo resizes every frame to ``--short-side``
    instead of running the pipeline, so it must be the same for equal work."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    for step in cfg.test_dataloader.dataset.pipeline:
        if str(step['type']).split('.')[-1] == 'Resize':
            scale = tuple(step['scale'])
            if len(scale) == 2 and scale[0] == -1:
                return int(scale[1])
    sys.exit(f'bench_demo: {config}: no Resize(scale=(-1, S)) in the test pipeline; give '
             '--short-side')


def _median(runs: list, key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run-dir', default=os.path.join(ROOT, 'work_dirs', 'run'),
                   help="where the default checkpoints come from (stad run's work dir)")
    p.add_argument('--det-config', help='default: the .py beside the detector checkpoint')
    p.add_argument('--det-checkpoint', help=f'default: RUN_DIR/det/{DET_ITER}')
    p.add_argument('--config', help='default: the .py beside the action checkpoint')
    p.add_argument('--checkpoint', help='default: the one RUN_DIR/action/last_checkpoint names')
    p.add_argument('--random-weights', action='store_true',
                   help='time randomly initialised weights (the repository configs)')
    p.add_argument('--label-map', help="default: the synthetic dataset's 4 classes")
    p.add_argument('--det-score-thr', type=float, default=0.5)
    p.add_argument('--action-score-thr', type=float, default=0.3)
    p.add_argument('--short-side', type=int,
                   help="upstream's --short-side (default: the action config's test Resize "
                        "short side, so that both sides give the action model clips of "
                        "one size)")
    p.add_argument('--frames', type=int, nargs='+', default=[1600],
                   help=f'video lengths to time (a {BASE_FRAMES}-frame clip repeated)')
    p.add_argument('--size', default='320x240', help='video WxH (synthetic native: 320x240)')
    p.add_argument('--reps', type=int, default=1, help='interleaved repetitions (medians)')
    p.add_argument('--track-strides', type=int, nargs='*', default=[1, 8],
                   help="our variants: stad demo's --track-stride (1: its default, 8: "
                        "upstream's detector work)")
    p.add_argument('--ours-args', default='',
                   help='more stad demo options for our side, one string, e.g. '
                        '"--backend openvino --onnx-dir DIR"')
    p.add_argument('--no-upstream', action='store_true', help='time our side only')
    p.add_argument('--timeout', type=float, default=1800, help='seconds per child run')
    p.add_argument('--work-dir', default=os.path.join(ROOT, 'work_dirs', 'bench_demo'))
    a = p.parse_args(argv)
    os.makedirs(a.work_dir, exist_ok=True)
    size = tuple(int(x) for x in a.size.split('x'))

    det_config, det_ckpt, config, act_ckpt = a.det_config, a.det_checkpoint, a.config, a.checkpoint
    if a.random_weights:
        det_config, config = det_config or DET_CONFIG, config or ACTION_CONFIG
        det_rand, act_rand = random_checkpoints(a.work_dir, det_config, config)
        det_ckpt, act_ckpt = det_ckpt or det_rand, act_ckpt or act_rand
        weights = 'RANDOM (--random-weights)'
    else:
        trained = None if (det_ckpt and act_ckpt) else trained_models(a.run_dir)
        det_ckpt = det_ckpt or trained['det'][1]
        act_ckpt = act_ckpt or trained['action'][1]
        for what, path in (('detector', det_ckpt), ('action model', act_ckpt)):
            if not os.path.isfile(path):
                sys.exit(f'bench_demo: {what} checkpoint not found: {path}')
        det_config = det_config or _config_beside(det_ckpt, 'detector')
        config = config or _config_beside(act_ckpt, 'action model')
        weights = 'trained'
    for what, path in (('detector config', det_config), ('detector checkpoint', det_ckpt),
                       ('action config', config), ('action checkpoint', act_ckpt)):
        if not (path and os.path.isfile(path)):
            sys.exit(f'bench_demo: {what} not found: {path}')
    short_side = a.short_side or config_short_side(config)
    label_map = a.label_map or os.path.join(a.work_dir, 'labels.txt')
    if not a.label_map:
        from stad.data.synth import LABELS
        with open(label_map, 'w') as f:
            f.write(''.join(f'{i}: {n}\n' for i, n in enumerate(LABELS)))

    sides = {}  # name -> function(video, out) -> command
    common = ['--config', config, '--checkpoint', act_ckpt, '--det-config', det_config,
              '--det-checkpoint', det_ckpt, '--det-score-thr', str(a.det_score_thr),
              '--action-score-thr', str(a.action_score_thr), '--label-map', label_map,
              '--device', 'cpu']
    extra = shlex.split(a.ours_args)
    for s in a.track_strides:
        sides[f'ours_s{s}'] = lambda video, out, s=s: [
            sys.executable, '-m', 'stad.cli', 'demo', video, out, *common, '--det-cat-id', '0',
            '--keyframe-stride', '8', '--output-stride', '4', '--out-fps', '6', '--quiet',
            '--track-stride', str(s),
            *(['--cfg-options', 'stad_flip_test=False'] if s == EQUAL_WORK_STRIDE else []),
            *extra]
    if not a.no_upstream:
        sides['upstream'] = lambda video, out: [
            sys.executable, os.path.abspath(__file__), '_upstream', video, out, *common,
            '--predict-stepsize', '8', '--output-stepsize', '4', '--output-fps', '6',
            '--short-side', str(short_side)]

    load = [os.getloadavg()]
    runs = {(n, name): [] for n in a.frames for name in sides}
    commands = {}
    for rep in range(a.reps):
        for n in a.frames:
            video = make_video(a.work_dir, n, size)
            for name, command in sides.items():
                out = os.path.join(a.work_dir, f'out_{name}_{size[0]}x{size[1]}_{n}frames.mp4')
                cmd = command(video, out)
                commands.setdefault(n, {})[name] = cmd
                r = measure(cmd, a.timeout)
                m = (re.search(r'(\d+) keyframes, (\d+) person boxes', r['out'])
                     or re.search(r'keyframes=(\d+) boxes=(\d+)', r['out']))
                r['keyframes'], r['boxes'] = m.groups() if m else ('?', '?')
                runs[(n, name)].append(r)
                print(f'rep {rep + 1}/{a.reps} {n} frames {name}: wall {r["wall"]:.1f} s, '
                      f'CPU {r["cpu"]:.1f} s, peak RSS {r["rss"]:.0f} MiB', flush=True)
        load.append(os.getloadavg())

    print(f'\nstad demo vs mmaction2 demo_spatiotemporal_det.py flow; weights: {weights}')
    print(f'detector: {det_ckpt}\naction model: {act_ckpt}')
    print(f'video: synthetic {a.size} @ 25 fps ({BASE_FRAMES}-frame clip repeated); '
          f'keyframes every 8 frames, output every 4th frame at 6 fps; det thr '
          f'{a.det_score_thr}, action thr {a.action_score_thr}; {a.reps} interleaved rep(s), '
          f'medians; load average (1, 5, 15 min) at start {load[0][0]:.2f} '
          f'{load[0][1]:.2f} {load[0][2]:.2f}, at end {load[-1][0]:.2f} {load[-1][1]:.2f} '
          f'{load[-1][2]:.2f}, {os.cpu_count()} CPUs')
    print(f'note: {UPSTREAM_FIXES}.')
    for name in sides:
        if name.startswith('ours_s'):
            s = int(name[6:])
            print(f'{name}: {VARIANT_NAMES.get(s, f"ours --track-stride {s}")}'
                  + (f' + {a.ours_args}' if a.ours_args else ''))
    print('| frames | side | wall s | CPU s | peak RSS MiB | keyframes | boxes | '
          'upstream/ours wall | upstream/ours CPU |')
    print('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for n in a.frames:
        up = runs.get((n, 'upstream'))
        for name in sides:
            rs = runs[(n, name)]
            wall, cpu = _median(rs, 'wall'), _median(rs, 'cpu')
            ratio = ('' if not up or name == 'upstream' else
                     f'{_median(up, "wall") / wall:.2f} | {_median(up, "cpu") / cpu:.2f}')
            print(f'| {n} | {name} | {wall:.1f} | {cpu:.1f} | {_median(rs, "rss"):.0f} | '
                  f'{rs[0]["keyframes"]} | {rs[0]["boxes"]} | {ratio or " | "} |')
    if a.reps > 1:
        print('\nevery run (wall s / CPU s):')
        for (n, name), rs in runs.items():
            print(f'  {n} {name}: ' + ', '.join(f'{r["wall"]:.1f}/{r["cpu"]:.1f}' for r in rs))
    print('\ncommands:')
    for n, cmds in commands.items():
        for name, cmd in cmds.items():
            print(f'  [{n} frames, {name}] {shlex.join(cmd)}')
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '_upstream':
        import stad  # noqa: F401  (stack fixes: mmaction's missing drn, torch.load allow-list)
        upstream_demo(_compat_parser().parse_args(sys.argv[2:]))
        sys.exit(0)
    sys.exit(main())
