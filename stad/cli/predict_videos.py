"""``stad predict-videos FOLDER --out RESULTS.json``: the demo's predictions (person
tracks, action segments, per-frame events) for every video of a folder, in one results
file; resumable, and sharded across processes with torchrun."""
from __future__ import annotations

from stad.cli import add_models, sub_parser
from stad.cli._backend import add_backend_options
from stad.cli._demo_options import add_prediction_options, add_runtime_options


def register(sub) -> None:
    p = sub_parser(
        sub, 'predict-videos',
        help='predict every video of a folder -> one results file (segments, events)',
        description='Run the demo\'s predictions (no rendering) on every video of FOLDER '
                    '(recursively, sorted) and write RESULTS.json: {"videos": [{"video": '
                    'path relative to FOLDER, "fps", "num_frames", "width", "height", '
                    '"segments", "events"}, ...], "models": what the run used}. Each video\'s '
                    'result is kept in RESULTS.json.parts/ as it finishes: a rerun skips the '
                    'videos done (and retries the failed ones); parts of other models or '
                    'options are refused. A video that cannot be predicted (undecodable, '
                    'shorter than the clip window) is an entry {"video", "error"}, the run '
                    'goes on and the exit status is 1. Sharded: torchrun --nproc-per-node N '
                    '-m stad predict-videos ... (each process its share of the videos, '
                    'on gloo; rank 0 writes RESULTS.json).')
    p.add_argument('folder', help='folder of videos (searched recursively)')
    p.add_argument('--out', required=True, metavar='RESULTS.json',
                   help='results file (JSON, written atomically when every video is done)')
    add_models(p, det=True, action=True, required=False)  # checked in _run (--onnx-dir)
    add_prediction_options(p)
    add_runtime_options(p)
    add_backend_options(p)
    p.add_argument('--threads', type=int,
                   help='torch threads of each process (default: the CPUs / the processes)')
    p.add_argument('--quiet', action='store_true', help='no progress lines')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.cli._backend import check_model_args
    from stad.cli._demo_options import demo_options
    from stad.errors import StadError
    from stad.tasks.batch_predict import predict_videos
    from stad.tasks.train import parse_cfg_options
    check_model_args(args)
    if args.threads is not None and args.threads < 1:
        raise StadError(f'--threads must be >= 1, got {args.threads}')
    s = predict_videos(args.folder, args.out, det_config=args.det_config,
                       det_checkpoint=args.det_checkpoint, config=args.config,
                       checkpoint=args.checkpoint, label_map=args.label_map,
                       options=demo_options(args), device=args.device,
                       cfg_options=parse_cfg_options(args.cfg_options), backend=args.backend,
                       onnx_dir=args.onnx_dir, precision=args.precision, threads=args.threads,
                       progress=not args.quiet)
    tag = f'[rank {s.rank}/{s.world_size}] ' if s.world_size > 1 else ''
    here = (f'{s.predicted} predicted now, {s.skipped} skipped: done before, '
            f'{s.failed_now} failed now, in {s.seconds:.1f} s')
    if s.merged:
        print(f'{s.out}: {s.videos} videos, {s.videos - s.failed} predicted, {s.failed} failed '
              f"({'rank 0: ' if s.world_size > 1 else ''}{here})")
    else:
        print(f'{tag}{s.share} videos: {here}')
    return 1 if s.failed else 0
