"""Tracking quality and speed of every tracker of stad.apis.tracking (mmdet's ByteTrack,
OC-SORT) on person proposals, against the MOT ground truth of person identities that
`stad synth` writes (ROOT/trainval/mot/<sport>/<video>.txt).

Each tracker runs over every video of the split frame by frame (one tracker step per
video frame, empty frames included), on the proposal pickle's boxes (normalised x1 y1 x2
y2 + score, converted to pixels with the ground truth's resolution), once per detector
score threshold (boxes below it dropped before tracking). Boxes the tracker does not
follow (id 0) are left out of its tracks, as a MOT tracker's output leaves them out.
Metrics: stad.evaluation.tracking (TrackEval's HOTA, CLEAR, Identity; IoU 0.5 for
IDF1, MOTA and ID switches), pooled over the videos.

    python tools/benchmarks/bench_tracking.py --root data/synthetic
    python tools/benchmarks/bench_tracking.py --root /tmp/ids \\
        --proposals data/synthetic/annotations/multisports_proposals_val.pkl

Columns: HOTA, DetA, AssA; IDF1; IDSW (CLEAR ID switches); MOTA; trk/pers = distinct
track ids paired with a true person at IoU >= 0.5, averaged over the people paired at
least once (1 = one track per person); ids/pers = all track ids / true people;
ms/frame = tracker time per video frame (mmdet imported and warmed up beforehand).
"""
import argparse
import os
import sys
import time

import numpy as np

from stad.apis.tracking import TRACKERS, make_tracker, track_frames
from stad.data.gt import load_gt, split_videos
from stad.errors import StadError
from stad.evaluation.tracking import evaluate_tracking
from stad.io.layout import DataLayout, parse_img_key
from stad.io.mot import load_mot, save_mot, tracked_rows
from stad.io.proposals import load_proposals


def proposals_in_pixels(proposals: dict, gt: dict, videos) -> dict:
    """``{video: {frame: (N, 5) pixels + score}}`` of the ``videos``."""
    wanted = set(videos)
    out = {v: {} for v in videos}
    for key, arr in proposals.items():
        video, frame = parse_img_key(key)
        if video not in wanted:
            continue
        h, w = gt['resolution'][video]
        dets = np.array(arr, dtype=np.float64).reshape(-1, arr.shape[1])
        if dets.shape[1] == 4:
            dets = np.concatenate([dets, np.ones((len(dets), 1))], axis=1)
        dets[:, :4] *= np.array([w, h, w, h], dtype=np.float64)
        out[video][frame] = dets
    return out


def run_tracker(kind: str, dets: dict, nframes: dict, score_thr: float):
    """``({video: MOT rows}, seconds, frames)`` of one tracker over every video."""
    pred, seconds, frames = {}, 0.0, 0
    for video, per_frame in dets.items():
        n = int(nframes[video])
        seq = []
        for f in range(1, n + 1):
            d = per_frame.get(f, np.zeros((0, 5)))
            seq.append(d[d[:, 4] >= score_thr])
        t0 = time.perf_counter()
        ids = track_frames(seq, kind)
        seconds += time.perf_counter() - t0
        frames += n
        pred[video] = tracked_rows(seq, ids)
    return pred, seconds, frames


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--root', required=True,
                   help='dataset root with trainval/multisports_GT.pkl and trainval/mot/ '
                        '(written by `stad synth`)')
    p.add_argument('--split', default='val', choices=('train', 'val'))
    p.add_argument('--proposals', default=None,
                   help='proposal pickle (default ROOT/annotations/multisports_proposals_SPLIT.pkl)')
    p.add_argument('--trackers', nargs='+', default=list(TRACKERS), choices=TRACKERS)
    p.add_argument('--score-thr', nargs='+', type=float, default=[0.0, 0.5],
                   help='detector score thresholds applied before tracking (0 = every proposal)')
    p.add_argument('--per-video', action='store_true', help='also print each video')
    p.add_argument('--save-dir', default=None,
                   help='write each run\'s tracks as MOT files DIR/<tracker>_thr<T>/<video>.txt')
    a = p.parse_args(argv)
    try:
        return _bench(a)
    except StadError as e:
        print(f'bench_tracking: error: {e}', file=sys.stderr)
        return 1


def _bench(a) -> int:
    layout = DataLayout(a.root)
    gt = load_gt(layout.gt_file)
    videos = split_videos(gt)[a.split]
    missing = [v for v in videos if not os.path.isfile(layout.mot_gt(v))]
    if missing:
        raise StadError(f'{layout.mot_gt(missing[0])}: no MOT ground truth ({len(missing)} of '
                        f'{len(videos)} {a.split} videos); `stad synth` writes it')
    gt_tracks = {v: load_mot(layout.mot_gt(v)) for v in videos}
    proposal_file = a.proposals or layout.proposals(a.split)
    dets = proposals_in_pixels(load_proposals(proposal_file), gt, videos)
    nframes = {v: int(gt['nframes'][v]) for v in videos}
    n_boxes = sum(len(d) for per in dets.values() for d in per.values())
    scores = np.concatenate([d[:, 4] for per in dets.values() for d in per.values()] or
                            [np.zeros(0)])
    people = sum(len(np.unique(r[:, 1])) for r in gt_tracks.values())
    print(f'{a.split}: {len(videos)} videos, {sum(nframes.values())} frames, {people} people, '
          f'{sum(len(r) for r in gt_tracks.values())} ground-truth boxes; proposals '
          f'{os.path.basename(proposal_file)}: {n_boxes} boxes, scores '
          f'{scores.min(initial=1):.2f}..{scores.max(initial=0):.2f}')
    for kind in a.trackers:  # import mmdet and warm up outside the timing
        make_tracker(kind).update(np.array([[0, 0, 10, 10]], np.float32),
                                  np.array([0.9], np.float32), 0)

    head = (f'{"tracker":<10}{"score>=":>8}{"HOTA":>7}{"DetA":>7}{"AssA":>7}{"IDF1":>7}'
            f'{"IDSW":>6}{"MOTA":>7}{"trk/pers":>9}{"ids/pers":>9}{"ms/frame":>9}')
    print(head)
    per_video = []
    for thr in a.score_thr:
        for kind in a.trackers:
            pred, seconds, frames = run_tracker(kind, dets, nframes, thr)
            rep = evaluate_tracking(gt_tracks, pred, num_frames=nframes)
            s = rep.combined
            thr_s = 'all' if thr <= 0 else f'{thr:g}'
            print(f'{kind:<10}{thr_s:>8}{s.hota:7.3f}{s.deta:7.3f}{s.assa:7.3f}'
                  f'{s.idf1:7.3f}{s.id_switches:6d}{s.mota:7.3f}'
                  f'{s.tracks_per_person:9.2f}{s.pred_ids / max(1, s.gt_ids):9.2f}'
                  f'{1000 * seconds / max(1, frames):9.2f}', flush=True)
            if a.per_video:
                for v, vs in rep.videos.items():
                    per_video.append(f'  {kind:<10}{thr_s:>6} {v:<16} HOTA {vs.hota:.3f} '
                                     f'IDF1 {vs.idf1:.3f} IDSW {vs.id_switches} MOTA '
                                     f'{vs.mota:.3f} people {vs.gt_ids} ids {vs.pred_ids}')
            if a.save_dir:
                run = os.path.join(a.save_dir, f'{kind}_thr{thr:g}')
                for v, rows in pred.items():
                    save_mot(os.path.join(run, v + '.txt'), rows)
    if per_video:
        print('\n'.join(per_video))
    return 0


if __name__ == '__main__':
    sys.exit(main())
