"""``stad train CONFIG``: train the person detector or the action model."""
from __future__ import annotations

import sys

from stad.cli import sub_parser


def register(sub) -> None:
    p = sub_parser(sub, 'train', help='train the person detector or the action model',
                   description='Train with an mmdet or mmaction2 config. Same as `mim '
                               'train mmdet|mmaction2 CONFIG` with the same --cfg-options '
                               '(train_cfg.max_iters=N there changes only the length, as in '
                               'mim); --iters N also stretches the LR schedule to N.')
    p.add_argument('config', nargs='+', metavar='CONFIG',
                   help='the config file (an old leading det|action is ignored)')
    p.add_argument('--work-dir', help='default: work_dirs/<config name>')
    p.add_argument('--resume', action='store_true',
                   help='go on from the latest checkpoint in the work dir')
    p.add_argument('--iters', type=int,
                   help="train this many iterations (default: the config's), the "
                        'iteration-based LR schedule stretched to them')
    p.add_argument('--no-val', dest='validate', action='store_false',
                   help='no validation during training')
    p.add_argument('--data-root', metavar='ROOT',
                   help="an action model's classes (num_classes, topk, class_names) from "
                        "this dataset's label set, and its videos' frame rate for "
                        '--window-seconds')
    p.add_argument('--window-seconds', type=float, metavar='S',
                   help="prediction window (Create ML's): the action model's clip covers S "
                        'seconds at the frame rate (sets SampleAVAFrames.frame_interval, '
                        'keeps clip_len; the arithmetic is printed)')
    p.add_argument('--fps', type=float,
                   help="the videos' frame rate for --window-seconds (default: the median of "
                        "--data-root's videos)")
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                   help='config overrides, as mim train takes them')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.errors import StadError
    from stad.tasks.train import train
    config = list(args.config)
    if len(config) == 2 and config[0] in ('det', 'action'):
        print(f'stad train: the task argument {config[0]!r} is deprecated (the config '
              'says what it trains): stad train CONFIG', file=sys.stderr)
        config = config[1:]
    if len(config) != 1:
        raise StadError(f'expected one CONFIG, got {config}')
    labels, fps = None, args.fps
    if args.data_root:
        from stad.tasks.train import dataset_labels_fps
        labels, root_fps = dataset_labels_fps(args.data_root)
        fps = fps or root_fps
    if args.window_seconds is not None and fps is None:
        raise StadError('--window-seconds needs --fps or --data-root (its videos\' frame rate)')
    train(config[0], work_dir=args.work_dir, resume=args.resume,
          cfg_options=args.cfg_options, iters=args.iters, validate=args.validate,
          labels=labels, window_seconds=args.window_seconds, fps=fps)
    return 0
