from __future__ import annotations

import os
import threading

from loft.kit import tokens


def test_hex_gives_twice_as_many_lowercase_hex_digits_as_bytes() -> None:
    for size in (1, 10, 20, 5000):  # 5000: more than a whole buffer at once
        value = tokens.hex(size)
        assert len(value) == 2 * size
        assert int(value, 16) >= 0 and value == value.lower()


def test_no_two_draws_share_bytes_across_buffers_and_threads() -> None:
    drawn: list[str] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [tokens.hex(10) for _ in range(3000)]  # ~7 refills of the 4 KiB buffer per thread
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(drawn)) == len(drawn) == 12000


def test_a_forked_child_draws_bytes_of_its_own() -> None:
    tokens.hex(10)  # the parent's buffer holds bytes not handed out yet
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write, tokens.hex(10).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    os.close(read)
    assert len(from_child) == 20
    assert from_child != tokens.hex(10)  # what the parent draws next is not what the child was given
