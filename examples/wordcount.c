/* wordcount: weft's flagship demo. Counts the words of the King James Bible
 * with a task graph and shows the graph, the run and its statistics.
 *
 *                    +-> count_0  -+
 *   read -> split ---+-> count_1  -+-> merge_0-1 -+
 *                    +-> count_2  -+              +-> ... -> merge -> top
 *                    +-> ...      -+-> merge_2-3 -+
 *
 * - read    reads the whole file into memory;
 * - split   cuts it into N chunks of about equal size, each ending at the
 *           end of a line (so at whitespace: no word is cut in two);
 * - count_i counts the words of chunk i into its own hash table: the N
 *           count nodes share nothing and run in parallel;
 * - merge   a binary tree of merges: merge_a-b adds the table of chunks
 *           [mid, b] into the table of chunks [a, mid); the root is "merge";
 * - top     drops the stop words, sorts, prints the most frequent words.
 *
 * The nodes are plain C functions. They pass data through one shared job
 * struct (the text, the chunk boundaries, one table per chunk), each node
 * writing only what it owns; the graph's edges order every write before
 * the reads that need it, so no locks are needed.
 *
 * Usage: wordcount [-n CHUNKS] [-t THREADS] [-k TOP] [-o DIR]
 *                  [-c NODES [-K KEY-FILE] [-P PACE-MS] [-W SECONDS]] [FILE]
 *
 * On a cluster (-c host:port,...): the nodes share no memory with this
 * process, so the same counting runs as named tasks on bytes (see "Named
 * tasks" below): the text is read and cut here, count_i gets chunk i as its
 * argument and returns its table as sorted text, the merges sum two such
 * tables, and top, which stays here, prints the same list. The nodes are
 * weftd processes that load the tasks' plugin, libwordcount_tasks.so (this
 * file built with WORDCOUNT_PLUGIN). A node lost mid-run costs time, never
 * counts: its graph nodes are sent again to the others.
 *
 * FILE defaults to the kjv.txt the build generates with Debian's bible-kjv
 * (`bible -l0 Gen1:1-Rev22:21`). Writes DIR/wordcount.dot (the graph in
 * graphviz's language, nodes coloured by status and labelled with their
 * times) and DIR/wordcount.trace.json (the run as Chrome trace events: open
 * it in chrome://tracing or ui.perfetto.dev); DIR defaults to ".".
 *
 * What counts as a word:
 * - a word is a run of ASCII letters, with apostrophes inside it kept
 *   ("king's" is one word); an apostrophe before or after a word is
 *   punctuation ("sons'" counts as "sons"); hyphens split words;
 * - words are lowercased ("LORD", "Lord" and "lord" are one word);
 * - digits are never part of a word, so verse numbers do not count;
 * - a line that starts at its first column (not indented) and ends with a
 *   number is a heading and is skipped: bible prints "Genesis 1",
 *   "1 Samuel 3" above each chapter, and those are labels, not text. Verse
 *   lines are indented. Any other text is counted line by line as it is.
 * With these rules the King James text has 789,684 words in 31,102 verses.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <weft.h>

#define EXAMPLE_NAME "wordcount"
#include "example_util.h"

#ifndef WORDCOUNT_DEFAULT_TEXT
#define WORDCOUNT_DEFAULT_TEXT "kjv.txt"
#endif

#define MAX_CHUNKS 4096
#define MAX_TOP 1000

#ifndef WORDCOUNT_PLUGIN
/* ------------------------------------------------------------------ */
/* Stop words                                                          */

/* Words too common to say anything about a text, left out of the top list
 * (they are still counted in the totals). The list is Martin Porter's
 * English stop word list from the Snowball project
 * (snowballstem.org/algorithms/english/stop.txt), all 174 words, plus the
 * words that list leaves out on purpose or never needed, which the King
 * James text is full of:
 * - the modal auxiliaries Snowball omits because each is also a noun
 *   (will, shall, can, may, might, must): in this text they are verbs;
 * - "us", omitted there for fear of "US", harmless once words are
 *   lowercased; and "also", an adverb in most longer lists (SMART, MySQL);
 * - the Early Modern English forms Snowball says it does not include
 *   ("archaic thou forms"): thou, thee, thy, thine, thyself, ye, art,
 *   hast, hath, dost, doth, didst, hadst, wast, wert, shalt, wilt, canst,
 *   and the prepositions unto and upon.
 * Content words stay: lord, god, israel, king, people, son, house, man,
 * came, said and their like are what the top list is for. */
static const char *const stop_words[] = {
    /* Snowball: pronouns */
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
    "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself",
    "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which",
    "who", "whom", "this", "that", "these", "those",
    /* Snowball: verb forms */
    "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having",
    "do", "does", "did", "doing", "would", "should", "could", "ought",
    /* Snowball: compound forms */
    "i'm", "you're", "he's", "she's", "it's", "we're", "they're", "i've", "you've", "we've",
    "they've", "i'd", "you'd", "he'd", "she'd", "we'd", "they'd", "i'll", "you'll", "he'll",
    "she'll", "we'll", "they'll", "isn't", "aren't", "wasn't", "weren't", "hasn't", "haven't",
    "hadn't", "doesn't", "don't", "didn't", "won't", "wouldn't", "shan't", "shouldn't",
    "can't", "cannot", "couldn't", "mustn't", "let's", "that's", "who's", "what's", "here's",
    "there's", "when's", "where's", "why's", "how's",
    /* Snowball: articles and the rest */
    "a", "an", "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at",
    "by", "for", "with", "about", "against", "between", "into", "through", "during", "before",
    "after", "above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over",
    "under", "again", "further", "then", "once", "here", "there", "when", "where", "why",
    "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no",
    "nor", "not", "only", "own", "same", "so", "than", "too", "very",
    /* added: modal auxiliaries, us, also */
    "will", "shall", "can", "may", "might", "must", "us", "also",
    /* added: Early Modern English function words */
    "thou", "thee", "thy", "thine", "thyself", "ye", "art", "hast", "hath", "dost", "doth",
    "didst", "hadst", "wast", "wert", "shalt", "wilt", "canst", "unto", "upon",
};
#define NSTOP (sizeof stop_words / sizeof stop_words[0])

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}
#endif /* !WORDCOUNT_PLUGIN */

/* ------------------------------------------------------------------ */
/* Word tables: open addressing, linear probing                        */

/* Lowercased words live in arena blocks owned by the table that first saw
 * them; a merge makes the destination point at the source's copies, so
 * every arena lives until the job ends. */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

typedef struct slot {
    const char *word; /* NULL: empty */
    uint32_t len;
    uint32_t hash;
    uint64_t count;
} slot;

typedef struct table {
    slot *slots;
    size_t cap, used; /* cap: a power of two; used <= cap / 2 */
    uint64_t words;   /* words added, with repeats */
    uint64_t lines;   /* lines with text (headings and blank lines not included) */
    uint64_t headings;
    arena_block *arena;
} table;

static int is_letter(unsigned char c) { return (unsigned)((c | 32) - 'a') < 26; }
static unsigned char lower(unsigned char c) { return (unsigned)(c - 'A') < 26 ? c | 32 : c; }

/* FNV-1a over the lowercased bytes. */
static uint32_t hash_word(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ lower((unsigned char)s[i])) * 16777619u;
    return h;
}

static int table_init(table *t, size_t cap)
{
    memset(t, 0, sizeof *t);
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots)
        return -1;
    t->cap = cap;
    return 0;
}

static void table_free(table *t)
{
    free(t->slots);
    for (arena_block *b = t->arena, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    memset(t, 0, sizeof *t);
}

/* A lowercased, NUL-terminated copy of s in t's arena. */
static const char *arena_copy(table *t, const char *s, size_t len)
{
    arena_block *b = t->arena;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > 65536 ? len + 1 : 65536;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = t->arena;
        b->used = 0;
        b->cap = cap;
        t->arena = b;
    }
    char *d = b->data + b->used;
    for (size_t i = 0; i < len; i++)
        d[i] = (char)lower((unsigned char)s[i]);
    d[len] = '\0';
    b->used += len + 1;
    return d;
}

static int table_grow(table *t)
{
    size_t cap = t->cap * 2;
    slot *s = calloc(cap, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].word)
            continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (s[j].word)
            j = (j + 1) & (cap - 1);
        s[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return 0;
}

/* Does the stored (lowercase) word equal s, compared without case? */
static int same_word(const slot *e, const char *s, size_t len)
{
    if (e->len != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)e->word[i] != lower((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Adds n to the count of word s (any case). word_copy, if not NULL, is an
 * existing lowercase copy to use for a new entry (merges). 0 or -1. */
static int table_add(table *t, const char *s, size_t len, uint32_t h, uint64_t n,
                     const char *word_copy)
{
    if (t->used + 1 > t->cap / 2 && table_grow(t) != 0)
        return -1;
    size_t j = h & (t->cap - 1);
    while (t->slots[j].word) {
        if (t->slots[j].hash == h && same_word(&t->slots[j], s, len)) {
            t->slots[j].count += n;
            return 0;
        }
        j = (j + 1) & (t->cap - 1);
    }
    const char *w = word_copy ? word_copy : arena_copy(t, s, len);
    if (!w)
        return -1;
    t->slots[j] = (slot){w, (uint32_t)len, h, n};
    t->used++;
    return 0;
}

#ifndef WORDCOUNT_PLUGIN
/* ------------------------------------------------------------------ */
/* The job: what the nodes share                                       */

typedef struct wc_job {
    const char *path;
    int nchunks, top_k;
    char *text; /* read: the file */
    size_t size;
    size_t *cut;  /* split: chunk i is text[cut[i], cut[i+1]) */
    table *tables; /* count_i fills tables[i]; merges fold them into [0] */
    char error[512]; /* why read or split failed */
} wc_job;

/* Argument of a count node (dst: its chunk) or a merge node (tables[src]
 * is added into tables[dst]). */
typedef struct wc_part {
    wc_job *job;
    int dst, src;
} wc_part;

static int read_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    wc_job *job = arg;
    FILE *f = fopen(job->path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(job->error, sizeof job->error, "cannot read %s: %s", job->path,
                 strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    job->size = (size_t)st.st_size;
    job->text = malloc(job->size + 1);
    if (!job->text || fread(job->text, 1, job->size, f) != job->size) {
        snprintf(job->error, sizeof job->error, "cannot read %s: %s", job->path,
                 job->text ? "short read" : "out of memory");
        fclose(f);
        return 1;
    }
    job->text[job->size] = '\0';
    fclose(f);
    return 0;
}

/* Cuts the text into nchunks pieces of about size/nchunks bytes, each
 * piece ending just after a newline (or at the end of the text). */
static int split_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    wc_job *job = arg;
    job->cut[0] = 0;
    for (int i = 1; i < job->nchunks; i++) {
        size_t at = (size_t)((double)job->size * i / job->nchunks);
        if (at < job->cut[i - 1])
            at = job->cut[i - 1];
        while (at < job->size && at > 0 && job->text[at - 1] != '\n')
            at++;
        job->cut[i] = at;
    }
    job->cut[job->nchunks] = job->size;
    return 0;
}
#endif /* !WORDCOUNT_PLUGIN */

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* A chapter heading: not indented, and its last token is a number. */
static int is_heading(const char *line, const char *end)
{
    if (line == end || is_blank(*line))
        return 0;
    while (end > line && is_blank(end[-1]))
        end--;
    const char *p = end;
    while (p > line && (unsigned)(p[-1] - '0') < 10)
        p--;
    return p < end && (p == line || is_blank(p[-1]));
}

/* Counts the words of [p, end) into t. 0 or -1 (out of memory). */
static int count_words(table *t, const char *p, const char *end)
{
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (is_heading(p, eol)) {
            t->headings++;
            p = eol + 1;
            continue;
        }
        const char *q = p;
        while (q < eol && is_blank(*q))
            q++;
        t->lines += q < eol; /* lines of text: not blank, not headings */
        while (p < eol) {
            if (!is_letter((unsigned char)*p)) {
                p++;
                continue;
            }
            const char *w = p;
            /* letters, and apostrophes that have a letter on both sides */
            while (p < eol && (is_letter((unsigned char)*p) ||
                               (*p == '\'' && p + 1 < eol && is_letter((unsigned char)p[1]))))
                p++;
            size_t len = (size_t)(p - w);
            if (table_add(t, w, len, hash_word(w, len), 1, NULL) != 0)
                return -1;
            t->words++;
        }
        p = eol + 1;
    }
    return 0;
}

#ifndef WORDCOUNT_PLUGIN
static int count_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    wc_part *part = arg;
    wc_job *job = part->job;
    table *t = &job->tables[part->dst];
    const char *text = job->text;
    if (count_words(t, text + job->cut[part->dst], text + job->cut[part->dst + 1]) != 0)
        return WEFT_ENOMEM;
    return 0;
}

static int merge_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    wc_part *part = arg;
    if (part->src < 0)
        return 0; /* a single chunk: nothing to merge */
    table *dst = &part->job->tables[part->dst], *src = &part->job->tables[part->src];
    for (size_t i = 0; i < src->cap; i++) {
        const slot *e = &src->slots[i];
        if (e->word && table_add(dst, e->word, e->len, e->hash, e->count, e->word) != 0)
            return WEFT_ENOMEM;
    }
    dst->words += src->words;
    dst->lines += src->lines;
    dst->headings += src->headings;
    return 0;
}

/* Most frequent first; equal counts in alphabetical order. */
static int cmp_count(const void *a, const void *b)
{
    const slot *x = *(const slot *const *)a, *y = *(const slot *const *)b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

/* Prints the top_k most frequent words of t that are not stop words, and
 * the totals. 0 or WEFT_ENOMEM. */
static int print_top(const table *t, int top_k)
{
    const char *stop[NSTOP];
    memcpy(stop, stop_words, sizeof stop);
    qsort(stop, NSTOP, sizeof stop[0], cmp_str);
    const slot **kept = malloc((t->used ? t->used : 1) * sizeof *kept);
    if (!kept)
        return WEFT_ENOMEM;
    size_t n = 0;
    uint64_t stopped = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const slot *e = &t->slots[i];
        if (!e->word)
            continue;
        if (bsearch(&e->word, stop, NSTOP, sizeof stop[0], cmp_str))
            stopped += e->count;
        else
            kept[n++] = e;
    }
    qsort(kept, n, sizeof kept[0], cmp_count);

    size_t k = n < (size_t)top_k ? n : (size_t)top_k;
    printf("Top %zu words, stop words removed (Snowball English list and archaic forms):\n\n",
           k);
    printf("  rank  word             count\n");
    for (size_t i = 0; i < k; i++) {
        int bar = (int)((40 * kept[i]->count + kept[0]->count / 2) / kept[0]->count);
        char hashes[41];
        memset(hashes, '#', (size_t)bar);
        hashes[bar] = '\0';
        printf("  %4zu  %-12s %9" PRIu64 "  %s\n", i + 1, kept[i]->word, kept[i]->count,
               hashes);
    }
    printf("\nWords: %" PRIu64 " in %" PRIu64 " lines of text, %zu distinct; %" PRIu64
           " are stop words\n",
           t->words, t->lines, t->used, stopped);
    printf("Heading lines skipped: %" PRIu64 "\n\n", t->headings);
    free(kept);
    return 0;
}

static int top_node(weft_node_ctx_t *ctx, void *arg)
{
    (void)ctx;
    wc_job *job = arg;
    return print_top(&job->tables[0], job->top_k);
}
#endif /* !WORDCOUNT_PLUGIN */

/* ------------------------------------------------------------------ */
/* Named tasks: the same counting on bytes, for other machines          */

/* On a cluster the nodes share no memory: each count node gets its chunk
 * as argument bytes and returns its table as bytes, each merge node gets
 * two such tables as inputs and returns their sum. A table as bytes is
 * text, one line per word in byte order of the words, after a header:
 *
 *   wordcount-table 1 WORDS LINES HEADINGS\n
 *   WORD COUNT\n ...
 *
 * Sorted lists merge in one pass, with no hash table at all. The tasks are
 * registered by the wordcount plugin (libwordcount_tasks.so, for weftd
 * --load) and by wordcount itself. */
#define WC_TABLE_MAGIC "wordcount-table 1"

/* A growing byte buffer. */
typedef struct wc_buf {
    char *data;
    size_t len, cap;
} wc_buf;

static int buf_put(wc_buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static int buf_word(wc_buf *b, const char *w, size_t len, uint64_t count)
{
    char num[32];
    int n = snprintf(num, sizeof num, " %" PRIu64 "\n", count);
    return buf_put(b, w, len) || buf_put(b, num, (size_t)n) ? -1 : 0;
}

static int buf_header(wc_buf *b, uint64_t words, uint64_t lines, uint64_t headings)
{
    char head[128];
    int n = snprintf(head, sizeof head, WC_TABLE_MAGIC " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                     words, lines, headings);
    return buf_put(b, head, (size_t)n);
}

static int cmp_slot_word(const void *a, const void *b)
{
    return strcmp((*(const slot *const *)a)->word, (*(const slot *const *)b)->word);
}

/* t as bytes (see above) into b. 0 or -1 (out of memory). */
static int table_to_bytes(const table *t, wc_buf *b)
{
    const slot **e = malloc((t->used ? t->used : 1) * sizeof *e);
    if (!e)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].word)
            e[n++] = &t->slots[i];
    qsort(e, n, sizeof e[0], cmp_slot_word);
    int rc = buf_header(b, t->words, t->lines, t->headings);
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_word(b, e[i]->word, e[i]->len, e[i]->count);
    free(e);
    return rc;
}

/* Reads a table's bytes one word at a time. */
typedef struct wc_reader {
    const char *p, *end;
    uint64_t words, lines, headings;
    const char *word; /* the current word (not NUL-terminated), NULL at the end */
    size_t len;
    uint64_t count;
} wc_reader;

/* Moves to the next word: 1, 0 at the end, -1 for malformed bytes. */
static int reader_next(wc_reader *r)
{
    r->word = NULL;
    if (r->p == r->end)
        return 0;
    const char *eol = memchr(r->p, '\n', (size_t)(r->end - r->p));
    const char *sp = eol ? memchr(r->p, ' ', (size_t)(eol - r->p)) : NULL;
    if (!eol || !sp || sp == r->p || sp + 1 == eol)
        return -1;
    uint64_t c = 0;
    for (const char *q = sp + 1; q < eol; q++) {
        if ((unsigned)(*q - '0') > 9)
            return -1;
        c = c * 10 + (uint64_t)(*q - '0');
    }
    r->word = r->p;
    r->len = (size_t)(sp - r->p);
    r->count = c;
    r->p = eol + 1;
    return 1;
}

/* Starts reading [data, data+len): 0, or -1 when the header is wrong. */
static int reader_open(wc_reader *r, const char *data, size_t len)
{
    memset(r, 0, sizeof *r);
    const char *eol = data ? memchr(data, '\n', len) : NULL;
    char head[128];
    if (!eol || (size_t)(eol - data) >= sizeof head)
        return -1;
    memcpy(head, data, (size_t)(eol - data));
    head[eol - data] = '\0';
    if (sscanf(head, WC_TABLE_MAGIC " %" SCNu64 " %" SCNu64 " %" SCNu64, &r->words, &r->lines,
               &r->headings) != 3)
        return -1;
    r->p = eol + 1;
    r->end = data + len;
    return reader_next(r) < 0 ? -1 : 0;
}

/* Byte order of two words (as strcmp on NUL-terminated copies would). */
static int word_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* Task "wordcount.count": argument "PACE_MS\n" then the text of a chunk;
 * result: the chunk's table as bytes. PACE_MS (0 for real use) makes the
 * task take at least that long: the demo paces its cluster run with it so
 * that a node can be killed in the middle. */
static int count_task(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t len;
    const char *a = weft_node_arg(ctx, &len);
    const char *nl = a ? memchr(a, '\n', len) : NULL;
    if (!nl)
        return WEFT_EINVAL;
    long pace = strtol(a, NULL, 10);
    table t;
    if (table_init(&t, 4096) != 0)
        return WEFT_ENOMEM;
    wc_buf b = {0};
    int rc = count_words(&t, nl + 1, a + len) || table_to_bytes(&t, &b) ? WEFT_ENOMEM : 0;
    table_free(&t);
    if (!rc && pace > 0) {
        struct timespec ts = {pace / 1000, (pace % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!rc)
        rc = weft_node_set_result(ctx, b.data, b.len);
    free(b.data);
    return rc;
}

/* Task "wordcount.merge": inputs, tables as bytes (one or more); result:
 * their sum as bytes. Merges the sorted lists pairwise in one pass each. */
static int merge_task(weft_node_ctx_t *ctx, void *arg)
{
    (void)arg;
    size_t n = weft_node_input_count(ctx), len;
    if (n == 0)
        return WEFT_EINVAL;
    const char *acc = weft_node_input(ctx, 0, &len);
    size_t acc_len = len;
    wc_buf out = {0}, prev = {0};
    int rc = 0;
    wc_reader x;
    if (reader_open(&x, acc, acc_len) != 0)
        return WEFT_EINVAL;
    for (size_t i = 1; i < n && !rc; i++) {
        wc_reader y;
        const char *d = weft_node_input(ctx, i, &len);
        if (reader_open(&x, acc, acc_len) != 0 || reader_open(&y, d, len) != 0) {
            rc = WEFT_EINVAL;
            break;
        }
        out.len = 0;
        if (buf_header(&out, x.words + y.words, x.lines + y.lines, x.headings + y.headings)) {
            rc = WEFT_ENOMEM;
            break;
        }
        while (!rc && (x.word || y.word)) {
            int c = !x.word ? 1 : !y.word ? -1 : word_cmp(x.word, x.len, y.word, y.len);
            int e;
            if (c < 0) {
                e = buf_word(&out, x.word, x.len, x.count);
                if (!e && reader_next(&x) < 0)
                    rc = WEFT_EINVAL;
            } else if (c > 0) {
                e = buf_word(&out, y.word, y.len, y.count);
                if (!e && reader_next(&y) < 0)
                    rc = WEFT_EINVAL;
            } else {
                e = buf_word(&out, x.word, x.len, x.count + y.count);
                if (!e && (reader_next(&x) < 0 || reader_next(&y) < 0))
                    rc = WEFT_EINVAL;
            }
            if (e)
                rc = WEFT_ENOMEM;
        }
        /* out becomes the accumulator; the old one's buffer is reused */
        wc_buf t = prev;
        prev = out;
        out = t;
        acc = prev.data;
        acc_len = prev.len;
    }
    if (!rc)
        rc = weft_node_set_result(ctx, acc, acc_len);
    free(out.data);
    free(prev.data);
    return rc;
}

/* Registers the two tasks. 0 or a weft error. */
static int wordcount_register_tasks(void)
{
    int rc = weft_task_register("wordcount.count", count_task, NULL);
    return rc ? rc : weft_task_register("wordcount.merge", merge_task, NULL);
}

#ifdef WORDCOUNT_PLUGIN
/* The plugin's entry (weftd --load libwordcount_tasks.so), the one symbol
 * it exports. */
__attribute__((visibility("default"))) int weft_plugin_init(void);
__attribute__((visibility("default"))) int weft_plugin_init(void)
{
    return wordcount_register_tasks();
}
#else

/* ------------------------------------------------------------------ */
/* Building the graph                                                  */

/* Adds the merge tree over count nodes counts[0..n) and returns its root.
 * Pass s merges table i+s into table i for every i that is a multiple of
 * 2s, after the nodes that last wrote tables i and i+s. */
static int add_merge(weft_graph_t *g, const char *name, wc_part *part, int remote,
                     weft_node_t *m)
{
    return remote ? weft_graph_add_task(g, name, "wordcount.merge", NULL, 0, m)
                  : weft_graph_add(g, name, merge_node, part, m);
}

/* remote: the merges are named tasks ("wordcount.merge") on tables as
 * bytes, their inputs in edge order; otherwise function nodes on the
 * job's shared tables. */
static int add_merges(weft_graph_t *g, wc_job *job, wc_part *parts, const weft_node_t *counts,
                      weft_node_t *root, int remote)
{
    int n = job->nchunks, rc;
    weft_node_t *last = malloc((size_t)n * sizeof *last); /* last writer of table i */
    if (!last)
        return WEFT_ENOMEM;
    memcpy(last, counts, (size_t)n * sizeof *last);
    int k = 0;
    char name[64];
    if (n == 1) {
        parts[0] = (wc_part){job, 0, -1};
        rc = add_merge(g, "merge", &parts[0], remote, root);
        if (!rc)
            rc = weft_graph_precede(g, last[0], *root);
        free(last);
        return rc;
    }
    for (int s = 1; s < n; s *= 2) {
        for (int i = 0; i + s < n; i += 2 * s) {
            int hi = i + 2 * s < n ? i + 2 * s : n;
            int is_root = s * 2 >= n;
            if (is_root)
                snprintf(name, sizeof name, "merge");
            else
                snprintf(name, sizeof name, "merge_%d-%d", i, hi - 1);
            parts[k] = (wc_part){job, i, i + s};
            weft_node_t m;
            if ((rc = add_merge(g, name, &parts[k], remote, &m)) ||
                (rc = weft_graph_precede(g, last[i], m)) ||
                (rc = weft_graph_precede(g, last[i + s], m))) {
                free(last);
                return rc;
            }
            k++;
            last[i] = m;
        }
    }
    *root = last[0];
    free(last);
    return 0;
}

static int build_graph(weft_graph_t *g, wc_job *job, wc_part *parts)
{
    int rc, n = job->nchunks;
    weft_node_t read, split, merge, top;
    weft_node_t *counts = malloc((size_t)n * sizeof *counts);
    if (!counts)
        return WEFT_ENOMEM;
    if ((rc = weft_graph_add(g, "read", read_node, job, &read)) ||
        (rc = weft_graph_add(g, "split", split_node, job, &split)) ||
        (rc = weft_graph_precede(g, read, split)))
        goto out;
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "count_%d", i);
        parts[i] = (wc_part){job, i, i};
        if ((rc = weft_graph_add(g, name, count_node, &parts[i], &counts[i])) ||
            (rc = weft_graph_precede(g, split, counts[i])))
            goto out;
    }
    if ((rc = add_merges(g, job, parts + n, counts, &merge, 0)) ||
        (rc = weft_graph_add(g, "top", top_node, job, &top)) ||
        (rc = weft_graph_precede(g, merge, top)))
        goto out;
out:
    free(counts);
    return rc;
}

/* The cluster's top node: the merged table arrives as bytes. */
static int top_cluster_node(weft_node_ctx_t *ctx, void *arg)
{
    wc_job *job = arg;
    size_t len;
    const char *d = weft_node_input(ctx, 0, &len);
    wc_reader r;
    if (reader_open(&r, d, len) != 0)
        return WEFT_EINVAL;
    table *t = &job->tables[0];
    while (r.word) {
        if (table_add(t, r.word, r.len, hash_word(r.word, r.len), r.count, NULL) != 0)
            return WEFT_ENOMEM;
        if (reader_next(&r) < 0)
            return WEFT_EINVAL;
    }
    t->words = r.words;
    t->lines = r.lines;
    t->headings = r.headings;
    return print_top(t, job->top_k);
}

/* The graph for a cluster: the text is read and cut here first; count_i
 * carries chunk i as its argument, the merge tree sums tables as bytes,
 * and top (a function node: it stays here) prints the result. */
static int build_cluster_graph(weft_graph_t *g, wc_job *job, wc_part *parts, int pace_ms)
{
    int rc = 0, n = job->nchunks;
    weft_node_t merge, top;
    weft_node_t *counts = malloc((size_t)n * sizeof *counts);
    if (!counts)
        return WEFT_ENOMEM;
    for (int i = 0; i < n && !rc; i++) {
        char name[32], head[24];
        snprintf(name, sizeof name, "count_%d", i);
        int hl = snprintf(head, sizeof head, "%d\n", pace_ms);
        size_t clen = job->cut[i + 1] - job->cut[i];
        char *arg = malloc((size_t)hl + clen);
        if (!arg) {
            rc = WEFT_ENOMEM;
            break;
        }
        memcpy(arg, head, (size_t)hl);
        memcpy(arg + hl, job->text + job->cut[i], clen);
        rc = weft_graph_add_task(g, name, "wordcount.count", arg, (size_t)hl + clen, &counts[i]);
        free(arg);
    }
    if (!rc)
        rc = add_merges(g, job, parts + n, counts, &merge, 1);
    if (!rc && !(rc = weft_graph_add(g, "top", top_cluster_node, job, &top)))
        rc = weft_graph_precede(g, merge, top);
    free(counts);
    return rc;
}

#if WEFT_HAVE_DIST
/* Node joins and losses, as they happen (the cluster's I/O thread). */
static void on_node(void *data, const char *node, int up, int err, const char *detail)
{
    (void)data;
    if (up)
        fprintf(stderr, "wordcount: node %s up\n", node);
    else
        fprintf(stderr, "wordcount: node %s lost: %s\n", node,
                detail && *detail ? detail : weft_strerror(err));
}
#endif

/* ------------------------------------------------------------------ */
/* Main                                                                */

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [-n CHUNKS] [-t THREADS] [-k TOP] [-o DIR]\n"
            "          [-c NODES [-K KEY-FILE] [-P PACE-MS] [-W SECONDS]] [FILE]\n"
            "Counts the words of FILE (default: %s) with a weft task graph.\n"
            "  -n CHUNKS   count nodes, 1..%d (default 16)\n"
            "  -t THREADS  workers, 0..%d (default 0: weft's default)\n"
            "  -k TOP      words to list, 1..%d (default 20)\n"
            "  -o DIR      where wordcount.dot and wordcount.trace.json go (default .)\n"
            "  -c NODES    count and merge on these weftd nodes (host:port,...), which\n"
            "              load libwordcount_tasks.so; writes wordcount-cluster.dot and\n"
            "              wordcount-cluster.trace.json instead\n"
            "  -K FILE     the cluster's key file (default: as weft-run finds it)\n"
            "  -P MS       make each count task take at least MS ms (default 0; the\n"
            "              demo paces the cluster run so that a node dies mid-run)\n"
            "  -W SECONDS  wait this long for every node to come up (default 20)\n",
            prog, WORDCOUNT_DEFAULT_TEXT, MAX_CHUNKS, WEFT_MAX_WORKERS, MAX_TOP);
}

/* Writes one output file with fn; 0 or -1 (message printed). */
static int write_output(const char *dir, const char *file, char *path, size_t pathsz,
                        int (*fn)(const weft_graph_t *, const weft_run_t *, FILE *),
                        const weft_graph_t *g, const weft_run_t *run)
{
    snprintf(path, pathsz, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "wordcount: error: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = fn(g, run, f);
    if (fclose(f) != 0 && rc == 0)
        rc = WEFT_EIO;
    if (rc != 0) {
        fprintf(stderr, "wordcount: error: writing %s: %s (%s)\n", path, weft_err_name(rc),
                weft_strerror(rc));
        return -1;
    }
    return 0;
}

static int dot_writer(const weft_graph_t *g, const weft_run_t *run, FILE *f)
{
    return weft_graph_dot(g, run, f);
}

static int trace_writer(const weft_graph_t *g, const weft_run_t *run, FILE *f)
{
    (void)g;
    return weft_run_trace(run, f);
}

int main(int argc, char **argv)
{
    int nchunks = 16, nthreads = 0, top_k = 20, opt, pace_ms = 0, wait_s = 20;
    const char *outdir = ".", *cluster_nodes = NULL, *key_file = NULL;
    while ((opt = getopt(argc, argv, "n:t:k:o:c:K:P:W:h")) != -1) {
        switch (opt) {
        case 'n':
            if (example_parse_int(optarg, 1, MAX_CHUNKS, &nchunks) == 0)
                continue;
            break;
        case 't':
            if (example_parse_int(optarg, 0, WEFT_MAX_WORKERS, &nthreads) == 0)
                continue;
            break;
        case 'k':
            if (example_parse_int(optarg, 1, MAX_TOP, &top_k) == 0)
                continue;
            break;
        case 'o':
            outdir = optarg;
            continue;
        case 'c':
#if WEFT_HAVE_DIST
            cluster_nodes = optarg;
            continue;
#else
            fprintf(stderr, "wordcount: -c: this weft was built without the distribution "
                            "layer (-DWEFT_BUILD_DIST=OFF)\n");
            return 2;
#endif
        case 'K':
            key_file = optarg;
            continue;
        case 'P':
            if (example_parse_int(optarg, 0, 60000, &pace_ms) == 0)
                continue;
            break;
        case 'W':
            if (example_parse_int(optarg, 1, 3600, &wait_s) == 0)
                continue;
            break;
        case 'h':
            usage(stdout, argv[0]);
            return EXIT_SUCCESS;
        default:
            break;
        }
        usage(stderr, argv[0]);
        return EXIT_FAILURE;
    }
    if (argc - optind > 1) {
        usage(stderr, argv[0]);
        return EXIT_FAILURE;
    }
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "wordcount: error: cannot create %s: %s\n", outdir, strerror(errno));
        return EXIT_FAILURE;
    }

    wc_job job = {0};
    job.path = optind < argc ? argv[optind] : WORDCOUNT_DEFAULT_TEXT;
    job.nchunks = nchunks;
    job.top_k = top_k;
    job.cut = calloc((size_t)nchunks + 1, sizeof *job.cut);
    job.tables = calloc((size_t)nchunks, sizeof *job.tables);
    wc_part *parts = calloc(2 * (size_t)nchunks, sizeof *parts); /* counts, then merges */
    if (!job.cut || !job.tables || !parts)
        return example_fail("allocating", WEFT_ENOMEM);
    for (int i = 0; i < nchunks; i++)
        if (table_init(&job.tables[i], 4096) != 0)
            return example_fail("allocating", WEFT_ENOMEM);

    int status = EXIT_SUCCESS, rc;
    weft_graph_t *g;
    if ((rc = weft_graph_create("wordcount", &g)) != 0)
        return example_fail("weft_graph_create", rc);
    if (cluster_nodes) {
        /* the nodes get the chunks as bytes: read and cut the text first */
        if (read_node(NULL, &job) != 0) {
            fprintf(stderr, "wordcount: error: %s\n", job.error);
            return EXIT_FAILURE;
        }
        split_node(NULL, &job);
        if ((rc = wordcount_register_tasks()) != 0)
            return example_fail("registering the tasks", rc);
        rc = build_cluster_graph(g, &job, parts, pace_ms);
    } else {
        rc = build_graph(g, &job, parts);
    }
    if (rc != 0)
        return example_fail("building the graph", rc);
    weft_runtime_t *rt;
    if ((rc = weft_runtime_create(nthreads, &rt)) != 0)
        return example_fail("weft_runtime_create", rc);

    printf("weft %s wordcount: %s\n", weft_version(), job.path);
    if (cluster_nodes)
        printf("Graph '%s': %zu nodes, %zu edges (%d count, %d merge on the cluster, top here)\n",
               weft_graph_name(g), weft_graph_node_count(g), weft_graph_edge_count(g), nchunks,
               nchunks > 1 ? nchunks - 1 : 1);
    else
        printf("Graph '%s': %zu nodes, %zu edges (read, split, %d count, %d merge, top) "
               "on %d worker%s\n\n",
               weft_graph_name(g), weft_graph_node_count(g), weft_graph_edge_count(g), nchunks,
               nchunks > 1 ? nchunks - 1 : 1, weft_runtime_workers(rt),
               weft_runtime_workers(rt) == 1 ? "" : "s");
    fflush(stdout);

    weft_run_opts_t opts = {.record = 1};
    char *node_list = NULL;
#if WEFT_HAVE_DIST
    weft_cluster_t *cluster = NULL;
    if (cluster_nodes) {
        const char *nodes[64];
        size_t nn = 0;
        if (!(node_list = strdup(cluster_nodes)))
            return example_fail("allocating", WEFT_ENOMEM);
        for (char *save, *tok = strtok_r(node_list, ",", &save); tok && nn < 64;
             tok = strtok_r(NULL, ",", &save))
            nodes[nn++] = tok;
        weft_cluster_opts_t co;
        weft_cluster_opts_init(&co);
        co.secret_file = key_file;
        co.on_node = on_node;
        if ((rc = weft_cluster_create(nodes, nn, &co, &cluster)) != 0) {
            fprintf(stderr, "wordcount: error: cluster: %s\n", weft_error_detail());
            return EXIT_FAILURE;
        }
        if ((rc = weft_cluster_wait_nodes(cluster, nn, wait_s)) != 0) {
            fprintf(stderr, "wordcount: error: the cluster did not come up in %d s: %s\n",
                    wait_s, weft_error_detail());
            weft_cluster_free(cluster);
            return EXIT_FAILURE;
        }
        printf("Cluster: %zu nodes up (%s); running the graph there\n\n", nn, cluster_nodes);
        fflush(stdout);
        opts.executor = weft_cluster_executor(cluster);
    }
#else
    const void *cluster = NULL; /* no clusters in this build: -c is refused */
    (void)key_file;
    (void)wait_s;
#endif
    weft_run_t *run = NULL;
    rc = weft_graph_run(g, rt, &opts, &run);
    if (rc != 0) {
        weft_run_counts_t c;
        if (run && weft_run_counts(run, &c) == 0 && c.first_failed != WEFT_NODE_NONE)
            fprintf(stderr, "wordcount: error: node '%s' failed (%d)%s%s\n",
                    weft_graph_node_name(g, c.first_failed), c.first_code,
                    job.error[0] ? ": " : "", job.error);
        else
            example_fail("weft_graph_run", rc);
        status = EXIT_FAILURE;
    }

    if (run) {
        char dot[4096], trace[4096];
        const char *base = cluster ? "wordcount-cluster" : "wordcount";
        char dot_name[64], trace_name[64];
        snprintf(dot_name, sizeof dot_name, "%s.dot", base);
        snprintf(trace_name, sizeof trace_name, "%s.trace.json", base);
        if (write_output(outdir, dot_name, dot, sizeof dot, dot_writer, g, run) != 0 ||
            write_output(outdir, trace_name, trace, sizeof trace, trace_writer, g, run) != 0)
            status = EXIT_FAILURE;
        else
            printf("Graph: %s   (draw it: dot -Tsvg %s -o %s.svg)\n"
                   "Trace: %s   (open in chrome://tracing or ui.perfetto.dev)\n\n",
                   dot, dot, base, trace);
        if ((rc = weft_run_print_stats(run, stdout)) != 0)
            status = example_fail("weft_run_print_stats", rc);
#if WEFT_HAVE_DIST
        if (cluster) {
            /* what the failures cost: graph nodes sent again, time lost */
            size_t retried = 0, resends = 0, remote = 0;
            double lost = 0;
            for (size_t v = 0; v < weft_graph_node_count(g); v++) {
                weft_node_origin_t o;
                if (weft_run_node_origin(run, (weft_node_t)v, &o) != 0)
                    continue;
                if (o.machine && strcmp(o.machine, "local") != 0)
                    remote++;
                if (o.attempts > 1) {
                    retried++;
                    resends += (size_t)(o.attempts - 1);
                }
                lost += o.lost_s;
            }
            printf("\n");
            if ((rc = weft_cluster_print_stats(cluster, stdout)) != 0)
                status = example_fail("weft_cluster_print_stats", rc);
            printf("\nRetries: %zu of the %zu nodes run on the cluster were sent again "
                   "(%zu resends); time lost: %.3f s, summed over the lost attempts (each "
                   "from its send to its node's loss)\n",
                   retried, remote, resends, lost);
        }
#endif
        if ((rc = weft_run_free(run)) != 0)
            status = example_fail("weft_run_free", rc);
    }
#if WEFT_HAVE_DIST
    if (cluster && (rc = weft_cluster_free(cluster)) != 0)
        status = example_fail("weft_cluster_free", rc);
#endif
    free(node_list);
    if ((rc = weft_runtime_destroy(rt)) != 0)
        status = example_fail("weft_runtime_destroy", rc);
    if ((rc = weft_graph_free(g)) != 0)
        status = example_fail("weft_graph_free", rc);
    for (int i = 0; i < nchunks; i++)
        table_free(&job.tables[i]);
    free(job.tables);
    free(job.cut);
    free(job.text);
    free(parts);
    return example_done(status);
}
#endif /* !WORDCOUNT_PLUGIN */
