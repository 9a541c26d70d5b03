/*
 * RFC 4180 fields: a field is quoted when it contains a comma, a double
 * quote, CR or LF, or starts or ends with a space; quotes are doubled.
 */
#ifndef ATTRIB_UTIL_CSV_H
#define ATTRIB_UTIL_CSV_H

#include "buf.h"

/* Append one field (quoted if needed) to b; returns 0 or -1. */
__attribute__((warn_unused_result)) int attrib_csv_field(attrib_buf *b, const char *s, size_t len);

/*
 * A text field (a name or an id, never a number) with formula neutralisation
 * when `neutralise`: a cell starting with = + - @ TAB or CR, which a
 * spreadsheet would run as a formula (CSV injection), gets a leading ' that
 * makes it plain text. Returns 0 or -1.
 */
__attribute__((warn_unused_result)) int attrib_csv_text(attrib_buf *b, const char *s, size_t len,
                                                        bool neutralise);

#endif
