"""Render docs/images/synthetic_frame.png: a synthetic frame with its GT boxes and labels.

Picks, among the first videos of the default synthetic dataset (seed 0), the frame
showing the most different actions (ties: more boxes, wider poses).
"""
import argparse

import cv2
import numpy as np

from stad.data.synth import LABELS, plan_dataset, render_video
from stad.visualization.draw import draw_boxes


def frame_boxes(tubes, frame):
    rows = [(lab, t[t[:, 0] == frame][0, 1:]) for lab, ts in tubes.items() for t in ts
            if (t[:, 0] == frame).any()]
    return [r[0] for r in rows], np.array([r[1] for r in rows]).reshape(-1, 4)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='docs/images/synthetic_frame.png')
    p.add_argument('--videos', type=int, default=8, help='videos to search')
    args = p.parse_args()
    plans, _, _ = plan_dataset(seed=0)
    best = None
    for vid in list(plans)[:args.videos]:
        imgs, tubes = render_video(plans[vid])
        for f in range(1, len(imgs) + 1):
            labels, boxes = frame_boxes(tubes, f)
            score = (len(set(labels)), len(labels),
                     float(((boxes[:, 2] - boxes[:, 0]) / (boxes[:, 3] - boxes[:, 1])).sum()))
            if best is None or score > best[0]:
                best = (score, vid, f, imgs[f - 1], labels, boxes)
    _, vid, f, img, labels, boxes = best
    out = draw_boxes(img, boxes, [LABELS[lab] for lab in labels], labels)
    cv2.imwrite(args.out, cv2.resize(out, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))
    print(f'{args.out}: {vid} frame {f}')
