"""Create ML action classifier data sources: labelled folders and annotation files.

Apple's Create ML trains an action classifier from one of (MLActionClassifier.DataSource,
"Building an Action Classifier Data Source"):

* **labelled folders** (``labeledDirectories``): ``<root>/<label>/<video>``, the folder's
  name is the label of every video in it, one action per video, the whole video;
* **annotated videos** (``directoryWithVideosAndAnnotation``): videos in one folder and
  one annotation file, CSV or JSON (an array of objects), with the keys ``video`` (the
  file, relative to the annotation file's folder), ``label``, and optional ``start`` and
  ``end`` (read case-insensitively): a range of the video, so that one video may hold
  several actions. If one entry has a start (end), every entry must; a missing start
  is 0, a missing end the end of the video. Times are seconds (``12``, ``12.5``), ``MM:SS`` / ``MM:SS.ff`` or
  ``HH:MM:SS`` / ``HH:MM:SS.ff`` (``.ff`` a decimal fraction of a second: ``01:02.5`` is
  62.5 s).

Create ML takes training and testing data as two data sources; a folder holding
``train/`` and ``val/`` (or ``test/``) sources is read as the two splits
(:func:`read_createml_source`).

These files carry no boxes and no person ids: :mod:`stad.tasks.autolabel` finds the
person. This module only reads the files into :class:`LabelledRange` s; each names the
file and line (CSV: its line number, header = line 1; JSON: ``entry k``, 1-based) in
``where`` so that later messages can point at it.
"""
from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass

from stad.errors import StadError

#: extensions of the videos a labelled folder holds (case-insensitive)
VIDEO_EXTENSIONS = ('.mp4', '.mov', '.avi', '.m4v', '.mkv')
#: extensions of annotation files
ANNOTATION_EXTENSIONS = ('.csv', '.json')
#: the keys of an annotation entry (Create ML's column names)
KEYS = ('video', 'label', 'start', 'end')
#: folder names read as the train and the val split of one source
SPLIT_DIRS = {'train': 'train', 'val': 'val', 'test': 'val', 'validation': 'val'}


@dataclass(frozen=True)
class LabelledRange:
    """One labelled action: a video (or a range of it) and its label.

    Attributes:
        video_path: the video file (absolute).
        label: the action's name.
        start_s: start of the range in seconds (0 for the whole video).
        end_s: end of the range in seconds, or None for the end of the video.
        where: the file and line (or entry) it was read from, for messages.
    """

    video_path: str
    label: str
    start_s: float = 0.0
    end_s: float | None = None
    where: str = ''


_CLOCK = re.compile(r'^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$')


def parse_time(value, where: str, field: str = 'time') -> float:
    """Seconds from a Create ML time: a number, ``'SS(.ff)'``, ``'MM:SS(.ff)'`` or
    ``'HH:MM:SS(.ff)'``.

    Raises:
        StadError: any other form, a negative time, or minutes / seconds of 60 or more
            in a clock form (``'<where>: <field> ...'``).
    """
    if isinstance(value, bool):
        raise StadError(f'{where}: {field} {value!r} is not a time')
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip()
        m = _CLOCK.match(text)
        if m:
            hours, minutes, secs = int(m.group(1) or 0), int(m.group(2)), float(m.group(3))
            if secs >= 60 or (m.group(1) is not None and minutes >= 60):
                raise StadError(f'{where}: {field} {text!r}: minutes and seconds must be '
                                'below 60 in MM:SS / HH:MM:SS')
            seconds = hours * 3600 + minutes * 60 + secs
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise StadError(f'{where}: {field} {text!r} is not a time (expected seconds '
                                'like 12.5, MM:SS(.ff) or HH:MM:SS(.ff))') from None
    if not seconds >= 0 or seconds == float('inf'):
        raise StadError(f'{where}: {field} {value!r} must be a finite time >= 0')
    return seconds


def _is_video(name: str) -> bool:
    return not name.startswith('.') and name.lower().endswith(VIDEO_EXTENSIONS)


def _visible(names) -> list[str]:
    return sorted(n for n in names if not n.startswith('.'))


def read_labelled_folders(root: str) -> list[LabelledRange]:
    """Every video of ``<root>/<label>/`` as a whole-video :class:`LabelledRange`.

    Hidden files and folders (names starting with ``.``) and files of other extensions
    are ignored; videos directly in ``root`` or deeper than ``<label>/`` are not read.

    Raises:
        StadError: ``root`` is not a folder, or no label folder holds a video.
    """
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise StadError(f'{root}: not a folder')
    out = []
    for label in _visible(os.listdir(root)):
        folder = os.path.join(root, label)
        if not os.path.isdir(folder):
            continue
        for name in _visible(os.listdir(folder)):
            path = os.path.join(folder, name)
            if _is_video(name) and os.path.isfile(path):
                out.append(LabelledRange(path, label, 0.0, None, where=path))
    if not out:
        raise StadError(f'{root}: no videos in labelled folders <root>/<label>/<video> '
                        f'(extensions {", ".join(VIDEO_EXTENSIONS)})')
    return out


def _entry(raw: dict, where: str, base: str, has: dict) -> LabelledRange:
    """One annotation entry -> :class:`LabelledRange` (``has``: which optional keys the
    file uses, so that every entry must give them)."""
    for key in ('video', 'label'):
        val = raw.get(key)
        if val is None or str(val).strip() == '':
            raise StadError(f'{where}: missing {key!r}')
    label = str(raw['label']).strip()
    video = str(raw['video']).strip()
    path = os.path.normpath(os.path.join(base, video))
    if not os.path.isfile(path):
        raise StadError(f'{where}: video {video!r} not found ({path})')
    times = {}
    for key in ('start', 'end'):
        val = raw.get(key)
        empty = val is None or (isinstance(val, str) and not val.strip())
        if has[key] and empty:
            raise StadError(f'{where}: missing {key!r} (another entry of the file has one: '
                            f'then every entry needs it)')
        times[key] = None if empty else parse_time(val, where, key)
    start = times['start'] or 0.0
    end = times['end']
    if end is not None and end < start:
        raise StadError(f'{where}: end {end:g} s is before start {start:g} s')
    return LabelledRange(path, label, start, end, where=where)


def read_annotation_file(path: str, *, video_dir: str | None = None) -> list[LabelledRange]:
    """The entries of a Create ML annotation file (``.csv`` or ``.json``).

    Args:
        path: the file. CSV: a header row naming the columns (``video``, ``label``, and
            optionally ``start``, ``end``; other columns are ignored). JSON: an array of
            objects with those keys.
        video_dir: the folder the ``video`` values are relative to (default: the
            annotation file's folder).

    Raises:
        StadError: unreadable file, not a CSV / JSON of entries, a missing key (naming
            the file and line or entry), an unknown time format, ``end < start``, a
            video that is not found.
    """
    path = os.path.abspath(path)
    base = os.path.abspath(video_dir) if video_dir is not None else os.path.dirname(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in ANNOTATION_EXTENSIONS:
        raise StadError(f'{path}: an annotation file must be .csv or .json')
    try:
        with open(path, encoding='utf-8-sig', newline='') as f:
            text = f.read()
    except FileNotFoundError:
        raise StadError(f'{path}: annotation file not found') from None
    except (OSError, UnicodeDecodeError) as e:
        raise StadError(f'cannot read {path}: {getattr(e, "strerror", None) or e}') from None
    rows: list[tuple[str, dict]] = []
    if ext == '.json':
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise StadError(f'{path}:{e.lineno}: not valid JSON ({e.msg})') from None
        if not isinstance(data, list):
            raise StadError(f'{path}: expected a JSON array of entries with keys '
                            f'{", ".join(KEYS)}, got {type(data).__name__}')
        for i, item in enumerate(data, 1):
            if not isinstance(item, dict):
                raise StadError(f'{path}: entry {i}: expected an object with keys '
                                f'{", ".join(KEYS)}, got {type(item).__name__}')
            rows.append((f'{path}: entry {i}', {str(k).lower(): v for k, v in item.items()}))
        keys = set().union(*(item.keys() for _, item in rows)) if rows else set()
        has = {k: any(item.get(k) is not None for _, item in rows) for k in ('start', 'end')}
    else:
        reader = csv.DictReader(text.splitlines(keepends=True))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        keys = set(header)
        for key in ('video', 'label'):
            if key not in keys:
                raise StadError(f'{path}:1: header has no column {key!r} (columns: '
                                f'{", ".join(header) or "none"}; Create ML needs '
                                f'video, label, optional start, end)')
        for item in reader:
            rows.append((f'{path}:{reader.line_num}', item))
        has = {k: k in keys for k in ('start', 'end')}
    if not rows:
        raise StadError(f'{path}: no entries')
    return [_entry(item, where, base, has) for where, item in rows]


def _annotation_files(folder: str) -> list[str]:
    return [os.path.join(folder, n) for n in _visible(os.listdir(folder))
            if n.lower().endswith(ANNOTATION_EXTENSIONS) and n != 'truth.json'
            and os.path.isfile(os.path.join(folder, n))]


def _one_source(src: str) -> list[LabelledRange]:
    """A file (annotation) or a folder: the annotation file it holds, else labelled
    folders."""
    if os.path.isfile(src):
        return read_annotation_file(src)
    files = _annotation_files(src)
    if len(files) > 1:
        stems = {os.path.splitext(f)[0] for f in files}
        if len(stems) == 1:  # one file in both encodings: the CSV
            files = [f for f in files if f.lower().endswith('.csv')]
        else:
            raise StadError(f'{src}: holds several annotation files '
                            f'({", ".join(os.path.basename(f) for f in files)}): name one')
    if files:
        return read_annotation_file(files[0])
    return read_labelled_folders(src)


def find_splits(src: str) -> dict[str, str]:
    """``{'train': folder, 'val': folder}`` when ``src`` is a folder whose visible
    subfolders are a ``train`` and a ``val`` (or ``test``, ``validation``) source and
    nothing else; ``{}`` otherwise (one source)."""
    if not os.path.isdir(src):
        return {}
    subs = [n for n in _visible(os.listdir(src)) if os.path.isdir(os.path.join(src, n))]
    if not subs or any(n.lower() not in SPLIT_DIRS for n in subs):
        return {}
    out = {}
    for n in subs:
        split = SPLIT_DIRS[n.lower()]
        if split in out:
            raise StadError(f'{src}: two folders for the {split} split '
                            f'({os.path.basename(out[split])}, {n})')
        out[split] = os.path.join(src, n)
    return out if 'train' in out else {}


def read_createml_source(src: str) -> dict[str, list[LabelledRange]]:
    """Every labelled range of a Create ML source, by split.

    ``src`` is an annotation file; or a folder holding one annotation file (a ``.csv``
    and a ``.json`` of one name count as one: the CSV is read; ``truth.json`` is not an
    annotation file); or a folder of labelled folders; or a folder of ``train/`` and
    ``val/`` (``test/``) sources of those kinds.

    Returns:
        ``{'all': ranges}`` for one source, ``{'train': ranges, 'val': ranges}`` for a
        folder of two.

    Raises:
        StadError: ``src`` does not exist, or what the readers raise.
    """
    src = os.path.abspath(src)
    if not os.path.exists(src):
        raise StadError(f'{src}: no such file or folder')
    splits = find_splits(src)
    if splits:
        return {split: _one_source(folder) for split, folder in sorted(splits.items())}
    return {'all': _one_source(src)}


# ------------------------------------------------------------------------------ writing

def format_seconds(seconds: float) -> str:
    """Seconds as Create ML reads them, to the microsecond (``'3.04'``, ``'0'``)."""
    text = f'{float(seconds):.6f}'.rstrip('0').rstrip('.')
    return text or '0'


def annotation_csv(rows: list[dict]) -> str:
    """CSV text of annotation entries ``{'video', 'label', 'start', 'end'}`` (times in
    seconds, numbers or already formatted)."""
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\n')
    w.writerow(KEYS)
    for r in rows:
        w.writerow([r['video'], r['label'], *(format_seconds(r[k]) if isinstance(
            r[k], (int, float)) else r[k] for k in ('start', 'end'))])
    return buf.getvalue()


def annotation_json(rows: list[dict]) -> str:
    """JSON text (an array) of annotation entries, times as numbers of seconds."""
    return json.dumps([{k: (float(format_seconds(r[k])) if k in ('start', 'end') else r[k])
                        for k in KEYS} for r in rows], indent=1) + '\n'
