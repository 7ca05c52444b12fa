"""The bounded memo of the tokenising and language caches (tonecls._memo)."""

from __future__ import annotations


def test_bounded_memo_shared_by_threads_never_raises():
    import sys
    import threading

    from tonecls._memo import BoundedMemo

    memo, errors = BoundedMemo(50), []

    def fill(thread: int) -> None:
        try:
            for i in range(20_000):
                memo.remember((thread, i), i)
        except Exception as error:  # noqa: BLE001 - the test reports any
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=fill, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors and len(memo) <= 50 + 4
