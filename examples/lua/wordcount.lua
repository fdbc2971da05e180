-- wordcount.lua: weft's flagship demo in Lua: the words of the King James
-- Bible counted by a task graph whose nodes run in parallel, each in its
-- worker's own Lua state. The same rules and the same top 20 as the C demo
-- (examples/wordcount.c), printed the same way.
--
--                  +-> count_0  -+
--   split ---------+-> count_1  -+-> merge_0-1 -+
--                  +-> count_2  -+              +-> ... -> merge -> top
--                  +-> ...      -+-> merge_2-3 -+
--
-- - split    finds N cut points in the file, each just after a newline;
-- - count_i  reads its own slice of the file (only the cut points travel
--            between nodes, not the text) and counts its words;
-- - merge    a binary tree of merges of the count tables, as in the C demo;
-- - top      drops the stop words, sorts, keeps the K most frequent words.
-- Each node gets its own arguments, then the first result of each of its
-- predecessors; what it returns is copied to its successors.
--
-- Usage: lua5.4 wordcount.lua [-n CHUNKS] [-t THREADS] [-k TOP] [-o DIR] FILE
-- From the build tree:
--   LUA_CPATH="build/bindings/lua/?.so;;" lua5.4 examples/lua/wordcount.lua \
--       build/examples/kjv.txt
-- With -o DIR it writes DIR/wordcount.dot and DIR/wordcount.trace.json.
--
-- What counts as a word (see examples/wordcount.c): a run of ASCII letters,
-- with apostrophes inside it kept; lowercased; digits never part of a word;
-- a line that starts at its first column and ends with a number is a
-- chapter heading and is skipped.
local weft = require "weft"

local function usage(msg)
  if msg then io.stderr:write("wordcount.lua: error: ", msg, "\n") end
  io.stderr:write("usage: lua5.4 wordcount.lua [-n CHUNKS] [-t THREADS] [-k TOP] [-o DIR] FILE\n")
  os.exit(1, true)
end

local nchunks, nthreads, top_k, outdir, path = 16, 0, 20, nil, nil
do
  local i = 1
  local function int_arg(lo, hi)
    local v = math.tointeger(tonumber(arg[i + 1] or ""))
    if not v or v < lo or v > hi then usage("bad value for " .. arg[i]) end
    i = i + 2
    return v
  end
  while arg[i] do
    local a = arg[i]
    if a == "-n" then nchunks = int_arg(1, 4096)
    elseif a == "-t" then nthreads = int_arg(0, weft.MAX_WORKERS)
    elseif a == "-k" then top_k = int_arg(1, 1000)
    elseif a == "-o" then outdir = arg[i + 1] or usage("-o needs a directory"); i = i + 2
    elseif a == "-h" then usage()
    elseif a:sub(1, 1) == "-" then usage("unknown option " .. a)
    elseif path then usage("one file only")
    else path = a; i = i + 1 end
  end
  if not path then usage("no file given") end
end

-- Stop words: the C demo's list (Snowball's English list, all 174 words,
-- plus modal auxiliaries, "us", "also" and the Early Modern English forms).
local stop_words = {
  "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
  "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself",
  "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
  "who", "whom", "this", "that", "these", "those",
  "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having",
  "do", "does", "did", "doing", "would", "should", "could", "ought",
  "i'm", "you're", "he's", "she's", "it's", "we're", "they're", "i've", "you've", "we've",
  "they've", "i'd", "you'd", "he'd", "she'd", "we'd", "they'd", "i'll", "you'll", "he'll",
  "she'll", "we'll", "they'll", "isn't", "aren't", "wasn't", "weren't", "hasn't", "haven't",
  "hadn't", "doesn't", "don't", "didn't", "won't", "wouldn't", "shan't", "shouldn't",
  "can't", "cannot", "couldn't", "mustn't", "let's", "that's", "who's", "what's", "here's",
  "there's", "when's", "where's", "why's", "how's",
  "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at",
  "by", "for", "with", "about", "against", "between", "into", "through", "during", "before",
  "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over",
  "under", "again", "further", "then", "once", "here", "there", "when", "where", "why",
  "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no",
  "nor", "not", "only", "own", "same", "so", "than", "too", "very",
  "will", "shall", "can", "may", "might", "must", "us", "also",
  "thou", "thee", "thy", "thine", "thyself", "ye", "art", "hast", "hath", "dost", "doth",
  "didst", "hadst", "wast", "wert", "shalt", "wilt", "canst", "unto", "upon",
}

-- ---------------------------------------------------------------------
-- The nodes. Each runs on a worker: it may use the standard libraries and
-- its arguments, nothing else of this script.

-- split(path, n) -> cuts: cuts[i] .. cuts[i+1]-1 (0-based byte offsets)
-- is chunk i; each chunk ends just after a newline (or at the end).
local function split(file, n)
  local f = assert(io.open(file, "rb"))
  local text = f:read("a")
  f:close()
  local size = #text
  local cuts = {[1] = 0}
  for i = 1, n - 1 do
    local at = size * i // n
    if at < cuts[i] then at = cuts[i] end
    -- move to just after a newline: byte at+1 (1-based) follows byte at
    while at < size and at > 0 and text:byte(at) ~= 10 do at = at + 1 end
    cuts[i + 1] = at
  end
  cuts[n + 1] = size
  return cuts
end

-- count(path, i, cuts) -> {words = {word = count}, nwords, lines, headings}
local function count(file, i, cuts)
  local from, to = cuts[i + 1], cuts[i + 2]
  local f = assert(io.open(file, "rb"))
  f:seek("set", from)
  local chunk = (to > from) and f:read(to - from) or ""
  f:close()
  local words, nwords, lines, headings = {}, 0, 0, 0
  local blank = "[ \t\r\f\v]"
  for line in (chunk .. "\n"):gmatch("([^\n]*)\n") do
    -- a heading: not indented, and its last token is a number
    local heading = false
    if line ~= "" and not line:find("^" .. blank) then
      local trimmed = line:match("^(.-)" .. blank .. "*$")
      heading = trimmed:find("^%d+$") ~= nil or trimmed:find(blank .. "%d+$") ~= nil
    end
    if heading then
      headings = headings + 1
    else
      if line:find("[^ \t\r\f\v]") then lines = lines + 1 end
      for token in line:lower():gmatch("[a-z']+") do
        if not token:find("'", 1, true) then
          words[token] = (words[token] or 0) + 1
          nwords = nwords + 1
        else
          -- apostrophes stay only between letters: "king's" is one word,
          -- "sons'" is "sons", "a''b" is two words
          for piece in token:gsub("''+", " "):gmatch("[^ ]+") do
            local w = piece:match("^'*(.-)'*$")
            if w ~= "" then
              words[w] = (words[w] or 0) + 1
              nwords = nwords + 1
            end
          end
        end
      end
    end
  end
  return {words = words, nwords = nwords, lines = lines, headings = headings}
end

-- merge(a, b) -> a with b's counts added
local function merge(a, b)
  if not b then return a end
  local words = a.words
  for w, c in pairs(b.words) do words[w] = (words[w] or 0) + c end
  a.nwords = a.nwords + b.nwords
  a.lines = a.lines + b.lines
  a.headings = a.headings + b.headings
  return a
end

-- top(k, stop, t) -> the k most frequent words that are not stop words,
-- and the totals
local function top(k, stop, t)
  local is_stop = {}
  for _, w in ipairs(stop) do is_stop[w] = true end
  local kept, distinct, stopped = {}, 0, 0
  for w, c in pairs(t.words) do
    distinct = distinct + 1
    if is_stop[w] then stopped = stopped + c else kept[#kept + 1] = {w, c} end
  end
  table.sort(kept, function(x, y)
    if x[2] ~= y[2] then return x[2] > y[2] end
    return x[1] < y[1]
  end)
  local best = {}
  for i = 1, math.min(k, #kept) do best[i] = kept[i] end
  return {top = best, words = t.nwords, lines = t.lines, distinct = distinct,
          stopped = stopped, headings = t.headings}
end

-- ---------------------------------------------------------------------
-- The graph

local g <close> = weft.graph("wordcount")
local split_node = g:add("split", split, path, nchunks)
local last = {} -- last node that wrote table i (0-based), as in the C demo
for i = 0, nchunks - 1 do
  last[i] = g:add("count_" .. i, count, path, i)
  split_node:precede(last[i])
end
local root
if nchunks == 1 then
  root = g:add("merge", merge)
  last[0]:precede(root)
else
  local s = 1
  while s < nchunks do
    for i = 0, nchunks - 1 - s, 2 * s do
      local hi = math.min(i + 2 * s, nchunks)
      local name = (2 * s >= nchunks) and "merge" or string.format("merge_%d-%d", i, hi - 1)
      local m = g:add(name, merge)
      m:succeed(last[i], last[i + s]) -- inputs in this order: a, then b
      last[i] = m
    end
    s = s * 2
  end
  root = last[0]
end
local top_node = g:add("top", top, top_k, stop_words)
root:precede(top_node)

local rt <close> = weft.runtime(nthreads)
print(string.format("weft %s wordcount.lua: %s", weft.version(), path))
print(string.format("Graph '%s': %d nodes, %d edges (split, %d count, %d merge, top) on %d worker%s\n",
                    g:name(), g:node_count(), g:edge_count(), nchunks,
                    nchunks > 1 and nchunks - 1 or 1, rt:workers(),
                    rt:workers() == 1 and "" or "s"))

local ok, err = pcall(g.run, g, rt)
if not ok then
  io.stderr:write("wordcount.lua: error: ", tostring(err), "\n")
  os.exit(1, true)
end
local run = g:last_run()
local r = run:result(top_node)

print(string.format("Top %d words, stop words removed (Snowball English list and archaic forms):\n",
                    #r.top))
print("  rank  word             count")
local most = r.top[1] and r.top[1][2] or 1
for i, e in ipairs(r.top) do
  local bar = (40 * e[2] + most // 2) // most
  print(string.format("  %4d  %-12s %9d  %s", i, e[1], e[2], ("#"):rep(bar)))
end
print(string.format("\nWords: %d in %d lines of text, %d distinct; %d are stop words",
                    r.words, r.lines, r.distinct, r.stopped))
print(string.format("Heading lines skipped: %d\n", r.headings))

if outdir then
  local function write(name, text)
    local file = outdir .. "/" .. name
    local f, ferr = io.open(file, "w")
    if not f then
      io.stderr:write("wordcount.lua: error: cannot write ", tostring(ferr), "\n")
      os.exit(1, true)
    end
    f:write(text)
    f:close()
    return file
  end
  local dot = write("wordcount.dot", run:dot())
  local trace = write("wordcount.trace.json", run:trace())
  print(string.format("Graph: %s   (draw it: dot -Tsvg %s -o wordcount.svg)", dot, dot))
  print(string.format("Trace: %s   (open in chrome://tracing or ui.perfetto.dev)\n", trace))
end

run:print_stats()
print("wordcount.lua: done")
