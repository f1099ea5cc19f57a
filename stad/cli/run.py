"""``stad run``: the whole pipeline (what ``make run`` calls)."""
from __future__ import annotations

from stad.apis.tracking import TRACKERS
from stad.cli import sub_parser


def register(sub) -> None:
    from stad.tasks.run import RunOptions
    d = RunOptions()
    p = sub_parser(sub, 'run', help='the whole pipeline: data, detector, proposals, SlowOnly, eval, demo',
        description='Run every stage, skipping those whose outputs are complete (a rerun '
                    'after a kill resumes). On the synthetic default it generates the data; '
                    'for real MultiSports data pass --data-root and the real-data configs.')
    p.add_argument('--data-root', default=d.data_root, metavar='ROOT',
                   help='dataset root (MultiSports layout)')
    p.add_argument('--work-dir', default=d.work_dir,
                   help="checkpoints, proposals' cache, evaluation, demo, logs, report")
    p.add_argument('--det-config', default=d.det_config, help='mmdet person detector config')
    p.add_argument('--action-config', default=d.action_config,
                   help='mmaction2 action model config')
    p.add_argument('--synth', action='store_true', default=None,
                   help='generate a synthetic dataset at --data-root if it has no ground truth')
    p.add_argument('--seed', type=int, default=d.seed,
                   help='seed of the synthetic data and of both trainings')
    p.add_argument('--synth-videos', type=int, default=d.synth_videos,
                   help='videos of a generated synthetic dataset')
    p.add_argument('--synth-val-videos', type=int, default=d.synth_val_videos,
                   help='of which in the val split')
    p.add_argument('--synth-preset', default=d.synth_preset, choices=('default', 'hard'),
                   help='a generated synthetic dataset: the default, or the hard one where '
                        'tracking matters (stad synth --preset)')
    p.add_argument('--propose-train-stride', type=int, default=d.propose_train_stride,
                   help='detect on every n-th train frame (val: always every frame)')
    p.add_argument('--det-iters', type=int, help="override the detector config's iterations")
    p.add_argument('--action-iters', type=int, help="override the action config's iterations")
    p.add_argument('--eval-mode', default=d.eval_mode,
                   choices=['all_frames', 'annotated_frames', 'all', 'annotated'],
                   help='frames the evaluation counts (see stad eval --mode)')
    p.add_argument('--tracker', default=d.tracker, choices=TRACKERS,
                   help="person tracker of the proposals (mmdet's)")
    p.add_argument('--linker', default=d.linker, choices=['tracks', 'moc'],
                   help="video-mAP tubes: from the person tracks, or linked per class "
                        "(MOC); see stad eval --linker")
    p.add_argument('--no-demo', dest='demo', action='store_false',
                   help='skip rendering the demo video')
    g = p.add_argument_group('your own annotations (docs/custom-data.md)')
    g.add_argument('--source', metavar='PATH',
                   help='import these annotations into WORK_DIR/data first (as stad import '
                        'does) and train on them instead of --data-root: a MultiSports root, '
                        'CVAT XML, AVA CSV folder, Create ML folders or annotation file')
    g.add_argument('--source-format', default='auto',
                   choices=('auto', 'multisports', 'cvat', 'ava', 'createml'),
                   help='the format of --source (auto: from its files)')
    g.add_argument('--det-checkpoint',
                   help='a trained person detector for --det-config: no detector training '
                        '(Create ML sources are labelled with it; without it, the detector '
                        'is trained on the synthetic default first)')
    g.add_argument('--negative-class', metavar='LABEL',
                   help="Create ML's negative class: trained, left out of the mean AP")
    g.add_argument('--window-seconds', type=float, metavar='S',
                   help="the action model's clip spans S seconds at the videos' frame rate "
                        '(sets frame_interval; the arithmetic is printed)')
    p.set_defaults(func=_run)


def _run(args) -> int:
    from stad.evaluation.functional.multisports import check_mode
    from stad.tasks.run import RunOptions, run_pipeline
    run_pipeline(RunOptions(
        data_root=args.data_root, work_dir=args.work_dir, det_config=args.det_config,
        action_config=args.action_config, synth=args.synth, seed=args.seed,
        synth_videos=args.synth_videos, synth_val_videos=args.synth_val_videos,
        synth_preset=args.synth_preset,
        propose_train_stride=args.propose_train_stride, det_iters=args.det_iters,
        action_iters=args.action_iters, eval_mode=check_mode(args.eval_mode),
        tracker=args.tracker, linker=args.linker,
        demo=args.demo, source=args.source, source_format=args.source_format,
        det_checkpoint=args.det_checkpoint, negative_class=args.negative_class,
        window_seconds=args.window_seconds))
    return 0
