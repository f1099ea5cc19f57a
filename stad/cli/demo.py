"""``stad demo VIDEO OUT.mp4``: detect people, predict and track their actions, render a video."""
from __future__ import annotations

from stad.apis.tracking import TRACKERS
from stad.cli import add_models, sub_parser


def register(sub) -> None:
    p = sub_parser(sub, 'demo', help='render person boxes, track IDs and actions on a video -> mp4',
        description='Stream VIDEO: detect and track people on every frame (--track-stride), '
                    'predict their actions from the clip around each keyframe (every '
                    '--keyframe-stride frames, in batches), and write OUT.mp4 with boxes, '
                    "track IDs and the track's smoothed top actions on every frame "
                    '(--events / --segments: the same as data). Memory does not grow with the '
                    "video's length. demo/demo_spatiotemporal_det.py takes mmaction2's "
                    'demo arguments.')
    p.add_argument('video', help='input video')
    p.add_argument('out', help='output .mp4 (written atomically)')
    add_models(p, det=True, action=True)
    p.add_argument('--label-map', help="'id: name' per line (default: the config's "
                                       'class_names, else class indices)')
    p.add_argument('--det-score-thr', type=float, default=0.5,
                   help='keep person boxes scoring >= this ')
    p.add_argument('--det-cat-id', type=int,
                   help="detector class of 'person' (default: looked up by name)")
    p.add_argument('--action-score-thr', type=float, default=0.5,
                   help='show actions scoring > this ')
    p.add_argument('--topk', type=int, default=3, help='at most this many actions a person')
    p.add_argument('--tracker', default='bytetrack', choices=TRACKERS,
                   help="person tracker (mmdet's)")
    p.add_argument('--track-stride', type=int, default=1,
                   help='detect and track people on every N-th frame (1: every frame, which '
                        'keeps one ID per person; the action model runs on keyframes only)')
    p.add_argument('--track-buffer', type=int, default=30,
                   help='tracked frames a track may go unseen before it is dropped')
    p.add_argument('--label-window', type=int, default=3,
                   help="keyframes of a person's track whose action scores are averaged "
                        'for the labels drawn (1: every keyframe on its own)')
    p.add_argument('--keyframe-stride', '--predict-stepsize', dest='keyframe_stride',
                   type=int, default=8, help='frames between keyframes ')
    p.add_argument('--batch-size', type=int, default=4,
                   help='frames per detector pass, keyframes per action model pass')
    p.add_argument('--out-fps', type=positive_float,
                   help="output frame rate (default: the video's / --output-stride)")
    p.add_argument('--output-stride', type=int, default=1,
                   help='write every S-th frame')
    p.add_argument('--device', default='cpu', help="torch device ('cpu', 'cuda:0')")
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                   help='overrides of the action config')
    p.add_argument('--events', metavar='FILE.jsonl',
                   help='also write every drawn box as a JSON line: frame, time, track_id, '
                        'box, actions [[name, score], ...], keyframe')
    p.add_argument('--segments', metavar='FILE.json',
                   help="also write each person track's action segments: track_id, label, "
                        'start_frame, end_frame, start, end (s), mean_score')
    p.add_argument('--quiet', action='store_true', help='no progress bars')
    p.set_defaults(func=_run)


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (``nan`` and ``inf`` refused)."""
    import argparse
    import math
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number, got {text!r}') from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f'expected a finite number > 0, got {text!r}')
    return value


def _run(args) -> int:
    from stad.apis.video import DemoOptions
    from stad.tasks.demo import run_demo
    from stad.tasks.train import parse_cfg_options
    options = DemoOptions(det_score_thr=args.det_score_thr,
                          action_score_thr=args.action_score_thr,
                          keyframe_stride=args.keyframe_stride, batch_size=args.batch_size,
                          topk=args.topk, det_cat_id=args.det_cat_id,
                          tracker=args.tracker, track_stride=args.track_stride,
                          track_buffer=args.track_buffer, label_window=args.label_window)
    s = run_demo(args.video, args.out, det_config=args.det_config,
                 det_checkpoint=args.det_checkpoint, config=args.config,
                 checkpoint=args.checkpoint, label_map=args.label_map, options=options,
                 out_fps=args.out_fps, output_stride=args.output_stride, device=args.device,
                 cfg_options=parse_cfg_options(args.cfg_options), progress=not args.quiet,
                 events=args.events, segments=args.segments)
    print(f'{s.out}: {s.frames_written} frames {s.size[0]}x{s.size[1]} at {s.fps:g} fps, '
          f'{s.keyframes} keyframes, {s.boxes} person boxes, {s.tracks} tracks')
    return 0
