"""How hard each synthetic preset is to track: the generator's own boxes, perturbed like a
good detector's, through stad's trackers, scored against the generator's who-is-who.

For each preset (``default``, ``hard``: stad.data.synth.PRESETS) the first ``--videos``
videos of ``plan_dataset(seed, videos, size, frames, preset)`` are rendered in memory
(no files). Every ground-truth box of every frame becomes a detection: each coordinate
moved by Gaussian noise of ``--jitter`` pixels (sd), clipped to the image, and
``--drop`` of the boxes left out at random (a missed detection); the score is uniform in
[0.8, 1] (above ByteTrack's and OC-SORT's thresholds to start and keep a track). Each
tracker of stad.apis.tracking (mmdet's ByteTrack, OC-SORT; default options) then runs on
every frame of the video (``track_frames``, one step per frame, empty frames
included); boxes it does not follow (id 0) are left out of its tracks. Scores:
stad.evaluation.tracking.evaluate_tracking against the MOT ground truth of the
generator (``identity_rows``: every box of every tube with its person's id), pooled
over the videos; the dropped boxes stay in the ground truth (misses).

    python tools/benchmarks/bench_synth_tracking.py
    python tools/benchmarks/bench_synth_tracking.py --videos 16 --seed 1 --drop 0.2

Columns: people = true people (ids) in the videos; HOTA, IDF1, MOTA; IDSW = CLEAR ID
switches; trk/pers = distinct track ids paired with a true person at IoU >= 0.5,
averaged over the people (1 = one track per person); ids/pers = all track ids / true
people; s = tracker seconds (mmdet imported and warmed up beforehand).
"""
import argparse
import sys
import time

import numpy as np

from stad.apis.tracking import TRACKERS, track_frames
from stad.data.synth import PRESETS, identity_rows, plan_dataset, render_video_with_ids
from stad.evaluation.tracking import evaluate_tracking
from stad.io.mot import to_xyxy, tracked_rows


def detections(gt_rows: np.ndarray, n_frames: int, size: tuple[int, int], jitter: float,
               drop: float, rng: np.random.Generator) -> list[np.ndarray]:
    """One ``(N, 5)`` array (x1 y1 x2 y2 pixels, score) per frame: the ground-truth boxes
    jittered, some dropped."""
    w, h = size
    boxes = to_xyxy(gt_rows) + rng.normal(0.0, jitter, (len(gt_rows), 4))
    boxes = np.clip(boxes, 0, [w, h, w, h])
    scores = rng.uniform(0.8, 1.0, len(gt_rows))
    keep = (rng.uniform(size=len(gt_rows)) >= drop) & (boxes[:, 2] > boxes[:, 0] + 1) \
        & (boxes[:, 3] > boxes[:, 1] + 1)
    frames = gt_rows[:, 0].astype(int)
    out = []
    for f in range(1, n_frames + 1):
        sel = keep & (frames == f)
        out.append(np.concatenate([boxes[sel], scores[sel, None]], axis=1))
    return out


def tracks(dets: list[np.ndarray], kind: str) -> tuple[np.ndarray, float]:
    """(MOT rows of the followed boxes, seconds)."""
    t0 = time.perf_counter()
    ids = track_frames(dets, kind)
    seconds = time.perf_counter() - t0
    return tracked_rows(dets, ids), seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--presets', nargs='+', default=list(PRESETS), choices=list(PRESETS))
    ap.add_argument('--trackers', nargs='+', default=list(TRACKERS), choices=list(TRACKERS))
    ap.add_argument('--videos', type=int, default=8, help='videos per preset')
    ap.add_argument('--seed', type=int, default=0, help='seed of the set and of the noise')
    ap.add_argument('--size', default='320x240', help='WxH')
    ap.add_argument('--frames', type=int, default=80)
    ap.add_argument('--jitter', type=float, default=2.0, help='box noise, pixels (sd)')
    ap.add_argument('--drop', type=float, default=0.1, help='share of boxes left out')
    args = ap.parse_args(argv)
    size = tuple(int(x) for x in args.size.lower().split('x'))

    track_frames([np.array([[0, 0, 10, 10, 0.9]])], args.trackers[0])  # import + warm up
    print(f'seed {args.seed}, {args.videos} videos of {args.frames} frames at {args.size} '
          f'per preset; detections = ground truth + N(0, {args.jitter} px), '
          f'{args.drop:.0%} dropped, scores U(0.8, 1)')
    print('| preset | tracker | people | HOTA | IDF1 | MOTA | IDSW | trk/pers | ids/pers | s |')
    print('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for preset in args.presets:
        plans, _, _ = plan_dataset(seed=args.seed, videos=max(2, args.videos), size=size,
                                   frames=args.frames, preset=preset)
        rng = np.random.default_rng(args.seed)
        gt, dets = {}, {}
        for video, plan in list(plans.items())[:args.videos]:
            _, tubes, tube_ids = render_video_with_ids(plan)
            gt[video] = identity_rows(tubes, tube_ids)
            dets[video] = detections(gt[video], plan.frames, size, args.jitter, args.drop, rng)
        nframes = {v: plans[v].frames for v in gt}
        for kind in args.trackers:
            pred, seconds = {}, 0.0
            for video in gt:
                pred[video], s = tracks(dets[video], kind)
                seconds += s
            c = evaluate_tracking(gt, pred, num_frames=nframes).combined
            print(f'| {preset} | {kind} | {c.gt_ids} | {c.hota:.3f} | {c.idf1:.3f} | '
                  f'{c.mota:.3f} | {c.id_switches} | {c.tracks_per_person:.2f} | '
                  f'{c.pred_ids / max(1, c.gt_ids):.2f} | {seconds:.1f} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
