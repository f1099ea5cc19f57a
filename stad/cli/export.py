"""``stad export cvat --data-root ROOT [--detections FILE] --out FILE_OR_DIR``: ground
truth or a model's predictions as CVAT for video 1.1 XML, to correct in CVAT.
``stad export onnx MODEL OPTIONS --out DIR``: both models to ONNX, parity-checked."""
from __future__ import annotations

from stad.cli import add_data_root, add_models, sub_parser


def register(sub) -> None:
    p = sub_parser(sub, 'export', help='export ground truth or predictions for correction '
                                       '(CVAT for video 1.1 XML), or the models to ONNX',
                   description='Write a dataset\'s ground truth, or the predictions of a '
                               'trained model, in a labelling tool\'s format so a person '
                               'loads them as pre-annotations and corrects them.')
    fmts = p.add_subparsers(dest='format', metavar='FORMAT', required=True,
                            help='the labelling tool format to write')
    c = sub_parser(fmts, 'cvat', help='CVAT for video 1.1 XML',
                   description='One CVAT task per video, one track per person (MOT identities '
                               'of the ground truth, or the person tracks of the detections), '
                               'every box a keyframe with its action as the "action" attribute '
                               '(none: no action), outside="1" after each run. A folder --out '
                               'gets <sport>/<video>.xml per video (upload each to its CVAT '
                               'task as "CVAT 1.1"); a .xml --out one file (a project export '
                               'for several videos). `stad import cvat` reads them back. '
                               'Predictions: each track\'s action segments are cut with '
                               'video-mAP\'s tracks linker; a frame in two segments takes the '
                               'higher-scored one. Details: stad.tasks.export.')
    add_data_root(c)
    c.add_argument('--detections', default=None, metavar='FILE',
                   help='detections of `stad predict` (with person track ids); default: '
                        'export the ground truth')
    c.add_argument('--out', required=True, metavar='FILE_OR_DIR',
                   help='folder (one XML per video) or a .xml file')
    c.add_argument('--video', action='append', default=None, metavar='VIDEO',
                   help='export only this video id (repeat; default: all, or the split\'s)')
    c.add_argument('--split', default='val', choices=['val', 'train'],
                   help='with --detections: the split the detections are of')
    c.add_argument('--min-len', type=int, default=None,
                   help='with --detections: drop segments shorter than this many frames '
                        '(default: the tracks linker\'s, 8)')
    c.add_argument('--smooth', type=int, default=None,
                   help='with --detections: score smoothing window in frames (default: the '
                        'tracks linker\'s, 15)')
    c.set_defaults(func=_run)

    o = sub_parser(fmts, 'onnx', help='the person detector and the action model to ONNX',
                   description='Write DIR/detector_features.onnx (image -> FPN features + RPN '
                               'maps), DIR/detector_roi_head.onnx (features + boxes -> box '
                               'scores and deltas), DIR/action.onnx (normalised clip + boxes -> '
                               'action probabilities) and DIR/stad_export.json (labels, clip '
                               'sampling, input size, normalisation, stad version, both '
                               'configs; also in each file\'s ONNX metadata). RoIAlign is '
                               "torchvision's (same values as mmcv's). After the export a "
                               'parity check runs ONNX Runtime and OpenVINO (f32) against eager '
                               'PyTorch: boxes within 1 px, action probabilities within 1e-4, '
                               'else it fails and writes nothing. Run the files with `stad demo '
                               '--backend onnxruntime|openvino --onnx-dir DIR`.')
    add_models(o, det=True, action=True)
    o.add_argument('--out', required=True, metavar='DIR', help='export folder')
    o.add_argument('--video', help='frames for the parity check (default: a synthetic video)')
    o.add_argument('--overwrite', action='store_true', help='replace a non-empty DIR')
    o.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                   help='overrides of the action config')
    o.set_defaults(func=_run_onnx)


def _run_onnx(args) -> int:
    from stad.tasks.export_onnx import run_export_onnx
    from stad.tasks.train import parse_cfg_options
    run_export_onnx(args.out, det_config=args.det_config, det_checkpoint=args.det_checkpoint,
                    config=args.config, checkpoint=args.checkpoint, video=args.video,
                    cfg_options=parse_cfg_options(args.cfg_options), overwrite=args.overwrite)
    return 0


def _run(args) -> int:
    from stad.tasks.export import export_cvat_gt, export_cvat_predictions
    if args.detections:
        opts = {k: v for k, v in (('min_len', args.min_len), ('smooth', args.smooth))
                if v is not None}
        summary = export_cvat_predictions(args.detections, args.data_root, args.out,
                                          split=args.split, videos=args.video, **opts)
    else:
        summary = export_cvat_gt(args.data_root, args.out, videos=args.video)
    for line in summary.lines:
        print(line)
    print(f'wrote {len(summary.files)} CVAT XML files'
          + (f' to {args.out}' if len(summary.files) != 1 else f': {summary.files[0]}'))
    return 0
