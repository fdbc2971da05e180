#!/usr/bin/env python3
"""reverse_md5.py: Parallel Python's reverse_md5 example, in pp's API on weft.

Finds the number whose decimal text has a given MD5 hash by brute force:
the range [0, N) is cut into PARTS jobs, each of which tries its numbers
and returns the one it found, or None. The jobs are read in order and the
search stops at the first that found it; destroy() then drops the jobs not
started yet.

Usage: reverse_md5.py [NCPUS [SECRET [N [PARTS [NODE ...]]]]]
       (defaults: autodetect, 1829182, 2000000, 64)

Written for pp: with `import pp` instead of the line below it runs on
Parallel Python.
"""
import hashlib
import sys

import weft.pp as pp


def md5test(hash, start, end):
    """The x in [start, end) whose MD5 hex digest is hash, or None."""
    for x in range(start, end):
        if hashlib.md5(str(x).encode()).hexdigest() == hash:
            return x
    return None


def main(argv):
    ncpus = int(argv[1]) if len(argv) > 1 else "autodetect"
    secret = int(argv[2]) if len(argv) > 2 else 1829182
    n = int(argv[3]) if len(argv) > 3 else 2000000
    parts = int(argv[4]) if len(argv) > 4 else 64
    job_server = pp.Server(ncpus, ppservers=tuple(argv[5:]))
    print("Starting pp with", job_server.get_ncpus(), "workers")

    hash = hashlib.md5(str(secret).encode()).hexdigest()
    print("hash to reverse:", hash)
    step = (n + parts - 1) // parts
    jobs = []
    for i in range(parts):
        start, end = i * step, min(n, (i + 1) * step)
        jobs.append(job_server.submit(md5test, (hash, start, end), (), ("hashlib",)))

    result = None
    looked = 0
    for job in jobs:
        looked += 1
        result = job()
        if result is not None:
            break
    if result is None:
        print("Reverse md5 for", hash, "not found below", n)
    else:
        print("Reverse md5 for", hash, "is", result)
    print("parts read:", looked, "of", parts)
    job_server.print_stats()
    job_server.destroy()
    print("reverse_md5.py: done")
    return 0 if result == secret else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
