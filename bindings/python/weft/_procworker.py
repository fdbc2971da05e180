"""A weft worker process: `python -m weft._procworker --weft-listen unix:PATH
--weft-secret-file KEY`, started by a process pool (weft.Runtime(processes=N),
weftd --python N), never by hand.

The process is a weft node with one worker that serves the C task "weft.py":
each task's payload goes to weft._worker.run(payload) -> (status, out), the
serializer's worker side, on the node's worker thread with the GIL held.
The process ends when its parent stops it (SIGTERM, then SIGKILL), when the
parent dies (PR_SET_PDEATHSIG, set before exec, and a watch of getppid()),
never by itself otherwise.
"""

import os
import sys


def _run_hook():
    # The serializer's worker side (bindings/python/weft/_worker.py); the
    # stand-in until that module exists.
    try:
        from weft import _worker
    except ImportError:
        from weft import _code_stub as _worker
    return _worker.run


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    opts = {}
    it = iter(argv)
    for a in it:
        if a in ("--weft-listen", "--weft-secret-file", "--weft-path"):
            try:
                opts[a] = next(it)
            except StopIteration:
                sys.exit("weft._procworker: %s needs a value" % a)
        else:
            sys.exit("weft._procworker: unknown argument %r (started by a weft process "
                     "pool only)" % a)
    if "--weft-listen" not in opts or "--weft-secret-file" not in opts:
        sys.exit("weft._procworker: --weft-listen and --weft-secret-file are required")
    from weft import _core
    _core._procworker_serve(opts["--weft-listen"], opts["--weft-secret-file"], _run_hook(),
                            os.getppid())


if __name__ == "__main__":
    main()
