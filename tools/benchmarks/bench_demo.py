"""Wall time and peak memory of `stad demo` vs mmaction2's demo_spatiotemporal_det.py flow.

Both sides run in their own subprocess on the same synthetic videos (a short one and
its frames repeated ``--factor`` times) with the same checkpoints and the same upstream demo
arguments (``--predict-stepsize 8 --output-stepsize 4 --output-fps 6``): ours through
``demo/demo_spatiotemporal_det.py`` (stad's drop-in), upstream through
:func:`upstream_demo`, which REIMPLEMENTS the flow of mmaction2 1.2.0's
``demo/demo_spatiotemporal_det.py`` (that script is not in the wheel) with the upstream
library functions it calls. Peak RSS is each child's own ``ru_maxrss`` (``os.wait4``).

    python tools/benchmarks/bench_demo.py [--det-config D --det-checkpoint D.pth
        --config A --checkpoint A.pth --label-map L] [--frames 100 --factor 4]

Checkpoints default to the newest trained ones under work_dirs/ (with the config
mmengine dumped beside them), else randomly initialised weights are saved and used
(timing and memory do not depend on the weights' values, but the number of boxes does:
the table prints it).
"""
import argparse
import glob
import importlib.util
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_SCRIPT = os.path.join(ROOT, 'demo', 'demo_spatiotemporal_det.py')
DET_CONFIG = (glob.glob(os.path.join(ROOT, 'configs', 'detection',
                                     'faster-rcnn_r18-c32-fpn64_scratch-*_synthetic-person.py'))
              or [None])[0]
ACTION_CONFIG = (glob.glob(os.path.join(ROOT, 'configs', 'action',
                                        'slowonly_scratch-r18-c16_*_synthetic-rgb.py'))
                 or [None])[0]
UPSTREAM_FIXES = ('upstream needs two edits to run on this stack: np.Inf = np.inf '
                  '(numpy 2 removed np.Inf; mmaction.utils.frame_extract and the script '
                  'use it) and `from moviepy import ImageSequenceClip` (moviepy 2 has no '
                  'moviepy.editor)')


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


def measure(cmd: list) -> tuple[float, float, str]:
    """Run ``cmd``; (wall seconds, peak RSS MiB of that child, its stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         cwd=ROOT)
    with p.stdout:
        out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f'failed ({p.returncode}): {" ".join(cmd)}\n{out[-3000:]}')
    return wall, usage.ru_maxrss / 1024.0, out


def find_trained(kind: str) -> tuple[str, str] | None:
    """Newest ``(config, checkpoint)`` trained under work_dirs/ by ``stad train``/mmengine.

    ``kind`` is 'det' (an mmdet config: has ``rpn_head``) or 'action' (has
    ``SampleAVAFrames``); the config is the one mmengine dumped next to the checkpoint.
    """
    best = None
    for last in glob.glob(os.path.join(ROOT, 'work_dirs', '*', 'last_checkpoint')):
        work = os.path.dirname(last)
        with open(last) as f:
            ckpt = f.read().strip()
        configs = glob.glob(os.path.join(work, '*.py'))
        if not (os.path.isfile(ckpt) and configs):
            continue
        with open(configs[0]) as f:
            text = f.read()
        if ('SampleAVAFrames' in text) != (kind == 'action') or \
                (kind == 'det' and 'rpn_head' not in text):
            continue
        if best is None or os.path.getmtime(ckpt) > os.path.getmtime(best[1]):
            best = (configs[0], ckpt)
    return best


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


def make_videos(work_dir: str, frames: int, factor: int, size: tuple[int, int]) -> list:
    """A synthetic video of ``frames`` frames and the same frames ``factor`` times over
    (people act throughout both, so the long one has ``factor`` x the work)."""
    from stad.data.synth import VideoPlan, render_video, write_video
    paths = [os.path.join(work_dir, f'synthetic_{size[0]}x{size[1]}_{n}.mp4')
             for n in (frames, frames * factor)]
    if not all(os.path.isfile(p) for p in paths):
        imgs, _ = render_video(VideoPlan('gym', 7, size[0], size[1], frames, (0, 1, 2)))
        write_video(paths[0], imgs, 25.0)
        write_video(paths[1], imgs * factor, 25.0)
    return paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--det-config', default=DET_CONFIG)
    p.add_argument('--det-checkpoint', help='default: see above')
    p.add_argument('--config', default=ACTION_CONFIG)
    p.add_argument('--checkpoint', help='default: see above')
    p.add_argument('--label-map', help="default: the synthetic dataset's 4 classes")
    p.add_argument('--det-score-thr', type=float, default=0.5)
    p.add_argument('--action-score-thr', type=float, default=0.3)
    p.add_argument('--short-side', type=int, default=128,
                   help="upstream's --short-side: the action config's Resize short side")
    p.add_argument('--frames', type=int, default=100, help='frames of the short video')
    p.add_argument('--factor', type=int, default=4, help='long video = factor x short')
    p.add_argument('--size', default='320x240', help='video WxH (synthetic native: 320x240)')
    p.add_argument('--random-weights', action='store_true',
                   help='use randomly initialised weights even if trained ones exist')
    p.add_argument('--work-dir', default=os.path.join(ROOT, 'work_dirs', 'bench_demo'))
    a = p.parse_args(argv)
    os.makedirs(a.work_dir, exist_ok=True)
    size = tuple(int(x) for x in a.size.split('x'))
    det_ckpt, act_ckpt = a.det_checkpoint, a.checkpoint
    found = {} if a.random_weights else {k: find_trained(k) for k in ('det', 'action')}
    weights = []
    if not det_ckpt and found.get('det'):
        a.det_config, det_ckpt = found['det']
        weights.append(f'detector trained ({det_ckpt})')
    if not act_ckpt and found.get('action'):
        a.config, act_ckpt = found['action']
        weights.append(f'action model trained ({act_ckpt})')
    if not (det_ckpt and act_ckpt):
        det_rand, act_rand = random_checkpoints(a.work_dir, a.det_config, a.config)
        if not det_ckpt:
            det_ckpt = det_rand
            weights.append('detector RANDOM')
        if not act_ckpt:
            act_ckpt = act_rand
            weights.append('action model RANDOM')
    weights = ', '.join(weights) or 'as given'
    label_map = a.label_map or os.path.join(a.work_dir, 'labels.txt')
    if not a.label_map:
        from stad.data.synth import LABELS
        with open(label_map, 'w') as f:
            f.write(''.join(f'{i}: {n}\n' for i, n in enumerate(LABELS)))
    rows = []
    videos = make_videos(a.work_dir, a.frames, a.factor, size)
    for n, video in zip((a.frames, a.frames * a.factor), videos):
        args = [video, None, '--config', a.config, '--checkpoint', act_ckpt, '--det-config',
                a.det_config, '--det-checkpoint', det_ckpt, '--det-score-thr',
                str(a.det_score_thr), '--action-score-thr', str(a.action_score_thr),
                '--label-map', label_map, '--predict-stepsize', '8', '--output-stepsize', '4',
                '--output-fps', '6', '--short-side', str(a.short_side), '--device', 'cpu']
        ours_args = list(args)
        ours_args[1] = os.path.join(a.work_dir, f'ours_{n}.mp4')
        up_args = list(args)
        up_args[1] = os.path.join(a.work_dir, f'upstream_{n}.mp4')
        ours = measure([sys.executable, DEMO_SCRIPT, *ours_args])
        up = measure([sys.executable, os.path.abspath(__file__), '_upstream', *up_args])
        boxes_ours = re.search(r'(\d+) person boxes', ours[2])
        boxes_up = re.search(r'boxes=(\d+)', up[2])
        rows.append((n, ours[0], up[0], ours[1], up[1],
                     boxes_ours.group(1) if boxes_ours else '?',
                     boxes_up.group(1) if boxes_up else '?'))
    print(f'\nstad demo vs mmaction2 demo_spatiotemporal_det.py flow; weights: {weights}')
    print(f'video: synthetic {a.size} @ 25 fps (long = short x {a.factor}); '
          f'--predict-stepsize 8 --output-stepsize 4 --output-fps 6; '
          f'det thr {a.det_score_thr}, action thr {a.action_score_thr}')
    print(f'note: {UPSTREAM_FIXES}.')
    print('| frames | ours s | upstream s | upstream/ours | ours peak RSS MiB | '
          'upstream peak RSS MiB | boxes ours / upstream |')
    print('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for n, to, tu, ro, ru, bo, bu in rows:
        print(f'| {n} | {to:.1f} | {tu:.1f} | {tu / to:.2f} | {ro:.0f} | {ru:.0f} | {bo} / {bu} |')
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '_upstream':
        import stad  # noqa: F401  (stack fixes: mmaction's missing drn, torch.load allow-list)
        upstream_demo(_compat_parser().parse_args(sys.argv[2:]))
        sys.exit(0)
    sys.exit(main())
