# MIB mebibytes child -> parent with Pipe.send_bytes in 1 MiB messages: MB/s.
# Usage: bytes.py MIB
import multiprocessing as mp
import sys
import time


def send(conn, mib):
    chunk = bytes(1 << 20)
    for _ in range(mib):
        conn.send_bytes(chunk)
    conn.send_bytes(b"")


def main():
    mib = int(sys.argv[1])
    ctx = mp.get_context("spawn")
    a, b = ctx.Pipe()
    p = ctx.Process(target=send, args=(b, mib))
    start = time.perf_counter()
    p.start()
    total = 0
    while True:
        data = a.recv_bytes()
        if not data:
            break
        total += len(data)
    took = time.perf_counter() - start
    p.join()
    print(f"bytes {total / took / 1e6:.1f}")


if __name__ == "__main__":
    main()
