# Start a thread, get one result back: median ms. Usage: thread.py ROUNDS
import statistics
import sys
import threading
import time


def main():
    rounds = int(sys.argv[1])
    times = []
    for _ in range(rounds):
        result = []
        start = time.perf_counter()
        t = threading.Thread(target=lambda: result.append(1 + 2))
        t.start()
        t.join()
        times.append((time.perf_counter() - start) * 1000)
    print(f"thread {statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
