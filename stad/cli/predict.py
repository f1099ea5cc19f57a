"""``stad predict --config C --checkpoint C.pth --data-root ROOT --out DETS.pkl``: the
detections file ``stad eval`` reads."""
from __future__ import annotations

from stad.cli import add_data_root, add_models, sub_parser
from stad.cli._backend import add_backend_options, check_model_args


def register(sub) -> None:
    p = sub_parser(
        sub, 'predict', help='action model + proposals -> the detections file stad eval reads',
        description='Run the action model over the val split of ROOT at every frame with '
                    'proposals (or the annotated keyframes) and write (N, 8) detections '
                    '(video_index, frame, label, score, x1, y1, x2, y2; one per box and '
                    'class) to OUT, the file `stad eval --dets` scores.')
    add_models(p, action=True, required=False)  # checked in _run (--onnx-dir)
    add_data_root(p)
    p.add_argument('--out', required=True, metavar='DETS.pkl', help='detections file to write')
    p.add_argument('--proposals', metavar='PKL',
                   help='proposal pickle (default: ROOT/annotations/'
                        'multisports_proposals_val.pkl)')
    p.add_argument('--frames', default='all_frames',
                   choices=['all_frames', 'annotated_frames', 'all', 'annotated', 'proposals'],
                   help="all_frames: every frame with proposals (the official protocol's "
                        "input); annotated_frames: the val CSV's keyframes")
    p.add_argument('--device', default='cpu', help="torch device ('cpu', 'cuda:0')")
    add_backend_options(p)
    p.add_argument('--quiet', action='store_true', help='no progress output')
    p.set_defaults(func=_run)


def _run(args) -> int:
    check_model_args(args, det=False)
    from stad.tasks.predict import predict
    dets, _ = predict(args.config, args.checkpoint, args.data_root, args.out,
                      proposal_file=args.proposals, frames=args.frames, device=args.device,
                      progress=not args.quiet, backend=args.backend, onnx_dir=args.onnx_dir,
                      precision=args.precision)
    print(f'{args.out}: {len(dets)} detections')
    return 0
