"""The options of ``stad demo``'s predictions, shared by the verbs that predict the way
the demo does (``stad demo``, ``stad predict-videos``): the same spelling, defaults and
help everywhere, and one place that turns them into a :class:`DemoOptions`."""
from __future__ import annotations

from stad.apis.tracking import TRACKERS


def add_prediction_options(p) -> None:
    """Label map, detection, action, keyframe, tracking and batch options (what
    :func:`demo_options` reads)."""
    p.add_argument('--label-map', help="'id: name' per line (default: the config's "
                                       'class_names, else class indices)')
    p.add_argument('--det-score-thr', type=float, default=0.5,
                   help='keep person boxes scoring >= this ')
    p.add_argument('--det-cat-id', type=int,
                   help="detector class of 'person' (default: looked up by name)")
    p.add_argument('--action-score-thr', type=float, default=0.5,
                   help='show actions scoring > this ')
    p.add_argument('--topk', type=int, default=3, help='at most this many actions a person')
    p.add_argument('--max-persons', type=int, default=10,
                   help='at most this many people a frame (best detector scores)')
    p.add_argument('--tracker', default='bytetrack', choices=TRACKERS,
                   help="person tracker (mmdet's)")
    p.add_argument('--track-stride', type=int, default=1,
                   help='detect and track people on every N-th frame (1: every frame, which '
                        'keeps one ID per person; the action model runs on keyframes only)')
    p.add_argument('--track-buffer', type=int, default=30,
                   help='tracked frames a track may go unseen before it is dropped')
    p.add_argument('--track-init-thr', type=float, default=0.7,
                   help='detector score a person needs to start a track (boxes no track '
                        'follows are left out)')
    p.add_argument('--label-window', type=int, default=3,
                   help="keyframes of a person's track whose action scores are averaged "
                        'for the labels drawn (1: every keyframe on its own)')
    p.add_argument('--keyframe-stride', '--predict-stepsize', dest='keyframe_stride',
                   type=int, default=8, help='frames between keyframes ')
    p.add_argument('--batch-size', type=int, default=4,
                   help='frames per detector pass, keyframes per action model pass')


def add_runtime_options(p) -> None:
    """``--device`` and ``--cfg-options`` (the backend's options: :mod:`stad.cli._backend`)."""
    p.add_argument('--device', default='cpu', help="torch device ('cpu', 'cuda:0')")
    p.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                   help='overrides of the action config')


def demo_options(args):
    """The :class:`stad.apis.video.DemoOptions` of :func:`add_prediction_options`' options."""
    from stad.apis.video import DemoOptions
    return DemoOptions(det_score_thr=args.det_score_thr,
                       action_score_thr=args.action_score_thr,
                       keyframe_stride=args.keyframe_stride, batch_size=args.batch_size,
                       topk=args.topk, max_persons=args.max_persons,
                       det_cat_id=args.det_cat_id, tracker=args.tracker,
                       track_stride=args.track_stride, track_buffer=args.track_buffer,
                       track_init_thr=args.track_init_thr, label_window=args.label_window)
