"""``stad demo SOURCE OUT.mp4``: detect people, predict and track their actions, render a video."""
from __future__ import annotations

from stad.cli import add_models, sub_parser
from stad.cli._backend import add_backend_options, check_model_args
from stad.cli._demo_options import add_prediction_options, add_runtime_options
from stad.io.live import STDIN_FORMAT, is_live


def register(sub) -> None:
    p = sub_parser(sub, 'demo', help='render person boxes, track IDs and actions on a video -> mp4',
        description='Stream SOURCE (a video file; live sources below): detect and track '
                    'people on every frame (--track-stride), '
                    'predict their actions from the clip around each keyframe (every '
                    '--keyframe-stride frames, in batches), and write OUT.mp4 with boxes, '
                    "track IDs and the track's smoothed top actions on every frame "
                    '(--events / --segments: the same as data). Memory does not grow with the '
                    "video's length. demo/demo_spatiotemporal_det.py takes mmaction2's "
                    'demo arguments.')
    p.add_argument('video', metavar='SOURCE',
                   help='input video file, or a live source (live mode, see below): a camera '
                        'index (0, 1), a URL (rtsp://, http(s)://, udp://, tcp://) or - ('
                        + STDIN_FORMAT + ')')
    p.add_argument('out', help='output .mp4 (written atomically)')
    add_models(p, det=True, action=True, required=False)  # checked in _run (--onnx-dir)
    add_prediction_options(p)
    p.add_argument('--out-fps', type=positive_float,
                   help="output frame rate (default: the video's / --output-stride)")
    p.add_argument('--output-stride', type=int, default=1,
                   help='write every S-th frame')
    add_runtime_options(p)
    p.add_argument('--events', metavar='FILE.jsonl',
                   help='also write every drawn box as a JSON line: frame, time, track_id, '
                        'box, actions [[name, score], ...], keyframe')
    p.add_argument('--segments', metavar='FILE.json',
                   help="also write each person track's action segments: track_id, label, "
                        'start_frame, end_frame, start, end (s), mean_score')
    add_backend_options(p)
    p.add_argument('--quiet', action='store_true', help='no progress bars')
    add_live_options(p)
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
    check_model_args(args)
    from stad.cli._demo_options import demo_options
    from stad.tasks.demo import run_demo
    from stad.tasks.train import parse_cfg_options
    options = demo_options(args)
    if is_live(args.video) or _live_only_options(args):
        return _run_live(args, options)
    s = run_demo(args.video, args.out, det_config=args.det_config,
                 det_checkpoint=args.det_checkpoint, config=args.config,
                 checkpoint=args.checkpoint, label_map=args.label_map, options=options,
                 out_fps=args.out_fps, output_stride=args.output_stride, device=args.device,
                 cfg_options=parse_cfg_options(args.cfg_options), progress=not args.quiet,
                 events=args.events, segments=args.segments, backend=args.backend,
                 onnx_dir=args.onnx_dir, precision=args.precision)
    print(f'{s.out}: {s.frames_written} frames {s.size[0]}x{s.size[1]} at {s.fps:g} fps, '
          f'{s.keyframes} keyframes, {s.boxes} person boxes, {s.tracks} tracks')
    return 0


# ------------------------------------------------------------------------ live mode

_LIVE_OPTIONS = ('input_size', 'input_fps', 'max_seconds', 'max_frames')


def add_live_options(p) -> None:
    """The options of a live SOURCE (stad.tasks.live)."""
    import textwrap
    g = p.add_argument_group('live sources', textwrap.fill(  # the help keeps line breaks
        'A camera index, a URL or - runs in live mode: reading, detection + '
        'tracking, the action model and writing run at once, joined by bounded queues; when '
        'inference falls behind, stale keyframes and detector frames are dropped (oldest '
        'first), memory stays bounded and OUT.mp4 keeps real time (every captured frame, '
        'drawn with the latest known boxes and labels). Stops at the end of the stream, '
        'at --max-seconds / --max-frames, or on Ctrl-C (the mp4 is written up to then), '
        'then prints per-stage latency and drops. --events then grows as the run goes; '
        '--segments is written at the end. Example: ffmpeg -re -i in.mp4 -f rawvideo '
        '-pix_fmt bgr24 - | stad demo - out.mp4 --input-size 320x240 --input-fps 25 ...',
        width=78))
    g.add_argument('--input-size', metavar='WxH',
                   help='frame size of - (required); other live sources are resized to it')
    g.add_argument('--input-fps', type=positive_float, metavar='F',
                   help="frame rate of - (required); replaces a live source's own rate")
    g.add_argument('--max-seconds', type=positive_float, metavar='S',
                   help='stop a live run after S seconds')
    g.add_argument('--max-frames', type=int, metavar='N',
                   help='stop a live run after N captured frames')
    g.add_argument('--source-timeout', type=positive_float, default=10.0, metavar='S',
                   help='seconds a URL may take to open, or stall while reading')


def _live_only_options(args) -> list[str]:
    return ['--' + n.replace('_', '-') for n in _LIVE_OPTIONS if getattr(args, n) is not None]


def _run_live(args, options) -> int:
    from stad.errors import StadError
    from stad.tasks.live import run_live
    from stad.tasks.train import parse_cfg_options
    if not is_live(args.video):
        raise StadError(f'{args.video}: {", ".join(_live_only_options(args))}: only for a live '
                        'source (a camera index, a URL or -), not a video file')
    if args.out_fps is not None or args.output_stride != 1:
        raise StadError(f'{args.video}: --out-fps / --output-stride apply to video files; a '
                        "live run writes every frame at the source's rate (--input-fps)")
    s = run_live(args.video, args.out, det_config=args.det_config,
                 det_checkpoint=args.det_checkpoint, config=args.config,
                 checkpoint=args.checkpoint, options=options,
                 backend=getattr(args, 'backend', 'torch'),
                 onnx_dir=getattr(args, 'onnx_dir', None),
                 precision=getattr(args, 'precision', 'f32'), label_map=args.label_map,
                 device=args.device, cfg_options=parse_cfg_options(args.cfg_options),
                 input_size=args.input_size, input_fps=args.input_fps,
                 max_seconds=args.max_seconds, max_frames=args.max_frames,
                 source_timeout=args.source_timeout, events=args.events,
                 segments=args.segments, progress=not args.quiet)
    print(s.report())
    return 0
