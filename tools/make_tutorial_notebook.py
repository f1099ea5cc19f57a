import nbformat as nbf
nb = nbf.v4.new_notebook()
C = []
md = lambda s: C.append(nbf.v4.new_markdown_cell(s.strip()))
code = lambda s: C.append(nbf.v4.new_code_cell(s.strip()))
md("""
# stad tutorial: spatio-temporal action detection, stage by stage

This notebook walks through every stage of stad on the embedded synthetic dataset
(rendered people doing *jumping jack*, *squat*, *wave* and *walk*), with the commands you
would type for real MultiSports data. `make run` (`stad run`) does all of it in one go;
here each stage is run by hand so you can look at what it produces.

It follows mmaction2's `projects/stad_tutorial` step by step; the README maps each of its
scripts to the stad command used here.

The first cell picks sizes: the defaults train real models in ~10 minutes on 2 CPU cores.
The test suite runs this notebook with `STAD_TUTORIAL_SMALL=1` (a few iterations, tiny
data: the models then learn nothing, the point is that every command works).
""")
code("""
import os, json, pickle, re, subprocess, sys
import numpy as np
from IPython.display import Image, display

SMALL = os.environ.get('STAD_TUTORIAL_SMALL') == '1'
WORK = os.environ.get('STAD_TUTORIAL_WORK', 'work_dirs/tutorial')
ROOT = f'{WORK}/data'                  # real data: data/multisports
VIDEOS, FRAMES, SIZE = (4, 40, '160x120') if SMALL else (16, 80, '320x240')
DET_ITERS, ACTION_ITERS = (4, 4) if SMALL else (None, None)   # None: the configs' own
DET_CFG = 'configs/detection/faster-rcnn_r18-c32-fpn64_scratch-1xb4-900it_synthetic-person.py'
ACT_CFG = 'configs/action/slowonly_scratch-r18-c16_1xb8-8x2x1-600i_synthetic-rgb.py'

from stad.apis.pipeline import cli_options, config_overrides
DET_OPTS = cli_options(config_overrides('det', ROOT, DET_ITERS))
ACT_OPTS = cli_options(config_overrides('action', ROOT, ACTION_ITERS))


def sh(cmd, keep=None):
    # Run a shell command (as `!cmd` would) and stop here if it fails.
    # keep: a regex; show only the last matching lines of long logs.
    p = subprocess.run(cmd, shell=True, text=True, capture_output=True)
    lines = (p.stdout + p.stderr).splitlines()
    if keep and p.returncode == 0:
        lines = [l for l in lines if re.search(keep, l)][-6:]
    print('\n'.join(lines[-40:]))
    if p.returncode:
        raise RuntimeError(f'exit {p.returncode}: {cmd}')
""")
md("""
## 1. Ground truth

MultiSports ships videos as `trainval/<sport>/<video>.mp4` and the ground truth as
`multisports_GT.pkl`: per video and label, *tubes* of `(frame, x1, y1, x2, y2)`.
For real data, put them under `data/multisports/trainval/`. Here we generate the
synthetic dataset in exactly that layout:
""")
code("""
sh(f'stad synth --out {ROOT} --videos {VIDEOS} --frames {FRAMES} --size {SIZE} --seed 0')
""")
md("""
`stad check` loads the pickle with a restricted unpickler (no code can run from it) and
checks its schema; with `--videos` it also checks every video's presence, size and
frame count. For real data: `stad check data/multisports/trainval/multisports_GT.pkl --videos data/multisports/trainval`.
""")
code("""
sh(f'stad check {ROOT}/trainval/multisports_GT.pkl --videos {ROOT}/trainval')
""")
code("""
from stad.data.gt import load_gt
gt = load_gt(f'{ROOT}/trainval/multisports_GT.pkl')
print('labels:', gt['labels'])
print('train videos:', gt['train_videos'][0][:3], '... val videos:', gt['test_videos'][0][:3])
video = gt['test_videos'][0][0]
for label, tubes in gt['gttubes'][video].items():
    print(f"{video}: {gt['labels'][label]!r}: {len(tubes)} tube(s), frames",
          [(int(t[0, 0]), int(t[-1, 0])) for t in tubes])
""")
md("""
## 2. Converting: COCO for the detector, AVA-style CSV for the action model

Replaces upstream's `generate_mmdet_anno.py` + `images2coco.py` (COCO) and
`parse_anno.py` (CSV). For real data: `stad convert --root data/multisports`.
""")
code("""
sh(f'stad convert --root {ROOT}')
coco = json.load(open(f'{ROOT}/annotations/multisports_det_anno_train.json'))
print(len(coco['images']), 'train images,', len(coco['annotations']), 'person boxes')
print(open(f'{ROOT}/annotations/multisports_train.csv').read().splitlines()[:3])
""")
md("""
Frames for the detector (upstream's `generate_rgb.py`, which writes every frame of one
sport): only annotated frames, every sport, in parallel, resumable.
""")
code("""
sh(f'stad extract-frames --root {ROOT} --frames annotated --workers 2')
""")
code("""
import cv2
from stad.visualization.draw import draw_boxes
from stad.data.layout import DataLayout
lay = DataLayout(ROOT)
f = int(list(gt['gttubes'][video].values())[0][0][len(list(gt['gttubes'][video].values())[0][0]) // 2, 0])
img = cv2.imread(lay.frame_path(video, f))
boxes, texts = [], []
for label, tubes in gt['gttubes'][video].items():
    for t in tubes:
        row = t[t[:, 0] == f]
        if len(row):
            boxes.append(row[0, 1:]); texts.append(gt['labels'][label])
out = draw_boxes(img, np.array(boxes).reshape(-1, 4), texts)
cv2.imwrite(f'{WORK}/gt_frame.png', out)
display(Image(f'{WORK}/gt_frame.png'))
""")
md("""
## 3. The person detector

Faster R-CNN (mmdet). The synthetic config trains a narrow ResNet-18 from scratch; for
real data use `configs/detection/faster-rcnn_r50-caffe-fpn_coco-pre-ms-2e_multisports-person.py`.
The same works with `mim train mmdet CONFIG` or `python tools/train.py CONFIG`;
add `--resume` to continue a killed run.
""")
code("""
sh(f'stad train det {DET_CFG} --work-dir {WORK}/det --cfg-options {DET_OPTS}',
   keep=r'Iter\(train\)|bbox_mAP|Saving')
""")
md("""
Proposals: the detector runs over the videos directly (no JPEGs), replacing upstream's
`mim test mmdet ... --out` + `convert_proposals.py`. It prints the recall of ground-truth
boxes at IoU 0.5 / 0.7.
""")
code("""
ckpt = open(f'{WORK}/det/last_checkpoint').read().strip()
sh(f'stad propose {DET_CFG} {ckpt} --root {ROOT} --work-dir {WORK}/propose --score-thr 0.3')
props = pickle.load(open(f'{ROOT}/annotations/multisports_proposals_val.pkl', 'rb'))
key = sorted(props)[0]
print(len(props), 'val frames with proposals; e.g.', key, props[key][:2])
""")
md("""
## 4. The action model

SlowOnly (mmaction2's FastRCNN + ResNet3dSlowOnly + AVA RoI head) on the proposals and
clips. For real data: `configs/action/slowonly_k400-pre-r50_8xb16-4x16x1-8e_multisports-rgb.py`.
""")
code("""
sh(f'stad train action {ACT_CFG} --work-dir {WORK}/action --cfg-options {ACT_OPTS}',
   keep=r'Iter\(train\)|frameAP|Saving')
""")
md("""
## 5. Evaluation: frame-mAP and video-mAP

The model predicts on every val frame that has proposals; `stad eval` scores the
detections with the published MultiSports protocol (all frames: detections on frames
without ground truth are false positives) and links them into tubes for video-mAP.
""")
code("""
from stad.apis.action import load_action_model, predict_dataset
from stad.evaluation.detections import save_detections
act_ckpt = open(f'{WORK}/action/last_checkpoint').read().strip()
am = load_action_model(ACT_CFG, act_ckpt)
dets = predict_dataset(am, ROOT, split='val', frames='proposals', progress=False)
save_detections(f'{WORK}/val_dets.pkl', gt, dets)
sh(f'stad eval --gt {ROOT}/trainval/multisports_GT.pkl --dets {WORK}/val_dets.pkl --out-dir {WORK}/eval')
""")
md("""
## 6. Demo

Detect people on keyframes, predict their actions, link them into tracks and render
everything onto the video (upstream's `demo/demo_spatiotemporal_det.py`; the script
`demo/demo_spatiotemporal_det.py` here accepts the same arguments).
""")
code("""
src = lay.video_path(video)
sh(f'stad demo {src} {WORK}/demo.mp4 --det-config {DET_CFG} --det-checkpoint {ckpt} --config {ACT_CFG} --checkpoint {act_ckpt} --label-map {ROOT}/annotations/multisports_label_map.txt --det-score-thr 0.3 --action-score-thr 0.3')
import decord
vr = decord.VideoReader(f'{WORK}/demo.mp4')
print(len(vr), 'frames rendered')
cv2.imwrite(f'{WORK}/demo_frame.png', vr[len(vr) // 2].asnumpy()[:, :, ::-1])
display(Image(f'{WORK}/demo_frame.png'))
""")
md("""
## All at once

`make run` (= `stad run`) runs these stages with resumption and writes
`work_dirs/run/metrics.json` and `report.md`. On real data:

```
stad run --data-root data/multisports \\
    --det-config configs/detection/faster-rcnn_r50-caffe-fpn_coco-pre-ms-2e_multisports-person.py \\
    --action-config configs/action/slowonly_k400-pre-r50_8xb16-4x16x1-8e_multisports-rgb.py
```
""")
nb.cells = C
nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
nbf.write(nb, 'demo/stad_tutorial.ipynb')
