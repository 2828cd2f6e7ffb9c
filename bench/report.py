"""How every benchmark reports: a figure, the baseline measured in the same run, their ratio, and
whether the issue's target for that ratio holds. No figure is ever compared with a stored number."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    ours: float
    baseline: float
    unit: str
    target: float | None  # the ratio ours/baseline must not exceed; None: shown for information
    baseline_name: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline

    @property
    def holds(self) -> bool:
        return self.target is None or self.ratio <= self.target

    def line(self) -> str:
        verdict = "" if self.target is None else f"  target <= {self.target:.2f}x {'holds' if self.holds else 'MISSED'}"
        return (
            f"  {self.name:<40} {self.ours:9.2f} {self.unit:<3}  baseline {self.baseline:9.2f} {self.unit:<3}"
            f" ({self.baseline_name})  ratio {self.ratio:6.3f}x{verdict}"
        )


def show(figure: Figure) -> Figure:
    print(figure.line(), flush=True)
    return figure


def summary(figures: list[Figure]) -> bool:
    """One line per target; True when every target holds."""
    targeted = [f for f in figures if f.target is not None]
    print("\nTargets")
    for figure in targeted:
        print(
            f"  [{'holds ' if figure.holds else 'MISSED'}] {figure.name}: {figure.ratio:.3f}x"
            f" (target <= {figure.target:.2f}x)"
        )
    return all(f.holds for f in targeted)


def interleaved_medians_ms(
    ours: Callable[[], object], baseline: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Medians of both calls, alternated so drift in machine load (CI neighbours) hits both alike."""
    for _ in range(2):
        ours(), baseline()
    mine, base = [], []
    for _ in range(repeats):
        for call, samples in ((ours, mine), (baseline, base)):
            started = time.perf_counter()
            call()
            samples.append(time.perf_counter() - started)
    return statistics.median(mine) * 1000, statistics.median(base) * 1000
