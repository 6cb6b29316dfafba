# Start a child process that adds two numbers, wait for it: median ms per
# start+join, for each start method. Usage: python3 spawn.py ROUNDS
import multiprocessing as mp
import statistics
import sys
import time


def add(a, b):
    return a + b


def main():
    rounds = int(sys.argv[1])
    for method in ("spawn", "forkserver", "fork"):
        ctx = mp.get_context(method)
        # A first one warms up (forkserver starts its server here).
        ctx.Process(target=add, args=(1, 2)).start()
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            p = ctx.Process(target=add, args=(1, 2))
            p.start()
            p.join()
            times.append((time.perf_counter() - start) * 1000)
        print(f"{method} {statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
