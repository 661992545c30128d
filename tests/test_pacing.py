"""The rate limiter and the retry backoff, on a fake clock."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter

import pytest

from ecograph.pacing import RateLimiter, RateLimitHeaders, backoff_delay, parse_rate_limit


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def make(clock: FakeClock, **kw: float) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep, **kw)


class FixedWindowServer:
    """The Hub's fixed-window quota on the fake clock; answers with its headers."""

    def __init__(self, clock: FakeClock, quota: int, window: float) -> None:
        self.clock, self.quota, self.window = clock, quota, window
        self.used: Counter[int] = Counter()
        self.refused = 0

    def request(self) -> RateLimitHeaders:
        t = self.clock()
        w = int(t // self.window)
        reset = max(1, math.ceil((w + 1) * self.window - t))
        if self.used[w] >= self.quota:
            self.refused += 1
            return RateLimitHeaders(0, reset, self.quota, self.window)
        self.used[w] += 1
        return RateLimitHeaders(self.quota - self.used[w], reset, self.quota, self.window)


def test_parse_headers() -> None:
    info = parse_rate_limit({"ratelimit": '"api";r=0;t=55',
                             "ratelimit-policy": '"fixed window";"api";q=500;w=300'})
    assert info == RateLimitHeaders(0, 55.0, 500, 300.0)
    assert parse_rate_limit({"RateLimit": '"api";r=3;t=2'}) == RateLimitHeaders(3, 2.0)
    assert parse_rate_limit({"RateLimit": "garbage"}) is None
    assert parse_rate_limit({}) is None


def test_without_headers_never_waits() -> None:
    clock = FakeClock()
    lim = make(clock)
    for _ in range(1000):
        assert lim.acquire() == 0.0
    assert clock.t == 0.0 and lim.waits == 0 and lim.requests == 1000


def test_blocks_until_reset_when_spent() -> None:
    clock = FakeClock()
    lim = make(clock, reset_slack=0.5)
    lim.update(RateLimitHeaders(remaining=1, reset=20, quota=100, window=300))
    waited = lim.acquire()  # 1 left but the margin keeps it: wait for the reset
    assert waited == pytest.approx(20.5)
    assert lim.waits == 1 and lim.wait_seconds == pytest.approx(20.5)
    assert lim.budget == 99  # a fresh window's quota, minus the request just sent


def test_spreads_the_quota_over_the_window() -> None:
    clock = FakeClock()
    lim = make(clock)
    lim.update(RateLimitHeaders(remaining=100, reset=10, quota=100, window=10))
    times = []
    for _ in range(96):
        lim.acquire()
        times.append(clock.t)
    # a burst of 10% first, then evenly spread: the budget lasts the whole window
    assert times[9] == 0.0
    assert times[20] > 0.5
    assert 8.0 < times[-1] <= 10.0


def test_never_exceeds_a_fixed_window_quota() -> None:
    clock = FakeClock()
    server = FixedWindowServer(clock, quota=50, window=5)
    lim = make(clock)
    for _ in range(400):
        lim.acquire()
        lim.update(server.request())
        clock.t += 0.001  # request time
    assert server.refused == 0
    assert max(server.used.values()) <= 50
    # it runs at the quota: 400 requests at <=50 per 5 s need at least 8 windows,
    # and pacing wastes little more than the safety margin
    assert 35 <= clock.t <= 52


def test_same_window_takes_the_lower_remaining_and_ignores_stale() -> None:
    clock = FakeClock()
    lim = make(clock)
    lim.update(RateLimitHeaders(remaining=80, reset=100, quota=100, window=300))
    lim.update(RateLimitHeaders(remaining=60, reset=100, quota=100, window=300))
    assert lim.budget == 60
    lim.update(RateLimitHeaders(remaining=90, reset=99, quota=100, window=300))
    assert lim.budget == 60  # another client may have used the quota: keep the lower
    clock.t = 101
    lim.acquire()  # new window
    assert lim.budget == 99
    lim.update(RateLimitHeaders(remaining=0, reset=0, quota=100, window=300))  # late, old
    assert lim.budget == 99


def test_pause_blocks_everyone() -> None:
    clock = FakeClock()
    lim = make(clock)
    lim.pause_until_reset(7)
    assert lim.acquire() == pytest.approx(7)
    assert lim.acquire() == 0.0


def test_thread_safe_budget() -> None:
    lim = RateLimiter()
    lim.update(RateLimitHeaders(remaining=10_000, reset=3600, quota=10_000, window=3600))
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for _ in range(100):
            lim.acquire()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lim.requests == 800
    assert lim.budget == 10_000 - 800


def test_backoff_full_jitter_capped() -> None:
    rng = random.Random(1)
    for attempt in range(1, 20):
        d = backoff_delay(attempt, base=0.5, cap=8, rng=rng)
        assert 0 <= d <= min(8, 0.5 * 2 ** (attempt - 1))
    delays = [backoff_delay(4, base=0.5, cap=30, rng=rng) for _ in range(2000)]
    assert 1.7 < sum(delays) / len(delays) < 2.3  # mean of U(0, 4)


def test_backoff_honours_retry_after() -> None:
    rng = random.Random(2)
    for attempt in (1, 3, 9):
        d = backoff_delay(attempt, retry_after=12, base=0.5, rng=rng)
        assert 12 <= d <= 12.5
    assert backoff_delay(1, retry_after=0, base=0.5, rng=rng) <= 0.5
