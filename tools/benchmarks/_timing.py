"""Side-by-side timing shared by the benchmark scripts (imported as a sibling module)."""
import time
from typing import Callable, Mapping


def interleaved_medians(steps: Mapping[str, Callable[[], None]], reps: int, *,
                        inner: int = 1, on_rep: Callable | None = None) -> dict:
    """Median seconds per call of each named step.

    Every repetition calls each step ``inner`` times, the steps taking turns, so that the
    machine's speed drifting during the run hits every variant alike. ``on_rep(rep,
    {name: seconds per call})`` is called after each repetition (progress lines).
    """
    times = {name: [] for name in steps}
    for rep in range(reps):
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                step()
            times[name].append((time.perf_counter() - t0) / inner)
        if on_rep:
            on_rep(rep, {name: t[-1] for name, t in times.items()})
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}
