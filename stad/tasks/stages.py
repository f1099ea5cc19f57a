"""A resumable sequence of pipeline stages that notices changed options.

Each stage records ``<work_dir>/stages/<name>.json`` (its options, results and duration)
after it finishes. A stage is skipped when its record exists, its declared outputs all
exist, and the options it ran with, and those of every stage before it, equal today's;
so a rerun after a kill resumes at the first incomplete stage (a training stage resumes
inside itself from its latest checkpoint), and a rerun with other options reruns the
first stage they touch and everything after it. Before a stage reruns with changed
options, its own folders (``Stage.clean``) are removed, so that a training does not
resume from a checkpoint made with the old options.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from stad.io.atomic import atomic_write_text


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Attributes:
        name: short identifier, also the record's file name.
        run: called with no arguments; returns a JSON-serialisable dict of results.
        outputs: paths that must exist for the stage to count as complete.
        params: the options the stage's outputs depend on (JSON-serialisable).
        clean: folders removed before the stage runs with options other than those its
            unfinished or finished earlier run had.
    """

    name: str
    run: Callable[[], dict]
    outputs: Sequence[str] = field(default_factory=tuple)
    params: dict = field(default_factory=dict)
    clean: Sequence[str] = field(default_factory=tuple)


def record_path(work_dir: str, name: str) -> str:
    return os.path.join(work_dir, 'stages', f'{name}.json')


def started_path(work_dir: str, name: str) -> str:
    return os.path.join(work_dir, 'stages', f'{name}.started.json')


def _signature(params: dict, upstream: str) -> str:
    text = json.dumps(dict(params=params, upstream=upstream), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def _read(path: str) -> dict | None:
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError:  # written atomically, so only by hand
        return None


def _changes(old: dict | None, new: dict) -> str:
    old = (old or {}).get('params') or {}
    diff = [f'{k} {old.get(k)!r} -> {new.get(k)!r}' for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)]
    return ', '.join(diff) or 'an earlier stage reran'


def run_stages(work_dir: str, stages: Sequence[Stage], *, log: Callable[[str], None] = print
               ) -> dict[str, dict]:
    """Run ``stages`` in order, skipping complete unchanged ones; returns each stage's
    record ``{'seconds', 'skipped', 'params', 'signature', 'results'}`` (``seconds`` of a
    skipped stage is the duration recorded when it ran)."""
    records = {}
    n = len(stages)
    upstream = ''
    for i, stage in enumerate(stages, 1):
        sig = _signature(stage.params, upstream)
        upstream = sig
        path, started = record_path(work_dir, stage.name), started_path(work_dir, stage.name)
        rec = _read(path)
        outputs_ok = all(os.path.exists(p) for p in stage.outputs)
        if rec is not None and rec.get('signature') == sig and outputs_ok:
            rec['skipped'] = True
            log(f'[{i}/{n}] {stage.name}: complete, skipped ({rec["seconds"]:.0f} s when it ran)')
            records[stage.name] = rec
            continue
        before = _read(started) or rec
        if before is not None and before.get('signature') != sig:
            log(f'[{i}/{n}] {stage.name}: options changed since it ran '
                f'({_changes(before, stage.params)}): rerunning it')
            for folder in stage.clean:
                shutil.rmtree(folder, ignore_errors=True)
        log(f'[{i}/{n}] {stage.name} ...')
        atomic_write_text(started, json.dumps(dict(signature=sig, params=stage.params),
                                              default=str))
        t0 = time.time()
        results = stage.run() or {}
        rec = dict(seconds=round(time.time() - t0, 1), skipped=False, params=stage.params,
                   signature=sig, results=results)
        atomic_write_text(path, json.dumps(rec, indent=2, default=float))
        log(f'[{i}/{n}] {stage.name}: done in {rec["seconds"]:.0f} s')
        records[stage.name] = rec
    return records
