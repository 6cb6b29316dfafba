# Pool(2).map of f(i) = sum of k*k for k < 10,000 over N inputs: tasks/s.
# Usage: pool_map.py N
import multiprocessing as mp
import sys
import time


def f(i):
    s = 0
    for k in range(10_000):
        s += k * k
    return s + i


def main():
    n = int(sys.argv[1])
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(f, range(4))
        start = time.perf_counter()
        pool.map(f, range(n))
        took = time.perf_counter() - start
    print(f"pool {n / took:.1f}")


if __name__ == "__main__":
    main()
