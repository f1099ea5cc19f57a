"""``stad propose``: person proposals for every video of a dataset root.

Each video is decoded in a stream and run through the detector
(:func:`stad.apis.detect.detect_videos`: on a runtime backend one video per core at a
time); its detections (pixels) are cached per video in
a work dir, so a killed run goes on where it stopped; at the end they become per-split
proposal pickles (:mod:`stad.io.proposals`), written atomically, and with ground truth
the proposal report (recall) is computed.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from stad.apis.detect import ProposalOptions, detect_videos, video_detectors
from stad.apis.tracking import check_tracker_options, engine_for
from stad.errors import StadError
from stad.io.atomic import atomic_dump_pickle, atomic_write_text
from stad.io.layout import VIDEO_EXT, DataLayout, tracks_file
from stad.io.proposals import load_proposals, save_proposals, save_tracks, to_proposals
from stad.io.safe_pickle import UnsafePickleError, load_pickle
from stad.io.video import count_frames, video_size
from stad.progress import progress_bar

# Per-video cache under the work dir: <work_dir>/videos/<sport>/<video>.pkl
CACHE_DIR = 'videos'
REPORT_FILE = 'proposal_report.json'
ALL_SPLIT = 'all'  # split name used when there is no ground truth to split videos


@dataclass(frozen=True)
class ProposeResult:
    """What :func:`propose` wrote: pickle per split, the report (None without GT)."""

    files: dict
    report: dict | None
    report_file: str | None
    videos_run: int
    videos_cached: int


def _cache_signature(checkpoint: str, options: ProposalOptions) -> str:
    st = os.stat(checkpoint)
    key = dict(checkpoint=os.path.abspath(checkpoint), size=st.st_size,
               mtime=int(st.st_mtime), score_thr=options.score_thr,
               max_per_frame=options.max_per_frame, stride=options.stride)
    if options.backend != 'torch':  # same boxes within 1 px in f32 (the export's parity)
        # the weights that run are the export's, not the checkpoint's
        from stad.apis.runtime import FILES
        files = [os.path.join(options.onnx_dir, f) for f in
                 (FILES['det_features'], FILES['det_roi'])]
        stats = [(f, os.stat(f)) for f in files if os.path.isfile(f)]
        key.update(backend=options.backend, precision=options.precision,
                   onnx=[(os.path.abspath(f), st.st_size, int(st.st_mtime)) for f, st in stats])
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _read_cache(path: str, signature: str) -> dict | None:
    if not os.path.isfile(path):
        return None
    try:
        cached = load_pickle(path, 'proposal cache')
    except UnsafePickleError:  # someone put code in the cache: say so, do not recompute
        raise
    except StadError:  # a damaged cache entry (a kill mid-write cannot make one) is redone
        return None
    if not isinstance(cached, dict) or cached.get('signature') != signature:
        return None
    return cached['detections']


def _track_proposals(results: Mapping[str, Mapping], videos: Sequence[str],
                     stride: int, tracker: str, engine: str = 'mmdet') -> dict[str, np.ndarray]:
    """Person track ids of every proposal box (:func:`stad.apis.tracking.track_frames`,
    one step per frame that was run): ``{img_key: (N,) int64}``, rows in the proposal
    arrays' order, 0 where no track follows a box."""
    from stad.apis.tracking import track_frames
    from stad.io.layout import img_key
    out = {}
    for v in videos:
        dets = results[v]
        if not dets:
            continue
        last = max(frame for _, frame in dets)
        frames = list(range(1, last + 1, stride))
        empty = np.zeros((0, 5), np.float32)
        ids = track_frames([dets.get((v, f), empty) for f in frames], tracker, engine=engine)
        out.update({img_key(v, f): i for f, i in zip(frames, ids) if len(i)})
    return out


def _warn_if_truncated(path: str, last_decoded: int, header_frames: int, stride: int) -> None:
    """One warning line when a video decodes fewer frames than its header lists (a
    truncated or damaged file: its last frames get no proposals)."""
    import sys
    if header_frames and last_decoded + stride <= header_frames:
        print(f'stad propose: warning: {path}: frames after {last_decoded} do not decode, '
              f'its header lists {header_frames} (truncated? `stad check --videos` '
              'counts them)', file=sys.stderr)


def _videos_by_split(layout: DataLayout, gt: dict | None,
                     splits: Sequence[str] | None) -> dict[str, list[str]]:
    from stad.data.gt import split_videos
    if gt is not None:
        by_split = split_videos(gt)
    else:  # no ground truth: every video under trainval/ in one pickle
        videos = []
        for dirpath, _, names in os.walk(layout.video_dir):
            for name in names:
                if name.endswith(VIDEO_EXT):
                    rel = os.path.relpath(os.path.join(dirpath, name), layout.video_dir)
                    videos.append(os.path.splitext(rel)[0].replace(os.sep, '/'))
        by_split = {ALL_SPLIT: sorted(videos)}
    if splits:
        unknown = [s for s in splits if s not in by_split]
        if unknown:
            raise StadError(f'unknown split(s) {unknown}; this dataset has {sorted(by_split)}')
        by_split = {s: by_split[s] for s in splits}
    if not any(by_split.values()):
        raise StadError(f'no videos to run on under {layout.video_dir}')
    return by_split


def propose(config: str, checkpoint: str, root: str, *, work_dir: str,
            options: ProposalOptions = ProposalOptions(), splits: Sequence[str] | None = None,
            device: str = 'cpu', out_dir: str | None = None,
            show_progress: bool = True, tracker: str = 'bytetrack') -> ProposeResult:
    """Write person proposals for every video of ``root`` (MultiSports layout).

    Splits come from ``root``'s ground truth (``layout.gt_file``); without it, every
    video under ``trainval/`` goes to split ``'all'``. Pickles go to
    ``layout.proposals(split)`` under ``out_dir`` (default ``root/annotations``).
    With ground truth, the proposal report (:mod:`stad.evaluation.proposals`) is
    computed and written to ``work_dir/proposal_report.json``.

    Resumable: each video's proposals are cached in ``work_dir/videos/``; a rerun with
    the same checkpoint and options skips videos already done.
    """
    from stad.data.gt import load_gt
    from stad.evaluation.proposals import proposal_report

    check_tracker_options(tracker)  # before any video is run, not after all of them
    layout = DataLayout(root)
    gt = load_gt(layout.gt_file) if os.path.isfile(layout.gt_file) else None
    by_split = _videos_by_split(layout, gt, splits)
    videos = sorted({v for vs in by_split.values() for v in vs})
    for v in videos:
        if not os.path.isfile(layout.video_path(v)):
            raise StadError(f'video {v!r}: file not found: {layout.video_path(v)}')
    if not os.path.isfile(checkpoint):
        raise StadError(f'checkpoint file not found: {checkpoint}')
    signature = _cache_signature(checkpoint, options)
    cache = {v: os.path.join(work_dir, CACHE_DIR, v + '.pkl') for v in videos}
    results = {v: _read_cache(cache[v], signature) for v in videos}
    todo = [v for v in videos if results[v] is None]

    if todo:
        detectors = video_detectors(config, checkpoint, options, len(todo), device=device)
        n_frames = {v: count_frames(layout.video_path(v)) for v in todo}
        total = sum(-(-n // options.stride) for n in n_frames.values())
        with progress_bar(total=total, unit='frame', desc='propose', disable=not show_progress) as bar:
            if len(detectors) > 1:
                bar.set_postfix_str(f'{len(detectors)} videos at a time')
            for v, dets, stats in detect_videos(
                    detectors, [(v, layout.video_path(v)) for v in todo],
                    stride=options.stride, batch_size=options.batch_size, progress=bar):
                results[v] = dets
                _warn_if_truncated(layout.video_path(v), stats['last_frame'],
                                   n_frames[v], options.stride)
                atomic_dump_pickle(dict(signature=signature, video=v, detections=dets),
                                   cache[v])

    detections = {k: d for v in videos for k, d in results[v].items()}
    # normalised by the size the detector saw (the decoded frames'), not the GT's
    sizes = {v: video_size(layout.video_path(v)) for v in videos}
    if gt is not None:
        from stad.data.convert import detections_to_proposals
        per_split = detections_to_proposals(detections, gt, sizes=sizes)
    else:
        per_split = {ALL_SPLIT: to_proposals(detections, sizes)}
    tracks = _track_proposals(results, videos, options.stride, tracker,
                              engine_for(tracker, options.backend != 'torch'))
    files, by_split_props = {}, {}
    for split in by_split:
        path = layout.proposals(split)
        if out_dir is not None:
            path = os.path.join(out_dir, os.path.basename(path))
        save_proposals(path, per_split[split])
        save_tracks(tracks_file(path), {k: tracks[k] for k in per_split[split]})
        files[split] = path
        by_split_props[split] = per_split[split]

    report = report_file = None
    if gt is not None:
        report = proposal_report(by_split_props, gt, stride=options.stride)
        report_file = os.path.join(work_dir, REPORT_FILE)
        write_report(report, report_file, options=options, files=files)
    return ProposeResult(files=files, report=report, report_file=report_file,
                         videos_run=len(todo), videos_cached=len(videos) - len(todo))


def write_report(report: Mapping, path: str, **extra) -> None:
    """Write a proposal report and its context (options, files) as JSON, per split.

    A report already at ``path`` keeps its other splits: a call that proposes ``val``
    after one that proposed ``train`` leaves both in the file.
    """
    doc = dict(report={}, splits={})
    if os.path.isfile(path):
        try:
            with open(path) as f:
                old = json.load(f)
            doc['report'].update(old.get('report') or {})
            doc['splits'].update(old.get('splits') or {})
        except (ValueError, AttributeError):
            pass  # not ours: replaced
    context = {k: asdict(v) if hasattr(v, '__dataclass_fields__') else v
               for k, v in extra.items()}
    for split, rep in report.items():
        doc['report'][split] = rep
        doc['splits'][split] = {k: (v.get(split) if k == 'files' and isinstance(v, dict)
                                    else v) for k, v in context.items()}
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + '\n')


def propose_splits(config: str, checkpoint: str, root: str, *, work_dir: str,
                   options: ProposalOptions = ProposalOptions(), train_stride: int = 4,
                   splits: Sequence[str] | None = None, device: str = 'cpu',
                   out_dir: str | None = None, show_progress: bool = True,
                   tracker: str = 'bytetrack') -> ProposeResult:
    """``stad propose``: :func:`propose` with the train split on every
    ``train_stride``-th frame (what training needs; see ``stad run``) and the other
    splits at ``options.stride``. Returns the results merged over splits."""
    layout = DataLayout(root)
    from stad.data.gt import load_gt
    gt = load_gt(layout.gt_file) if os.path.isfile(layout.gt_file) else None
    todo = list(_videos_by_split(layout, gt, splits))
    results = []
    for split in todo:
        opts = options if split != 'train' else ProposalOptions(
            **{**asdict(options), 'stride': train_stride})
        results.append(propose(config, checkpoint, root, work_dir=work_dir, options=opts,
                               splits=[split], device=device, out_dir=out_dir,
                               show_progress=show_progress, tracker=tracker))
    report = {}
    for r in results:
        report.update(r.report or {})
    return ProposeResult(files={k: v for r in results for k, v in r.files.items()},
                         report=report if gt is not None else None,
                         report_file=results[-1].report_file,
                         videos_run=sum(r.videos_run for r in results),
                         videos_cached=sum(r.videos_cached for r in results))


def report_for_files(root: str, files: Mapping[str, str], *, out: str | None = None,
                     stride: int = 1) -> dict:
    """Proposal report of existing pickles ``{split: path}`` against ``root``'s GT;
    ``stride``: the pickles hold frames 1, 1 + stride, ... only."""
    from stad.data.gt import load_gt
    from stad.evaluation.proposals import proposal_report
    gt = load_gt(DataLayout(root).gt_file)
    report = proposal_report({s: load_proposals(p) for s, p in files.items()}, gt,
                             stride=stride)
    if out:
        write_report(report, out, files=dict(files))
    return report
