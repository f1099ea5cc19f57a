"""A resumable sequence of pipeline stages.

Each stage records ``<work_dir>/stages/<name>.json`` (its results and duration) after it
finishes; a stage whose record exists and whose declared outputs all exist is skipped, so
a rerun after a kill resumes at the first incomplete stage. A stage that trains models
resumes inside itself from its latest checkpoint.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..io import atomic_write_text

logger = logging.getLogger('stad')


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Attributes:
        name: short identifier, also the record's file name.
        run: called with no arguments; returns a JSON-serialisable dict of results.
        outputs: paths that must exist for the stage to count as complete.
    """

    name: str
    run: Callable[[], dict]
    outputs: Sequence[str] = field(default_factory=tuple)


def record_path(work_dir: str, name: str) -> str:
    return os.path.join(work_dir, 'stages', f'{name}.json')


def is_complete(work_dir: str, stage: Stage) -> bool:
    return os.path.exists(record_path(work_dir, stage.name)) and all(
        os.path.exists(p) for p in stage.outputs)


def run_stages(work_dir: str, stages: Sequence[Stage], *, log: Callable[[str], None] = print
               ) -> dict[str, dict]:
    """Run ``stages`` in order, skipping complete ones; returns each stage's record.

    A record is ``{'seconds': float, 'skipped': bool, 'results': dict}``; ``seconds`` of a
    skipped stage is the duration recorded when it ran.
    """
    records = {}
    n = len(stages)
    for i, stage in enumerate(stages, 1):
        path = record_path(work_dir, stage.name)
        if is_complete(work_dir, stage):
            with open(path) as f:
                rec = json.load(f)
            rec['skipped'] = True
            log(f'[{i}/{n}] {stage.name}: complete, skipped ({rec["seconds"]:.0f} s when it ran)')
        else:
            log(f'[{i}/{n}] {stage.name} ...')
            t0 = time.time()
            results = stage.run() or {}
            rec = dict(seconds=round(time.time() - t0, 1), skipped=False, results=results)
            atomic_write_text(path, json.dumps(rec, indent=2, default=float))
            log(f'[{i}/{n}] {stage.name}: done in {rec["seconds"]:.0f} s')
        records[stage.name] = rec
    return records
