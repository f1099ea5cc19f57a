"""The demo's person tracks and labels against the synthetic generator's truth: tracks
per true person and label changes per track, tracking every frame (the demo's default)
and tracking keyframes only (the demo before it), side by side on the same models.

    python tools/benchmarks/bench_demo_tracks.py --det-checkpoint work_dirs/run/det/iter_600.pth \\
        --checkpoint work_dirs/run/action/iter_2400.pth

For every val video of the dataset (synthetic, with its MOT who-is-who ground truth):
stad.apis.video.predict_video (what `stad demo` draws) with DemoOptions(track_stride=S);
each drawn box on a tracked frame is paired with the true person it overlaps at IoU >= 0.5.
Columns: true people; tracks/person = distinct track ids paired with a person, averaged
over people; ids = all track ids / people; label changes per track on its keyframes (the
top label drawn, where one is drawn) against the ground truth's per person (its action
changes over the same keyframes).
"""
import argparse
import sys

import numpy as np

from stad.apis.action import load_action_model
from stad.apis.detect import FrameDetector, load_detector
from stad.apis.video import DemoOptions, predict_video
from stad.data.gt import frame_boxes, load_gt
from stad.evaluation.functional.iou import iou_matrix
from stad.io.layout import DataLayout
from stad.io.mot import load_mot, to_xyxy
from stad.io.video import VideoFrames
from stad.tasks.run import SYNTH_ACTION_CONFIG, SYNTH_DET_CONFIG


def measure(results, mot, gt, video, label_names):
    """(people, tracks per person, ids per person, predicted label changes per track,
    true label changes per person) of one video's demo results."""
    boxes = to_xyxy(mot)
    per_person: dict[int, set] = {}
    seq_pred: dict[int, list] = {}
    seq_true: dict[int, list] = {}
    truth = frame_boxes(gt, video)  # frame -> [(label, tube, box)]
    for r in results:
        f = r.frame_index + 1
        rows = np.flatnonzero(mot[:, 0] == f)
        if len(r.boxes) and len(rows):
            iou = iou_matrix(np.asarray(r.boxes, np.float64), boxes[rows])
            for j, t in enumerate(r.track_ids.tolist()):
                k = int(iou[j].argmax())
                if iou[j, k] >= 0.5:
                    person = int(mot[rows[k], 1])
                    per_person.setdefault(person, set()).add(t)
                    if r.is_keyframe and r.actions[j]:
                        seq_pred.setdefault(t, []).append(r.actions[j][0][0])
        if r.is_keyframe:
            for label, _, box in truth.get(f, []):
                rows_f = boxes[rows]
                if len(rows_f):
                    k = int(iou_matrix(np.asarray(box, np.float64)[None], rows_f)[0].argmax())
                    seq_true.setdefault(int(mot[rows[k], 1]), []).append(label_names[label])
    changes = [sum(a != b for a, b in zip(s, s[1:])) for s in seq_pred.values()]
    true_changes = [sum(a != b for a, b in zip(s, s[1:])) for s in seq_true.values()]
    people = len(np.unique(mot[:, 1]))
    ids = len({t for r in results for t in r.track_ids.tolist()})
    return people, [len(s) for s in per_person.values()], ids, changes, true_changes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--data-root', default='data/synthetic')
    p.add_argument('--det-config', default=SYNTH_DET_CONFIG)
    p.add_argument('--det-checkpoint', required=True)
    p.add_argument('--config', default=SYNTH_ACTION_CONFIG)
    p.add_argument('--checkpoint', required=True)
    p.add_argument('--strides', nargs='+', type=int, default=[1, 8])
    p.add_argument('--det-score-thr', nargs='+', type=float, default=[0.5])
    a = p.parse_args(argv)
    lay = DataLayout(a.data_root)
    gt = load_gt(lay.gt_file)
    am = load_action_model(a.config, a.checkpoint)
    label_map = dict(enumerate(gt['labels']))
    print(f'{"stride":<6}{"score":<7}{"people":>7}{"trk/pers":>9}{"max":>5}{"ids/pers":>9}'
          f'{"changes/track":>14}{"true changes/pers":>18}')
    runs = [(s, t) for t in a.det_score_thr for s in a.strides]
    for stride, thr in runs:
        det = FrameDetector(load_detector(a.det_config, a.det_checkpoint), score_thr=thr,
                            max_per_frame=10)
        opts = DemoOptions(det_score_thr=thr, action_score_thr=0.3, track_stride=stride,
                           track_buffer=30 if stride == 1 else 4)
        people, tpp, ids, ch, tch = 0, [], 0, [], []
        for video in sorted(gt['test_videos'][0]):
            res = predict_video(VideoFrames(lay.video_path(video)), det, am,
                                label_map=label_map, options=opts, progress=False)
            n, t, i, c, tc = measure(res, load_mot(lay.mot_gt(video)), gt, video,
                                     gt['labels'])
            people, tpp, ids, ch, tch = people + n, tpp + t, ids + i, ch + c, tch + tc
        print(f'{stride:<6}{thr:<7g}{people:7d}{np.mean(tpp):9.2f}{max(tpp):5d}{ids / people:9.2f}'
              f'{np.mean(ch):14.2f}{np.mean(tch):18.2f}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
