"""Progress you can see: one object that turns ``(fraction, eta_s, text)`` callbacks into an ``st.progress`` bar.

Compute functions (``compute_embeddings``, ``compute_map``, …) take ``progress=``: ``True`` for a tqdm bar in a
notebook, or a callable ``progress(fraction, eta_s, text)``. In the app a :class:`ProgressBar` is that callable:
it shows "12 of 40 batches · about 35 s left", and, once the first timed step gives a rate, an estimate of the
whole job ("about 1 min for 1,797 images on this machine"). Rates measured on this server are kept per kind of
work, so the next run can be estimated before it starts (:func:`estimate`).
"""

from __future__ import annotations

import time

import streamlit as st

from sda2.ui.safe_text import md

_RATES: dict[str, float] = {}  # kind of work -> seconds per item measured on this server


def duration(seconds: float) -> str:
    """A rough human duration: "about 35 s", "about 2 min", "about 1.5 h"."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    if seconds < 3600:
        return f"about {round(seconds / 60):,} min"
    return f"about {seconds / 3600:.1f} h"


def remember_rate(kind: str, seconds_per_item: float) -> None:
    """Keep a measured rate (seconds per item) of ``kind`` of work for later estimates on this server."""
    if seconds_per_item > 0:
        _RATES[kind] = float(seconds_per_item)


def estimate(kind: str, items: int, unit: str = "images") -> str | None:
    """"about 1 min for 1,797 images on this machine" from a rate measured earlier, or None when none is known."""
    rate = _RATES.get(kind)
    if rate is None or items <= 0:
        return None
    return f"{duration(rate * items)} for {items:,} {unit} on this machine"


class ProgressBar:
    """A callable ``(fraction, eta_s, text)`` that draws an ``st.progress`` bar with the ETA and a first estimate."""

    def __init__(self, kind: str, items: int, unit: str = "images", start_text: str = "Starting…"):
        """A bar for ``items`` of ``kind`` of work; shows a known estimate (or ``start_text``) before the first step."""
        self.kind, self.items, self.unit = kind, int(items), unit
        self.started = time.perf_counter()
        self.fractions: list[float] = []
        self.texts: list[str] = []  # every text the bar showed, in order
        self.first_estimate: str | None = estimate(kind, self.items, unit)
        self._note = st.empty()
        if self.first_estimate:
            self._note.caption(md(f"Estimate: {self.first_estimate}."))
        self._bar = st.progress(0.0, text=md(start_text))
        self._measured = False

    def __call__(self, fraction: float, eta_s: float | None = None, text: str = "") -> None:
        """Move the bar to ``fraction`` (0…1) with ``text`` and "about N s left" when ``eta_s`` is known."""
        fraction = min(1.0, max(0.0, float(fraction)))
        self.fractions.append(fraction)
        if eta_s is not None and not self._measured and 0 < fraction < 1:
            total = time.perf_counter() - self.started + eta_s
            self.first_estimate = f"{duration(total)} for {self.items:,} {self.unit} on this machine"
            self._note.caption(md(f"Estimate: {self.first_estimate}."))
            self._measured = True
        parts = [text] if text else []
        if eta_s is not None and fraction < 1:
            parts.append(f"{duration(eta_s)} left")
        self.texts.append(" · ".join(parts) or f"{fraction:.0%}")
        self._bar.progress(fraction, text=md(self.texts[-1]))

    def done(self, text: str | None = None) -> float:
        """Fill the bar, remember this run's rate for later estimates, and return the seconds it took."""
        seconds = time.perf_counter() - self.started
        if self.items:
            remember_rate(self.kind, seconds / self.items)
        self._bar.progress(1.0, text=md(text or f"Done in {seconds:,.1f} s"))
        return seconds


def stage(bar: ProgressBar, start: float, end: float):
    """A ``(fraction, eta_s, text)`` callback that maps a sub-job's 0…1 onto ``start``…``end`` of ``bar``."""
    def report(fraction: float, eta_s: float | None = None, text: str = "") -> None:
        """Report the sub-job's progress on its share of the bar."""
        bar(start + (end - start) * fraction, eta_s, text)
    return report
