"""``stad predict-videos FOLDER --out RESULTS.json``: the demo's predictions as data for
every video of a folder, into one results file; resumable per video and sharded across
processes (``torchrun``), so many videos run as a training does.

Flow (:func:`predict_videos`): the videos of FOLDER (recursively, sorted; extensions
:data:`stad.io.layout.VIDEO_EXTENSIONS`) are split between the processes, video ``i``
to rank ``i % world_size``. Each process loads both models once
(:func:`stad.tasks.demo.load_models`) and predicts its videos one after the other
(:func:`predict_loaded`: :func:`stad.apis.video.predict_video`, then
:func:`~stad.apis.video.track_segments` and :func:`~stad.apis.video.frame_events`).

Resuming: each finished video's result is written atomically to
``RESULTS.json.parts/<relative path>.json`` together with the fingerprint of the run
(:func:`run_record`: the content hashes of the configs, checkpoints, label map and ONNX
files, the options, the backend, the stad version). A rerun skips the videos whose part
holds a result and redoes those whose part holds an error (a video re-copied since then
may now decode). A rerun whose fingerprint differs from the parts' is refused before any
model loads (:func:`check_parts`): results of two models or two option sets are never
mixed, and earlier results are never deleted behind the user's back. When every video
has a part, rank 0 merges them, one at a time, into ``RESULTS.json`` (atomically):
``{'videos': [{'video', 'fps', 'num_frames', 'width', 'height', 'segments', 'events'},
... or {'video', 'error'}], 'models': run record}``. One JSON document rather than JSON
Lines: it carries the run record with the results, loads with one ``json.load``, and is
what ``stad demo --segments`` writes; a consumer that wants results as they come reads
the parts.

Failures: a video that cannot be predicted (undecodable, shorter than the action
model's clip window, ...) becomes an error entry ``{'video': relative path, 'error':
one line}`` and the run goes on; :attr:`BatchSummary.failed` counts them (the CLI exits
1). Errors of the run itself (a missing checkpoint, a bad option, an output that cannot
be written, parts of another run) raise :class:`StadError` before any video.

Distributed: with ``WORLD_SIZE`` / ``RANK`` in the environment (``torchrun``) the
processes join a gloo group (:func:`init_distributed`), each on
``cpu_count // world_size`` torch threads; rank 0 merges after a barrier. Alone in its
process on a runtime backend, no process group and no torch (:func:`needs_process_group`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from stad.apis.runtime import default_threads
from stad.apis.video import DemoOptions, frame_events, predict_video, track_segments
from stad.errors import StadError
from stad.io.atomic import atomic_path, atomic_write_text, check_writable
from stad.io.label_map import read_label_map
from stad.io.layout import VIDEO_EXTENSIONS
from stad.io.video import VideoFrames
from stad.tasks.demo import load_models, model_labels

PARTS_SUFFIX = '.parts'
RUN_FILE = 'run.json'  # in the parts folder; no part is named so (parts end in .<ext>.json)
# the barrier waits for the slowest rank's whole share, which can take days (gloo's
# default is 30 minutes); torchrun ends the group when a rank dies
BARRIER_TIMEOUT_S = 30 * 24 * 3600
# fields of the run record that the results do not depend on: where the files are, and
# the batch size (speed only: batch sizes 1, 3, 4 and 8 gave the same results file)
_NOT_RESULTS = ('path', 'fingerprint', 'batch_size')


@dataclass(frozen=True)
class BatchSummary:
    """What :func:`predict_videos` did (counts over this process's share of the videos,
    ``videos`` and ``failed`` over all).

    Attributes:
        out: the results file.
        videos: videos in the folder.
        share: videos of this process.
        predicted: videos predicted by this process in this run (errors included).
        skipped: videos of this process whose result was already in the parts.
        failed: error entries in the results file (all ranks).
        failed_now: videos of this process that failed in this run.
        merged: whether this process wrote ``out`` (rank 0).
        rank, world_size: this process's place in the group.
        seconds: wall time of this process.
    """

    out: str
    videos: int
    share: int
    predicted: int
    skipped: int
    failed: int
    failed_now: int
    merged: bool
    rank: int = 0
    world_size: int = 1
    seconds: float = 0.0


# -------------------------------------------------------------------------- the videos

def find_videos(folder: str) -> list[str]:
    """The videos under ``folder`` (recursively, hidden files and folders left out),
    as sorted POSIX paths relative to it.

    Raises:
        StadError: ``folder`` is not a folder or holds no video.
    """
    if not os.path.isdir(folder):
        raise StadError(f'{folder}: not a folder')
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith('.')]
        for name in files:
            if not name.startswith('.') and name.lower().endswith(VIDEO_EXTENSIONS):
                rel = os.path.relpath(os.path.join(root, name), folder)
                found.append(rel.replace(os.sep, '/'))
    if not found:
        raise StadError(f'{folder}: no videos (extensions {" ".join(VIDEO_EXTENSIONS)})')
    return sorted(found)


def parts_dir(out: str) -> str:
    """The folder of the per-video results of ``out``: ``<out>.parts``."""
    return out + PARTS_SUFFIX


def part_path(out: str, video: str) -> str:
    """Where the result of ``video`` (relative POSIX path) is kept: ``<out>.parts/<video>.json``."""
    return os.path.join(parts_dir(out), *video.split('/')) + '.json'


# --------------------------------------------------------------- the record of the run

def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def _file(path: str | None, what: str) -> dict | None:
    if path is None:
        return None
    if not os.path.isfile(path):
        raise StadError(f'{what} not found: {path}')
    return dict(path=os.path.abspath(path), sha256=_sha256(path))


def run_record(*, det_config: str | None, det_checkpoint: str | None, config: str | None,
               checkpoint: str | None, label_map: str | None = None,
               options: DemoOptions = DemoOptions(), cfg_options: Mapping | None = None,
               backend: str = 'torch', onnx_dir: str | None = None,
               precision: str = 'f32') -> dict:
    """What the results depend on: each model file's path and SHA-256 (the ONNX files of
    ``onnx_dir`` too; a file not given is ``None``), the label map, the options, the
    config overrides, the backend and its precision, and the stad version.
    ``record['fingerprint']`` hashes all but the paths and the batch size, so a model
    moved to another folder still matches its results and a rerun may take another
    batch size.

    Raises:
        StadError: a file is missing.
    """
    from stad.version import __version__
    onnx = None
    if onnx_dir is not None:
        if not os.path.isdir(onnx_dir):
            raise StadError(f'ONNX folder not found: {onnx_dir}')
        onnx = dict(path=os.path.abspath(onnx_dir), files={
            name: _sha256(os.path.join(onnx_dir, name)) for name in sorted(os.listdir(onnx_dir))
            if os.path.isfile(os.path.join(onnx_dir, name))})
    files = dict(det_config=_file(det_config, 'detector config'),
                 det_checkpoint=_file(det_checkpoint, 'detector checkpoint'),
                 config=_file(config, 'action model config'),
                 checkpoint=_file(checkpoint, 'action model checkpoint'),
                 label_map=_file(label_map, 'label map'))
    record = dict(files, onnx_dir=onnx, backend=backend, precision=precision,
                  options=dataclasses.asdict(options),
                  cfg_options=dict(cfg_options or {}), stad_version=__version__)
    record['fingerprint'] = _fingerprint(record)
    return record


def _fingerprint(record: Mapping) -> str:
    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in _NOT_RESULTS}
        return v
    text = json.dumps(strip(dict(record)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _difference(a: Mapping, b: Mapping, prefix: str = '') -> str:
    """The first field (dotted) whose value differs between two records, paths aside."""
    for k in sorted(set(a) | set(b)):
        if k in _NOT_RESULTS:
            continue
        x, y = a.get(k), b.get(k)
        if isinstance(x, dict) and isinstance(y, dict):
            d = _difference(x, y, f'{prefix}{k}.')
            if d:
                return d
        elif x != y:
            return f'{prefix}{k}'
    return ''


def _read_json(path: str) -> Any:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise StadError(f'{path}: unreadable ({e})') from None


def check_parts(out: str, record: Mapping) -> None:
    """Refuse to add results of this run to parts of another one (other models, options
    or backend): one line naming the parts folder and the first field that differs.

    The run record of the parts is ``<out>.parts/run.json``; without it (removed), every
    part's own record is compared.
    """
    folder = parts_dir(out)
    run = os.path.join(folder, RUN_FILE)
    if os.path.isfile(run):
        records = [(run, _read_json(run))]
    elif os.path.isdir(folder):
        records = [(p, _read_json(p).get('models', {})) for p in _part_files(folder)]
    else:
        return
    for path, theirs in records:
        if theirs.get('fingerprint') != record['fingerprint']:
            what = _difference(record, theirs) or 'fingerprint'
            raise StadError(f'{path}: results of another run ({what} differs); remove '
                            f'{folder} to redo them, or write to another --out')


def _part_files(folder: str) -> list[str]:
    out = []
    for root, _, files in os.walk(folder):
        out += [os.path.join(root, f) for f in files
                if f.endswith('.json') and not f.startswith('.') and
                not (root == folder and f == RUN_FILE)]
    return sorted(out)


# ------------------------------------------------------------------------ one video

def predict_loaded(path: str, detector: Any, action_model: Any, *, labels: Mapping[int, str],
                   options: DemoOptions = DemoOptions(), progress: bool = False) -> dict:
    """The demo's predictions on the video ``path`` with models already loaded
    (:func:`stad.tasks.demo.load_models`): ``{'fps', 'num_frames', 'width', 'height',
    'segments', 'events'}``.

    Raises:
        StadError: the video is missing, undecodable or shorter than one clip window.
    """
    source = VideoFrames(path)
    results = predict_video(source, detector, action_model, label_map=labels,
                            options=options, progress=progress)
    return dict(fps=source.fps, num_frames=source.num_frames, width=int(source.width),
                height=int(source.height), segments=track_segments(results, source.fps),
                events=frame_events(results, source.fps))


def _one_line(e: BaseException) -> str:
    text = str(e) if isinstance(e, StadError) else f'{type(e).__name__}: {e}'
    return ' '.join(text.split()) or type(e).__name__


# ------------------------------------------------------------------------ distributed

def init_distributed() -> tuple[int, int]:
    """``(rank, world_size)``; joins the process group first when launched by torchrun
    (``WORLD_SIZE`` and ``RANK`` set) and none exists yet.

    On CPU the group is gloo's, made with ``torch.distributed`` itself: mmengine 0.10.7's
    ``init_dist`` calls ``torch.cuda.set_device`` unconditionally (see
    ``stad.tasks.train._init_cpu_process_group``); with GPUs ``mmengine.dist.init_dist``
    (which also picks this rank's GPU), still on gloo: the group only waits at a barrier.
    """
    import datetime

    from mmengine import dist
    if _launched_by_torchrun() and not dist.is_distributed():
        import torch
        import torch.distributed as tdist
        timeout = datetime.timedelta(seconds=BARRIER_TIMEOUT_S)
        if torch.cuda.is_available():
            dist.init_dist('pytorch', backend='gloo', timeout=BARRIER_TIMEOUT_S)
        else:
            tdist.init_process_group(backend='gloo', timeout=timeout)
    return dist.get_rank(), dist.get_world_size()


def _launched_by_torchrun() -> bool:
    return 'WORLD_SIZE' in os.environ and 'RANK' in os.environ


def needs_process_group(backend: str) -> bool:
    """Whether this run joins torch's process machinery: eager PyTorch models, a torchrun
    launch (``WORLD_SIZE`` and ``RANK`` set) or a group that already exists. A runtime
    backend alone in its process runs without torch, as ``stad demo`` does (importing
    torch and ``mmengine.dist`` took 2.3-3.0 s)."""
    if backend == 'torch' or _launched_by_torchrun():
        return True
    tdist = sys.modules.get('torch.distributed')
    return tdist is not None and tdist.is_available() and tdist.is_initialized()


def _finish_distributed(started: bool) -> None:
    import torch.distributed as tdist
    if started and tdist.is_initialized():
        tdist.destroy_process_group()


# ---------------------------------------------------------------------------- merging

def merge_parts(out: str, videos: Sequence[str], record: Mapping) -> int:
    """Write ``out`` from the parts of ``videos`` (all must exist), one part in memory at a
    time, atomically; returns the number of error entries."""
    failed = 0
    with atomic_path(out) as tmp, open(tmp, 'w') as f:
        f.write('{"videos": [\n')
        for i, video in enumerate(videos):
            entry = _read_json(part_path(out, video))['result']
            failed += 'error' in entry
            f.write((',\n' if i else '') + json.dumps(entry))
        f.write('\n],\n"models": ' + json.dumps(dict(record), indent=1) + '}\n')
    return failed


def _status(path: str) -> str:
    """``'done'``, ``'error'`` (redone) or ``'missing'``: the part of one video."""
    if not os.path.isfile(path):
        return 'missing'
    try:
        with open(path) as f:
            part = json.load(f)
    except (OSError, ValueError):
        return 'missing'  # not ours: atomic writes leave no half part
    return 'error' if 'error' in part.get('result', {}) else 'done'


# --------------------------------------------------------------------------- the task

def predict_videos(folder: str, out: str, *, det_config: str | None = None,
                   det_checkpoint: str | None = None, config: str | None = None,
                   checkpoint: str | None = None, label_map: str | None = None,
                   options: DemoOptions = DemoOptions(), device: str = 'cpu',
                   cfg_options: Mapping | None = None, backend: str = 'torch',
                   onnx_dir: str | None = None, precision: str = 'f32',
                   threads: int | None = None, progress: bool = True) -> BatchSummary:
    """``stad predict-videos``: the demo's predictions for every video of ``folder`` into
    the results file ``out`` (module doc: format, resuming, failures, torchrun).

    Args:
        folder: searched recursively for videos (:func:`find_videos`).
        out: the results file (JSON; its parts go to ``<out>.parts/``).
        det_config, det_checkpoint, config, checkpoint, label_map, options, device,
            cfg_options: as for :func:`stad.tasks.demo.run_demo`.
        backend, onnx_dir, precision: as for :func:`stad.tasks.demo.load_models` (the
            configs and checkpoints are optional on a backend other than torch).
        threads: torch threads of this process (and, under torchrun, each runtime
            session's); default :func:`default_threads`.
        progress: a line per video (stderr) with counts and ETA, prefixed with the rank
            when there are several.

    Raises:
        StadError: no videos, an output that cannot be written, parts of another run,
            missing or unloadable models, bad options (before any video is predicted).
    """
    from stad.apis.runtime import check_backend
    t0 = time.monotonic()
    check_backend(backend, precision)
    check_writable(out)
    videos = find_videos(folder)
    # a bad file fails before any model loads
    labels = read_label_map(label_map) if label_map is not None else None
    record = run_record(det_config=det_config, det_checkpoint=det_checkpoint, config=config,
                        checkpoint=checkpoint, label_map=label_map, options=options,
                        cfg_options=cfg_options, backend=backend, onnx_dir=onnx_dir,
                        precision=precision)
    check_parts(out, record)

    grouped = needs_process_group(backend)
    rank, world = 0, 1
    if grouped:
        import torch
        from mmengine import dist
        was_distributed = dist.is_distributed()
        rank, world = init_distributed()
        torch.set_num_threads(threads or default_threads(world))
    try:
        # a runtime's sessions get this process's share of the cores too, when asked or
        # shared with other ranks (alone, the runtimes' own default: every core)
        session_threads = threads or (default_threads(world) if world > 1 else None)
        if device == 'cuda' and world > 1:
            device = f'cuda:{os.environ.get("LOCAL_RANK", rank)}'
        share = list(videos[rank::world])
        tag = f'[rank {rank}/{world}] ' if world > 1 else ''
        status = {v: _status(part_path(out, v)) for v in share}
        todo = [v for v in share if status[v] != 'done']
        skipped = len(share) - len(todo)
        if rank == 0 and not os.path.isfile(os.path.join(parts_dir(out), RUN_FILE)):
            atomic_write_text(os.path.join(parts_dir(out), RUN_FILE),
                              json.dumps(record, indent=1) + '\n')
        if progress:
            print(f'{tag}predict-videos: {len(share)} of {len(videos)} videos, {skipped} '
                  f'skipped (done before), {len(todo)} to predict', file=sys.stderr, flush=True)
        failed = 0
        if todo:
            detector, am = load_models(det_config, det_checkpoint, config, checkpoint,
                                       options=options, device=device,
                                       cfg_options=cfg_options, backend=backend,
                                       onnx_dir=onnx_dir, precision=precision,
                                       threads=session_threads)
            labels = model_labels(am, labels, label_map)
            t_start = time.monotonic()
            for i, video in enumerate(todo, 1):
                t = time.monotonic()
                try:
                    result = dict(video=video, **predict_loaded(
                        os.path.join(folder, *video.split('/')), detector, am,
                        labels=labels, options=options))
                    what = (f"{result['num_frames']} frames, {len(result['segments'])} "
                            f"segments, {len(result['events'])} events")
                except Exception as e:  # one video's failure is an entry; the run goes on
                    result = dict(video=video, error=_one_line(e))
                    failed += 1
                    what = f"failed: {result['error']}"
                atomic_write_text(part_path(out, video), json.dumps(
                    dict(models=record, result=result)) + '\n')
                if progress:
                    now = time.monotonic()
                    eta = (now - t_start) / i * (len(todo) - i)
                    print(f'{tag}predict-videos: {i}/{len(todo)} ({skipped} skipped, {failed} '
                          f'failed) {video}: {what}, {now - t:.1f} s, ETA {eta:.0f} s',
                          file=sys.stderr, flush=True)
        if world > 1:
            dist.barrier()
        # rank 0 merges; then every rank learns the outcome (no rank exits while the
        # merge runs: torchrun stops the others when one exits non-zero)
        outcome = [0, None]  # error entries in the results file, a merge error
        if rank == 0:
            try:
                missing = [v for v in videos if not os.path.isfile(part_path(out, v))]
                if missing:
                    raise StadError(f'{parts_dir(out)}: no result of {missing[0]} '
                                    f'({len(missing)} missing): rerun to complete {out}')
                outcome[0] = merge_parts(out, videos, record)
            except StadError as e:
                outcome[1] = str(e)
        if world > 1:
            dist.broadcast_object_list(outcome, src=0)
        if outcome[1] is not None:
            raise StadError(outcome[1])
        return BatchSummary(out=out, videos=len(videos), share=len(share),
                            predicted=len(todo), skipped=skipped, failed=outcome[0],
                            failed_now=failed, merged=rank == 0, rank=rank,
                            world_size=world, seconds=time.monotonic() - t0)
    finally:
        if grouped:
            _finish_distributed(not was_distributed)
