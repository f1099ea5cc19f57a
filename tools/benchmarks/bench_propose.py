"""Frames per second of `stad propose` (stream-decode, batched test_step) against the
upstream route (write every frame as JPEG with cv2, then ``mmdet.apis.inference_detector``
on each file as mmdet's image demo does, then convert), same checkpoint, same videos.

    python tools/benchmarks/bench_propose.py CONFIG CHECKPOINT --root data/synthetic \
        [--backend auto --onnx-dir DIR]

Wall and CPU time (this process's user + sys, all threads) of each route; the upstream
route always runs eager PyTorch (mmdet's ``inference_detector``), ours on ``--backend``.
"""
import argparse
import os
import sys
import tempfile
import time

import cv2

from stad.apis.detect import (
    FrameDetector,
    ProposalOptions,
    detect_videos,
    detections_to_array,
    load_detector,
    video_detectors,
)
from stad.data.gt import load_gt, split_videos
from stad.evaluation.proposals import compare_proposals
from stad.io.layout import DataLayout


def upstream_route(model, det, layout, videos, tmp, ext):
    from mmdet.apis import inference_detector
    out, frames = {}, DataLayout(tmp)
    for v in videos:
        cap, n = cv2.VideoCapture(layout.video_path(v)), 0
        os.makedirs(frames.frames_of(v), exist_ok=True)
        while True:
            ok, img = cap.read()
            if not ok:
                break
            n += 1
            cv2.imwrite(frames.frame_path(v, n)[:-4] + ext, img)
        cap.release()
        for i in range(1, n + 1):
            path = frames.frame_path(v, i)[:-4] + ext
            res = inference_detector(model, path)
            dets = detections_to_array(res.pred_instances, label=det.label,
                                       score_thr=det.score_thr, max_per_frame=det.max_per_frame)
            if len(dets):
                out[(v, i)] = dets
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--root', required=True)
    p.add_argument('--videos', type=int, default=2, help='first N val videos')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--backend', default='torch', help='ours: torch, onnxruntime, openvino, auto')
    p.add_argument('--onnx-dir', help='ours: the `stad export onnx` folder (other backends)')
    p.add_argument('--precision', default='f32', help='ours: f32, or bf16 (OpenVINO graphs)')
    p.add_argument('--workers', type=int, help='ours: as `stad propose --workers`')
    p.add_argument('--lossless', action='store_true',
                   help='upstream route writes PNG: isolates JPEG loss from pipeline differences')
    a = p.parse_args(argv)
    layout = DataLayout(a.root)
    gt = load_gt(layout.gt_file)
    videos = split_videos(gt)['val'][:a.videos]
    n_frames = sum(int(gt['nframes'][v]) for v in videos)
    model = load_detector(a.config, a.checkpoint)
    import torch
    threads = torch.get_num_threads()
    options = ProposalOptions(score_thr=a.score_thr, max_per_frame=10, batch_size=a.batch_size,
                              backend=a.backend, onnx_dir=a.onnx_dir, precision=a.precision,
                              workers=a.workers)
    # what `stad propose` runs: on a runtime backend one video per core at a time
    dets = video_detectors(a.config, a.checkpoint, options, len(videos))
    t0, c0 = time.perf_counter(), time.process_time()
    ours = {}
    for _, found, _ in detect_videos(dets, [(v, layout.video_path(v)) for v in videos],
                                     batch_size=a.batch_size):
        ours.update(found)
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    torch.set_num_threads(threads)  # a runtime Session set it to 1; upstream runs eager
    plain = FrameDetector(model, score_thr=a.score_thr, max_per_frame=10)
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        theirs = upstream_route(model, plain, layout, videos, tmp,
                                '.png' if a.lossless else '.jpg')
        t_up, c_up = time.perf_counter() - t0, time.process_time() - c0
    h, w = gt['resolution'][videos[0]]
    diff = compare_proposals(ours, theirs)  # both in pixels
    print(f'{len(videos)} videos, {n_frames} frames, {w}x{h}, batch {a.batch_size}')
    print(f'{"route":<44}{"wall s":>8}{"CPU s":>8}{"frames/s":>10}')
    ours_name = (f'stad propose ({dets[0].backend} {a.precision}, '
                 f'{len(dets)} video{"s" if len(dets) > 1 else ""} at a time)')
    print(f'{ours_name:<44}{t_ours:8.1f}{c_ours:8.1f}{n_frames / t_ours:10.1f}')
    up = f'upstream ({"PNG" if a.lossless else "JPEG"} + inference_detector)'
    print(f'{up:<44}{t_up:8.1f}{c_up:8.1f}{n_frames / t_up:10.1f}')
    print(f'speed-up wall x{t_up / t_ours:.2f}, CPU x{c_up / c_ours:.2f}; largest box difference '
          f'{diff["max_box_diff"]:.2f} px, '
          f'largest score difference {diff["max_score_diff"]:.3f} (boxes paired at IoU >= 0.5); '
          f'frames whose box count differs: {diff["frames_count_differs"]} of {diff["frames"]}, '
          f'unpaired boxes {diff["unpaired"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
