# The results the examples must print, in one place for every language's
# tests (C, Python, Lua): regular expressions for ctest's
# PASS_REGULAR_EXPRESSION.

# Sums of the primes below 100000, 100100, ..., 100700 (checked against a
# sieve), one line each, in order.
string(CONCAT WEFT_PRIME_SUMS_RE
  "Sum of primes below 100000 is 454396537\n"
  "Sum of primes below 100100 is 454996777\n"
  "Sum of primes below 100200 is 455898156\n"
  "Sum of primes below 100300 is 456700218\n"
  "Sum of primes below 100400 is 457603451\n"
  "Sum of primes below 100500 is 458407033\n"
  "Sum of primes below 100600 is 459412387\n"
  "Sum of primes below 100700 is 460217613\n")

# The word count of the King James text (Debian's bible-kjv 4.38): the top
# 20 words with stop words removed and the totals, cross-checked with a
# shell pipeline on the same text, the same rules and the same stop words:
#   grep '^[[:space:]]' kjv.txt | tr A-Z a-z | grep -oE "[a-z]+('[a-z]+)*" \
#     | grep -vxF -f stopwords.txt | sort | uniq -c | sort -k1,1nr -k2,2 | head -20
# (verse lines are the indented ones; the pipeline's word count before the
# stop-word filter is 789684).
set(_wc_top
  lord 7830 god 4446 said 3999 man 2614 israel 2565 son 2370 king 2256
  people 2139 came 2093 house 2024 come 1971 one 1967 children 1802 day 1734
  land 1717 men 1652 let 1511 go 1492 hand 1468 saying 1445)
set(WEFT_WORDCOUNT_RE "rank  word +count\n")
set(_rank 0)
while(_wc_top)
  list(POP_FRONT _wc_top _word _count)
  math(EXPR _rank "${_rank} + 1")
  string(APPEND WEFT_WORDCOUNT_RE " +${_rank}  ${_word} +${_count}  #+\n")
endwhile()
string(APPEND WEFT_WORDCOUNT_RE "\nWords: 789684 in 31102 lines of text, 12762 distinct; "
                                "465000 are stop words\nHeading lines skipped: 1189\n")
