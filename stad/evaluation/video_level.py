"""Video-level evaluation of classifier-style test sets: the dominant person's label per
labelled range and per video (what Create ML's Evaluation tab and NVIDIA TAO
ActionRecognitionNet's ``evaluate`` show), pure numpy (matplotlib for the PNG only).

A classifier-style test set is a list of labelled frame ranges, one action each
(a Create ML labelled folder: a video = one range; an annotation file: ``start``/``end``
per row); it has no boxes to match. So the detector's output is read the way the
labels were made (:mod:`stad.evaluation.functional.dominant`, Create ML's rule): per
range, the dominant person track among the detections in that range (the largest, most
present one: :func:`~stad.evaluation.functional.dominant.dominant_tracks`), and that
track's per-class action scores decide the range's predicted label, in one of two modes
(TAO's ``video_eval_mode``):

``center``
    the track's class scores on the central frame of the range, ``(start + end) / 2``
    (the nearest frame the track has a box on; of two equally near, the earlier);
``conv``
    the track's class scores averaged over every frame of the range it has a box on.

The predicted label is the class with the highest score (ties: the lower index). On a
frame where the track has two boxes (a tracker bug), the larger counts, as for the
dominance score; a box's score for a class is its detection row for that class (the
highest if repeated, 0 without one: a file with the best class per box only still
works). A range with no tracked box (track id > 0) in it predicts ``'no person'``
(:data:`NO_PERSON`) and counts as wrong.

Reported (:class:`VideoLevelResult`), per mode:

- accuracy per labelled range;
- accuracy per video: a video's true label is the majority of its ranges' labels (its
  single range's label for a labelled folder), its predicted label the majority of its
  ranges' predictions that found a person (``'no person'`` only if none did); ties go
  to the label whose ranges cover more frames, then to the lower index;
- per-class precision and recall over the ranges (precision undefined, NaN, for a class
  never predicted; recall undefined for a class with no range);
- the confusion matrix of counts over the ranges, rows the true class, columns the
  predicted class then ``'no person'``, and its PNG (:func:`save_confusion_png`).

The negative class (Create ML's class of irrelevant actions, ``gt['negative_labels']``)
is a real prediction target here: it counts in accuracy, precision and recall like any
other class (it is only left out of the mean AP, see
:func:`~stad.evaluation.functional.multisports.excluded_classes`).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from stad.evaluation.functional.dominant import dominant_tracks

VIDEO_MODES = ('center', 'conv')
NO_PERSON = 'no person'


class LabelledRange(NamedTuple):
    """One labelled range of a test set: ``label`` indexes the label list, ``start`` and
    ``end`` are 1-based frames, inclusive."""
    video: str
    label: int
    start: int
    end: int


@dataclass(frozen=True)
class RangePrediction:
    """What the detections say about one labelled range.

    Attributes:
        range: the labelled range.
        track_id: the dominant track, ``None`` when no tracked person is in the range.
        coverage: share of the range's frames on which that track has a box (0 without).
        runner_up: the second-ranked track, ``None`` if there is none.
        center_frame: the frame ``center`` mode read (``None`` without a track).
        scores: mode -> ``(C,)`` class scores of the track (``None`` without a track).
        predicted: mode -> predicted class index, ``-1`` = no person.
    """
    range: LabelledRange
    track_id: int | None
    coverage: float
    runner_up: int | None
    center_frame: int | None
    scores: dict
    predicted: dict


@dataclass
class ClassReport:
    """Accuracy, per-class precision / recall and the confusion matrix of one mode at one
    level (ranges or videos). ``true`` / ``pred`` hold class indices, ``pred`` -1 for
    no person; ``confusion`` is ``(C, C + 1)``, the last column no person."""
    labels: list
    true: np.ndarray
    pred: np.ndarray
    confusion: np.ndarray
    precision: dict = field(default_factory=dict)  # class name -> fraction or nan
    recall: dict = field(default_factory=dict)  # class name -> fraction or nan
    support: dict = field(default_factory=dict)  # class name -> items of that true class

    @property
    def n(self) -> int:
        return int(len(self.true))

    @property
    def correct(self) -> int:
        return int(np.sum(self.true == self.pred))

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float('nan')

    @property
    def no_person(self) -> int:
        return int(np.sum(self.pred < 0))

    def to_dict(self) -> dict:
        return dict(n=self.n, correct=self.correct, accuracy=_num(self.accuracy),
                    no_person=self.no_person,
                    precision={k: _num(v) for k, v in self.precision.items()},
                    recall={k: _num(v) for k, v in self.recall.items()},
                    support=dict(self.support),
                    confusion_rows=list(self.labels),
                    confusion_columns=list(self.labels) + [NO_PERSON],
                    confusion=self.confusion.astype(int).tolist())


def _num(x: float):
    return None if isinstance(x, float) and math.isnan(x) else float(x)


def classification_report(true: Sequence[int], pred: Sequence[int],
                          labels: Sequence[str]) -> ClassReport:
    """Accuracy, per-class precision and recall, confusion counts.

    Args:
        true: ``(n,)`` true class indices into ``labels``.
        pred: ``(n,)`` predicted class indices, ``-1`` = no person (always wrong; in no
            class's precision, in the recall of the true class as a miss).
        labels: the class names.
    """
    true = np.asarray(true, dtype=np.int64).reshape(-1)
    pred = np.asarray(pred, dtype=np.int64).reshape(-1)
    if true.shape != pred.shape:
        raise ValueError(f'{len(true)} true labels but {len(pred)} predictions')
    c = len(labels)
    conf = np.zeros((c, c + 1), dtype=np.int64)
    np.add.at(conf, (true, np.where(pred < 0, c, pred)), 1)
    rep = ClassReport(labels=list(labels), true=true, pred=pred, confusion=conf)
    for k, name in enumerate(labels):
        predicted, actual = int(conf[:, k].sum()), int(conf[k].sum())
        rep.precision[name] = conf[k, k] / predicted if predicted else float('nan')
        rep.recall[name] = conf[k, k] / actual if actual else float('nan')
        rep.support[name] = actual
    return rep


def labelled_ranges(gt: Mapping, videos: Iterable[str] | None = None) -> list[LabelledRange]:
    """The labelled ranges of a classifier-style test set held as a ground truth: every
    tube of ``videos`` (default ``gt['test_videos'][0]``) is one range, its label and its
    first and last frame. Ordered by video (as listed), then start frame, then label."""
    videos = list(gt['test_videos'][0]) if videos is None else list(videos)
    out = []
    for v in videos:
        rows = []
        for label, tubes in gt['gttubes'].get(v, {}).items():
            for tube in tubes:
                frames = np.asarray(tube, dtype=np.float64).reshape(-1, 5)[:, 0]
                if len(frames):
                    rows.append(LabelledRange(v, int(label), int(frames.min()), int(frames.max())))
        out += sorted(rows, key=lambda r: (r.start, r.label, r.end))
    return out


def _majority(labels: Sequence[int], lengths: Sequence[int]) -> int:
    """The most frequent label (>= 0 only; -1 if none); ties: more frames, lower index."""
    votes = Counter(lab for lab in labels if lab >= 0)
    if not votes:
        return -1
    frames = Counter()
    for lab, n in zip(labels, lengths):
        frames[lab] += n
    return min(votes, key=lambda lab: (-votes[lab], -frames[lab], lab))


def _track_scores(frames: np.ndarray, labels: np.ndarray, scores: np.ndarray,
                  boxes: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """One track's rows in a range -> ``(its frames (F,) ascending, class scores (F, C))``,
    on each frame the largest box's rows."""
    area = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    order = np.lexsort((-area, frames))
    uniq, first, inverse = np.unique(frames[order], return_index=True, return_inverse=True)
    chosen = boxes[order][first]  # (F, 4): the largest box of each frame
    same = np.all(boxes[order] == chosen[inverse], axis=1)
    out = np.zeros((len(uniq), n_classes))
    np.maximum.at(out, (inverse[same], labels[order][same]), scores[order][same])
    return uniq, out


def predict_ranges(ranges: Sequence[LabelledRange], dets: np.ndarray, track_ids, *,
                   videos: Sequence[str], image_sizes: Mapping[str, Sequence[float]],
                   n_classes: int, modes: Sequence[str] = VIDEO_MODES) -> list[RangePrediction]:
    """The dominant track and predicted label of every range (module docstring).

    Args:
        ranges: the labelled ranges.
        dets: ``(N, 8)`` detections (:data:`stad.io.detections.DET_COLUMNS`:
            ``video_index`` into ``videos``, 1-based frame, 0-based label, score,
            ``x1, y1, x2, y2`` pixels), one row per box and class as ``stad predict``
            writes (or per box with its best class).
        track_ids: ``(N,)`` person track of each row (0 = untracked, never dominant).
        videos: the videos ``video_index`` indexes (``gt['test_videos'][0]``).
        image_sizes: ``{video: (h, w)}`` (``gt['resolution']``).
        n_classes: ``len(labels)``.
        modes: of :data:`VIDEO_MODES`.

    Raises:
        ValueError: shapes that do not match, an unknown mode, or a range whose video is
            not in ``videos``.
    """
    modes = tuple(modes)
    for m in modes:
        if m not in VIDEO_MODES:
            raise ValueError(f'mode must be one of {VIDEO_MODES}, got {m!r}')
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 8)
    ids = np.asarray(track_ids).reshape(-1).astype(np.int64)
    if ids.shape != (len(dets),):
        raise ValueError(f'track_ids must have shape ({len(dets)},), one per detection row, '
                         f'got {ids.shape}')
    index = {v: i for i, v in enumerate(videos)}
    by_video = np.argsort(dets[:, 0], kind='stable')
    bounds = np.searchsorted(dets[by_video, 0], np.arange(len(videos) + 1) - 0.5)
    out = []
    for r in ranges:
        if r.video not in index:
            raise ValueError(f'range {r.video!r} {r.start}..{r.end}: video not among the '
                             'detections\' videos')
        i = index[r.video]
        rows = by_video[bounds[i]:bounds[i + 1]]
        f = dets[rows, 1]
        rows = rows[(f >= r.start) & (f <= r.end) & (ids[rows] > 0)]
        h, w = (float(x) for x in image_sizes[r.video])
        ranked = dominant_tracks(dets[rows, 1], ids[rows], dets[rows, 4:8],
                                 start=r.start, end=r.end, image_area=h * w)
        if not ranked:
            out.append(RangePrediction(r, None, 0.0, None, None, {m: None for m in modes},
                                       {m: -1 for m in modes}))
            continue
        best = ranked[0]
        mine = rows[ids[rows] == best.track_id]
        frames, per_frame = _track_scores(dets[mine, 1].astype(np.int64),
                                          dets[mine, 2].astype(np.int64), dets[mine, 3],
                                          dets[mine, 4:8], n_classes)
        k = int(np.argmin(np.abs(frames - (r.start + r.end) / 2)))  # first = earlier on a tie
        scores = {'center': per_frame[k], 'conv': per_frame.mean(axis=0)}
        out.append(RangePrediction(
            r, best.track_id, best.coverage, ranked[1].track_id if len(ranked) > 1 else None,
            int(frames[k]), {m: scores[m] for m in modes},
            {m: int(np.argmax(scores[m])) for m in modes}))
    return out


@dataclass
class VideoLevelResult:
    """Everything :func:`evaluate_video_level` measured."""
    labels: list
    negative_labels: tuple
    modes: tuple
    predictions: list  # RangePrediction per range, in range order
    ranges: dict  # mode -> ClassReport over the ranges
    videos: dict  # mode -> ClassReport over the videos
    video_names: list  # the rows of the video reports

    @property
    def no_person(self) -> list:
        """The ranges in which no tracked person was found."""
        return [p.range for p in self.predictions if p.track_id is None]

    def summary(self) -> dict:
        """Flat metrics: ``range_accuracy@center``, ``video_accuracy@center``, ... (fractions)."""
        out = {}
        for m in self.modes:
            out[f'range_accuracy@{m}'] = self.ranges[m].accuracy
            out[f'video_accuracy@{m}'] = self.videos[m].accuracy
        return out

    def to_dict(self) -> dict:
        """JSON-ready (fractions; undefined precision / recall as ``None``)."""
        def name(k):
            return NO_PERSON if k < 0 else self.labels[k]
        return dict(
            labels=list(self.labels), negative_labels=list(self.negative_labels),
            modes=list(self.modes), summary={k: _num(v) for k, v in self.summary().items()},
            ranges={m: self.ranges[m].to_dict() for m in self.modes},
            videos={m: dict(self.videos[m].to_dict(), per_video=[
                dict(video=v, label=name(int(t)), predicted=name(int(p)))
                for v, t, p in zip(self.video_names, self.videos[m].true, self.videos[m].pred)])
                for m in self.modes},
            per_range=[dict(video=p.range.video, label=name(p.range.label),
                            start=p.range.start, end=p.range.end, track_id=p.track_id,
                            coverage=p.coverage, runner_up=p.runner_up,
                            center_frame=p.center_frame,
                            predicted={m: name(p.predicted[m]) for m in self.modes})
                       for p in self.predictions])


def check_video_mode(mode: str) -> tuple:
    """``'both'`` -> ``('center', 'conv')``, ``'center'`` / ``'conv'`` -> that one.

    Raises:
        ValueError: another mode.
    """
    if mode == 'both':
        return VIDEO_MODES
    if mode not in VIDEO_MODES:
        raise ValueError(f"mode must be 'both', 'center' or 'conv', got {mode!r}")
    return (mode,)


def evaluate_video_level(ranges: Sequence[LabelledRange], dets: np.ndarray, track_ids, *,
                         videos: Sequence[str], labels: Sequence[str],
                         image_sizes: Mapping[str, Sequence[float]], mode: str = 'both',
                         negative_labels: Sequence[str] = ()) -> VideoLevelResult:
    """Per-range and per-video accuracy, per-class precision / recall and confusion
    matrices of the dominant person's label (module docstring).

    Args:
        ranges: the labelled ranges (:func:`labelled_ranges` makes them from a ground
            truth).
        dets, track_ids, videos, image_sizes: see :func:`predict_ranges`.
        labels: the class names (``gt['labels']``).
        mode: ``'both'``, ``'center'`` or ``'conv'``.
        negative_labels: the negative class(es), shown as such; they count like any
            other class.
    """
    modes = check_video_mode(mode)
    labels = list(labels)
    for r in ranges:
        if not 0 <= r.label < len(labels):
            raise ValueError(f'range {r.video!r} {r.start}..{r.end}: label {r.label} outside '
                             f'the {len(labels)} labels')
    preds = predict_ranges(ranges, dets, track_ids, videos=videos, image_sizes=image_sizes,
                           n_classes=len(labels), modes=modes)
    video_names = list(dict.fromkeys(r.video for r in ranges))
    members = {v: [i for i, r in enumerate(ranges) if r.video == v] for v in video_names}
    lengths = [r.end - r.start + 1 for r in ranges]
    true_v = [_majority([ranges[i].label for i in members[v]], [lengths[i] for i in members[v]])
              for v in video_names]
    by_range, by_video = {}, {}
    for m in modes:
        pred = [p.predicted[m] for p in preds]
        by_range[m] = classification_report([r.label for r in ranges], pred, labels)
        pred_v = [_majority([pred[i] for i in members[v]], [lengths[i] for i in members[v]])
                  for v in video_names]
        by_video[m] = classification_report(true_v, pred_v, labels)
    negative = tuple(n for n in dict.fromkeys(negative_labels) if n in labels)
    return VideoLevelResult(labels=labels, negative_labels=negative, modes=modes,
                            predictions=preds, ranges=by_range, videos=by_video,
                            video_names=video_names)


# ----------------------------------------------------------------------------- output

def _pct(x: float) -> str:
    return '-' if isinstance(x, float) and math.isnan(x) else f'{100 * x:.2f}'


def format_video_table(result: VideoLevelResult, *, split: str | None = None) -> str:
    """Accuracy per range and per video, then per-class precision / recall (percent) and
    the ranges without a tracked person."""
    n_r = len(result.predictions)
    n_v = len(result.video_names)
    lines = [f'video-level evaluation: {n_r} labelled ranges in {n_v} videos'
             + (f' (split {split})' if split else '')
             + ', label of the dominant person of each range',
             'modes: center = scores on the central frame of the range; '
             'conv = scores averaged over the range',
             f'negative class: {", ".join(result.negative_labels) or "none"} '
             '(counted like any other class)', '']
    head = f'{"mode":<6}  {"range accuracy":>22}  {"video accuracy":>22}'
    lines += [head, '-' * len(head)]
    for m in result.modes:
        r, v = result.ranges[m], result.videos[m]
        lines.append(f'{m:<6}  {f"{_pct(r.accuracy)} ({r.correct}/{r.n})":>22}  '
                     f'{f"{_pct(v.accuracy)} ({v.correct}/{v.n})":>22}')
    lines.append('')
    names = [n + (' (negative)' if n in result.negative_labels else '') for n in result.labels]
    width = max([len(n) for n in names] + [len('class'), len('mean')])
    cols = [(m, k) for m in result.modes for k in ('P', 'R')]
    head = f'{"class":<{width}}  {"ranges":>6}  ' + '  '.join(f'{f"{m} {k}":>8}' for m, k in cols)
    lines += ['per-class precision (P) and recall (R) over the ranges, percent', head,
              '-' * len(head)]
    for name, shown in zip(result.labels, names):
        cells = []
        for m, k in cols:
            rep = result.ranges[m]
            cells.append(f'{_pct((rep.precision if k == "P" else rep.recall)[name]):>8}')
        support = result.ranges[result.modes[0]].support[name]
        lines.append(f'{shown:<{width}}  {support:>6}  ' + '  '.join(cells))
    lines.append('-' * len(head))
    means = []
    for m, k in cols:
        vals = [x for x in (result.ranges[m].precision if k == 'P'
                            else result.ranges[m].recall).values() if not math.isnan(x)]
        means.append(f'{_pct(float(np.mean(vals)) if vals else float("nan")):>8}')
    lines.append(f'{"mean":<{width}}  {"":>6}  ' + '  '.join(means))
    missing = result.no_person
    lines += ['', f'ranges with no tracked person (counted wrong, predicted {NO_PERSON!r}): '
              f'{len(missing)}']
    lines += [f'  {r.video} frames {r.start}-{r.end} (label {result.labels[r.label]!r})'
              for r in missing]
    return '\n'.join(lines)


def save_confusion_png(report: ClassReport, path: str, *, title: str = '') -> None:
    """The confusion matrix of counts as a PNG (rows true class, columns predicted class
    and no person), written atomically."""
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt

    from stad.io.atomic import savefig_atomic
    conf = report.confusion
    rows = list(report.labels)
    cols = rows + [NO_PERSON]
    size = 1.2 + 0.55 * len(cols)
    fig, ax = plt.subplots(figsize=(max(4.0, size + 1.5), max(3.5, 0.55 * len(rows) + 2.0)))
    try:
        ax.imshow(conf, cmap='Blues', vmin=0, vmax=max(1, int(conf.max())), aspect='auto')
        ax.set_xticks(range(len(cols)), cols, rotation=45, ha='right')
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel('predicted')
        ax.set_ylabel('true')
        half = conf.max() / 2
        for (i, j), n in np.ndenumerate(conf):
            ax.text(j, i, str(int(n)), ha='center', va='center',
                    color='white' if n > half else 'black')
        ax.set_title(title or f'accuracy {_pct(report.accuracy)}% ({report.correct}/{report.n})')
        fig.tight_layout()
        savefig_atomic(fig, path)
    finally:
        plt.close(fig)
