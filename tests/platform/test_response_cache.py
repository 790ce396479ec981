"""The response store: generations, freshness and its byte budget."""

from __future__ import annotations

from w4r.platform.response_cache import ENTRY_OVERHEAD_BYTES, ResponseStore, StoredAnswer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def answer(store: ResponseStore, data: bytes = b'{"a":1}', lifetime: float = 60.0) -> StoredAnswer:
    return StoredAnswer(
        data=data,
        etag='W/"x"',
        generation=store.generation,
        expires_at=store.clock() + lifetime,
        http_max_age_seconds=60,
        cost=3,
        operation_name="Cases",
    )


def serving(max_bytes: int = 10_000) -> ResponseStore:
    store = ResponseStore(max_bytes, clock=Clock())
    store.resume()
    return store


def test_nothing_is_served_before_the_listener_listens() -> None:
    store = ResponseStore(10_000)
    assert not store.put(b"k", answer(store))
    assert store.get(b"k") is None


def test_an_answer_computed_before_a_change_is_never_kept() -> None:
    # given an answer whose computation started in the current generation
    store = serving()
    started = answer(store)

    # when a change invalidates the store before the answer is kept
    store.invalidate()

    # then the answer is refused, and what was stored before is gone
    assert not store.put(b"k", started)
    assert store.get(b"k") is None
    assert len(store) == 0


def test_an_answer_is_fresh_until_it_expires() -> None:
    clock = Clock()
    store = ResponseStore(10_000, clock=clock)
    store.resume()
    stored = answer(store, lifetime=5.0)
    assert store.put(b"k", stored)

    clock.now += 4.9
    assert store.get(b"k") is stored
    clock.now += 0.1
    assert store.get(b"k") is None
    assert store.size_bytes == 0


def test_the_least_recently_used_answers_go_first_within_the_budget() -> None:
    # given a budget for two answers of 100 bytes
    entry_size = 1 + 100 + len('W/"x"') + ENTRY_OVERHEAD_BYTES
    store = serving(max_bytes=2 * entry_size)
    for key in (b"a", b"b"):
        assert store.put(key, answer(store, b"x" * 100))

    # when "a" is read, then a third answer is kept
    assert store.get(b"a") is not None
    assert store.put(b"c", answer(store, b"x" * 100))

    # then "b", the least recently used, was evicted
    assert store.get(b"b") is None
    assert store.get(b"a") is not None
    assert store.get(b"c") is not None
    assert store.size_bytes == 2 * entry_size


def test_an_answer_larger_than_the_budget_is_not_kept() -> None:
    store = serving(max_bytes=300)
    assert not store.put(b"k", answer(store, b"x" * 300))
    assert (len(store), store.size_bytes) == (0, 0)


def test_a_suspended_store_serves_nothing_and_starts_over_empty() -> None:
    store = serving()
    assert store.put(b"k", answer(store))

    store.suspend()
    assert store.get(b"k") is None
    assert not store.put(b"k", answer(store))

    store.resume()
    assert store.get(b"k") is None
    assert store.put(b"k", answer(store))
    assert store.get(b"k") is not None
