"""A minimal stand-in for weft._code / weft._worker (the serializer, written
on another branch): pickle by reference, no code shipping. Deleted once
_code.py and _worker.py are merged; only the process runtime falls back to
it, and only when those modules are missing."""

import pickle
import traceback


class Encoder:
    def encode(self, fn, args, kwargs, depfuncs=(), modules=(), globals=None,
               include_code=False):
        return pickle.dumps((fn, args, kwargs), pickle.HIGHEST_PROTOCOL), b""

    def decode(self, status, out, node):
        if status == 0:
            return pickle.loads(out)
        import weft
        tname, msg, tb = pickle.loads(out)
        raise weft.TaskError("job raised %s: %s (on %s)" % (tname, msg, node), node=node,
                             traceback=tb)

    def confirm(self, code_hash, node):
        pass

    def needs_code(self, code_hash, live_nodes):
        return False


def run(payload):
    try:
        fn, args, kwargs = pickle.loads(payload)
        return 0, pickle.dumps(fn(*args, **kwargs), pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        return 1, pickle.dumps((type(e).__name__, str(e), traceback.format_exc()))
