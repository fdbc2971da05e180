-- test_place.lua: placement of task nodes (node:place, node:set_place,
-- kept in graph files) and where nodes ran (run:origin).
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local T = require "harness"
local weft = require "weft"

local rt = weft.runtime(2)

T.test("place, set_place and graph files", function()
  local g <close> = weft.graph("placed")
  -- a remote node (source text) may go anywhere; g:add's nodes carry
  -- bytecode, which never travels: they are placed local
  local a = g:add_remote("a", "return function() return 1 end")
  local b = g:add("b", function() return 2 end)
  T.same({a:place()}, {"any"})
  T.same({b:place()}, {"local"})
  a:set_place("node", "127.0.0.2:7400")
  T.eq(b:set_place("local"), b, "set_place returns the node")
  T.same({a:place()}, {"node", "127.0.0.2:7400"})
  T.same({b:place()}, {"local"})
  T.raises(function() a:set_place("node") end, "node 'a': WEFT_PLACE_NODE needs an address")
  T.raises(function() a:set_place("local", "h:1") end, "an address is given only with WEFT_PLACE_NODE")
  T.raises(function() a:set_place("far") end, "'any', 'local' or 'node' expected")
  T.same({a:place()}, {"node", "127.0.0.2:7400"}, "refusals change nothing")
  local path = os.tmpname()
  g:save(path)
  local text = assert(io.open(path)):read("a")
  T.ok(text:find("place a on 127.0.0.2:7400\nplace b local\n", 1, true), text)
  local g2 <close> = weft.load_graph(path)
  os.remove(path)
  T.same({g2:node("a"):place()}, {"node", "127.0.0.2:7400"})
  T.same({g2:node("b"):place()}, {"local"})
end)

T.test("origin of local nodes", function()
  local g <close> = weft.graph("local")
  local a = g:add("a", function() return 1 end)
  local b = g:add("b", function(x) return x end)
  a:precede(b)
  local run = g:run(rt, {record = true})
  local o = run:origin(a)
  T.eq(o.machine, "local")
  T.eq(o.attempts, 1)
  T.eq(math.type(o.worker), "integer")
  T.eq(o.worker, select(3, run:time(a)))
  T.eq(o.bytes_sent + o.bytes_received, 0)
end)

rt:close()
T.done()
