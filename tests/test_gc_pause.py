"""linkback._gc: the collector paused for extraction's batches, and as it was after them."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

import pytest

from linkback._gc import cycles_collected_after
from linkback.batches import extract_batch
from linkback.brands import BrandTerms
from linkback.sources.warc import ReadStats, iter_archive

SAMPLE = Path(__file__).parent / "data" / "warc" / "real-pages" / "sample.warc.gz"


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_collector_is_paused_in_the_block_and_running_after_it() -> None:
    assert gc.isenabled()
    with cycles_collected_after():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_runs_again_after_an_error_in_the_block() -> None:
    with pytest.raises(ZeroDivisionError), cycles_collected_after():
        _ = 1 / 0
    assert gc.isenabled()


def test_on_another_thread_the_collector_keeps_running() -> None:
    seen: list[bool] = []

    def extract_in_a_thread() -> None:
        with cycles_collected_after():
            seen.append(gc.isenabled())

    thread = threading.Thread(target=extract_in_a_thread)
    thread.start()
    thread.join()
    assert seen == [True] and gc.isenabled()


def test_a_collector_paused_before_stays_paused() -> None:
    gc.disable()
    try:
        with cycles_collected_after():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cycle_made_in_the_block_is_freed_by_the_first_young_pass_after_it() -> None:
    with cycles_collected_after():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        assert alive() is not None  # no pass ran in the block
    gc.collect(0)
    assert alive() is None


def test_extract_batch_leaves_the_collector_running() -> None:
    extract_batch([])
    assert gc.isenabled()


def test_extracting_and_scanning_real_pages_makes_no_cycle() -> None:
    """What pausing the collector rests on: a cycle would hold its objects (a page's tree among
    them) until the batch ends. On the sample's real pages, with brand terms, none is made."""
    pages = list(iter_archive(str(SAMPLE), stats=ReadStats()))
    brands = BrandTerms((("Wikipedia", "wikipedia.org"), ("New York Times", "nytimes.com"), ("Straße", "s.example")))
    extract_batch(pages, brands)  # what a first call imports or caches is made, and kept, here
    gc.collect()
    gc.disable()
    try:
        batch = extract_batch(pages, brands)
        assert batch.html_pages > 20 and batch.mentions is not None and batch.mentions.num_rows > 0
        del batch
        assert gc.collect() == 0
    finally:
        gc.enable()
