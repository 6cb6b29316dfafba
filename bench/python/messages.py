# N small messages child -> parent through a Queue and through a Pipe:
# messages/s. Usage: messages.py N
import multiprocessing as mp
import sys
import time


def put_all(q, n):
    for i in range(n):
        q.put(i)
    q.put(None)


def send_all(conn, n):
    for i in range(n):
        conn.send(i)
    conn.send(None)


def main():
    n = int(sys.argv[1])
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=put_all, args=(q, n))
    start = time.perf_counter()
    p.start()
    while q.get() is not None:
        pass
    took = time.perf_counter() - start
    p.join()
    print(f"queue {n / took:.1f}")
    a, b = ctx.Pipe()
    p = ctx.Process(target=send_all, args=(b, n))
    start = time.perf_counter()
    p.start()
    while a.recv() is not None:
        pass
    took = time.perf_counter() - start
    p.join()
    print(f"pipe {n / took:.1f}")


if __name__ == "__main__":
    main()
