"""What a training shows on the terminal when ``stad run`` drives it.

mmengine prints its environment and the whole config (hundreds of lines) and a line
every logging interval; all of that is in the run's log file
(``<work_dir>/<timestamp>/<timestamp>.log``). :func:`quiet_runner` keeps warnings and
errors on the terminal and adds one progress bar or periodic line with ETA
(:mod:`stad.progress`).
"""
from __future__ import annotations

import contextlib
import io
import logging
import sys

from mmengine.hooks import Hook

from stad.progress import progress_bar


class ProgressHook(Hook):
    """One progress bar over the training iterations, with the last loss."""

    priority = 'VERY_LOW'

    def __init__(self, desc: str):
        self.desc = desc
        self.bar = None

    def before_train(self, runner) -> None:
        self.bar = progress_bar(total=runner.max_iters, initial=runner.iter,
                                desc=self.desc, unit='iter')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if isinstance(outputs, dict) and 'loss' in outputs:
            loss = outputs['loss']
            loss = loss.detach() if hasattr(loss, 'detach') else loss
            self.bar.set_postfix_str(f'loss {float(loss):.4f}')
        self.bar.update(1)

    def after_train(self, runner) -> None:
        if self.bar is not None:
            self.bar.close()


def _console_handlers(logger: logging.Logger):
    return [h for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]


@contextlib.contextmanager
def quiet_construction():
    """Swallow what mmengine prints while a Runner is built (environment, config: they go
    to its log file too) and echo only its warnings and errors."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        yield
    for line in buf.getvalue().splitlines():
        if ' - WARNING - ' in line or ' - ERROR - ' in line:
            print(line, file=sys.stderr)


# mmengine warnings about its own internals, nothing a user can act on: kept in the log
# file, not shown on the terminal
_INTERNAL_WARNINGS = ('"FileClient" will be deprecated', '"HardDiskBackend" is the alias')


class _DropInternal(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(w in record.getMessage() for w in _INTERNAL_WARNINGS)


def quiet_runner(runner, desc: str | None = None) -> None:
    """Terminal: warnings and errors of ``runner``'s logger, plus a :class:`ProgressHook`."""
    for h in _console_handlers(runner.logger):
        h.setStream(sys.stdout)  # it was bound to quiet_construction()'s buffer
        h.setLevel(logging.WARNING)
        h.addFilter(_DropInternal())
    runner.register_hook(ProgressHook(desc or f'train {runner.experiment_name}'))


@contextlib.contextmanager
def stdout_to_log(runner):
    """What libraries print during training (pycocotools' index and evaluation tables,
    mmengine's resume notes) goes to ``<log_dir>/stdout.log``, not to the terminal."""
    import os
    path = os.path.join(runner.log_dir, 'stdout.log')
    with open(path, 'a') as f, contextlib.redirect_stdout(f):
        yield path
