/*  =========================================================================
    marks - keyed tallies of the central store (the "marks" database)

    A mark is a byte key (at most WQ_MARK_MAX bytes, its first byte says
    what it is) with an int64 count. Folds produce an entity's marks beside
    its counters; ingest applies the difference between the old and the
    new list, verify recomputes them all. Like the counters, a mark whose
    count reaches 0 is deleted, so the marks are a canonical function of
    the set of events. They answer the lists and the tallies whose keys do
    not fit a 16-byte counter key (docs/STORE.md section 1):

      'O' start(10) end(10) county(6) month(7) entity   a problem overdue
                                                        over [start, end)
      'W' county(6) entity                              plans/progress/answers
                                                        waiting for their
                                                        problem/consultation
      'K' county(6) month(7) cadre name                 visits by that cadre
      'D' county(6) date(10) method(1) credit code(18)  visits of one day and
                                                        method from several
                                                        workstations
      'R' county(6) month(7) start(10) end(10) days(5)  problems rectified over
                                                        [start, end), days from
                                                        opening to rectification
      'S' area(6) start(10) month(7) days(5)            the open 'R' spells by
                                                        start, at the three
                                                        levels (views.h)
      'X' county(6) month(7) start(10) end(10) days(5)  the other 'R' spells
                                                        (views.h)
      'A' kind(1) county(6) entity                      an existing problem
                                                        ('P') or enterprise
                                                        ('E') of that county:
                                                        the area index
    =========================================================================
*/
#ifndef WQ_MARKS_H_INCLUDED
#define WQ_MARKS_H_INCLUDED

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include "collector/cstore.h"

#define WQ_MARK_MAX 112
#define WQ_MARK_OPEN_END "9999-12-31"   /* end of an interval still open */

typedef struct {
    uint8_t key[WQ_MARK_MAX];
    uint8_t len;
    int64_t n;
} wq_mark_t;

/*  Growable list of marks; a failed allocation sets oom. */
typedef struct {
    wq_mark_t *m;
    size_t n, cap;
    bool oom;
} wq_marks_t;

/*  Append a mark made of the concatenated parts (NULL-terminated list of
    strings); a key longer than WQ_MARK_MAX is cut (never happens for the
    layouts above). */
void wq_marks_add(wq_marks_t *ms, int64_t n, const char *first, ...)
    __attribute__((sentinel));
void wq_marks_free(wq_marks_t *ms);

/*  Sort by key (LMDB's default order) and merge equal keys, dropping zero
    sums. Returns the new count. */
size_t wq_marks_normalize(wq_mark_t *m, size_t n);
/*  LMDB's default key order: memcmp over the shorter, then the length. */
int wq_marks_cmp(const wq_mark_t *a, const wq_mark_t *b);

/*  Apply new - old (both normalized) to the marks database in txn.
    Errors: WQ_E_FULL, WQ_E_IO, WQ_E_CORRUPT (a stored count is not 8 bytes). */
int wq_marks_apply(MDB_txn *txn, wq_central_t *c, const wq_mark_t *old, size_t nold,
                   const wq_mark_t *nw, size_t nnew, wq_err_t *err);

/*  "K 130102 2019-03 张三" style text of a mark key for reports. */
void wq_marks_format(const wq_mark_t *m, char *out, size_t size);

#endif
