"""Placement of task nodes (Node.place, Node.set_place, kept in graph
files) and where nodes ran (Run.origin)."""
import os
import tempfile
import unittest

import weft


class PlaceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rt = weft.Runtime(2)

    @classmethod
    def tearDownClass(cls):
        cls.rt.close()

    def test_place_set_read_save(self):
        g = weft.Graph("placed")
        a = g.add_task("t", name="a")
        b = g.add_task("t", name="b")
        self.assertEqual(a.place, ("any", None))
        a.set_place("node", "127.0.0.2:7400")
        b.set_place("local")
        self.assertEqual(a.place, ("node", "127.0.0.2:7400"))
        self.assertEqual(b.place, ("local", None))
        with self.assertRaises(weft.InvalidArgument) as cm:
            a.set_place("node")
        self.assertIn("node 'a': WEFT_PLACE_NODE needs an address", str(cm.exception))
        with self.assertRaises(weft.InvalidArgument) as cm:
            a.set_place("local", "h:1")
        self.assertIn("an address is given only with WEFT_PLACE_NODE", str(cm.exception))
        with self.assertRaises(ValueError):
            a.set_place("far")
        self.assertEqual(a.place, ("node", "127.0.0.2:7400"))  # refusals change nothing
        c = g.add(lambda: 1, name="c")
        self.assertEqual(c.place, ("any", None))
        with self.assertRaises(weft.InvalidArgument) as cm:
            c.set_place("local")
        self.assertIn("node 'c' is not a named-task node", str(cm.exception))

        g2 = weft.Graph("files")
        x = g2.add_task("t", name="x")
        x.set_place("node", "[::1]:7400")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.wg")
            g2.save(path)
            with open(path) as f:
                self.assertIn("place x on [::1]:7400\n", f.read())
            back = weft.Graph.load(path)
            self.assertEqual(back["x"].place, ("node", "[::1]:7400"))

    def test_origin_of_local_nodes(self):
        g = weft.Graph("local")
        n = g.add(lambda: 1, name="n")
        m = g.add(lambda x: x, name="m")
        n >> m
        run = g.run(self.rt, record=True)
        o = run.origin(n)
        self.assertEqual(o["machine"], "local")
        self.assertEqual(o["attempts"], 1)
        self.assertEqual(o["worker"], run.node_time(n)[2])
        self.assertEqual((o["bytes_sent"], o["bytes_received"], o["lost_s"]), (0, 0, 0.0))
        self.assertEqual(sorted(o), ["attempts", "bytes_received", "bytes_sent", "end_s",
                                     "lost_s", "machine", "start_s", "worker"])


if __name__ == "__main__":
    unittest.main()
