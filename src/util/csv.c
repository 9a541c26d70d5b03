/* RFC 4180 field quoting: see csv.h. */
#include "csv.h"

#include <string.h>

int attrib_csv_text(attrib_buf *b, const char *s, size_t len, bool neutralise)
{
    if (!neutralise || len == 0 || strchr("=+-@\t\r", s[0]) == NULL)
        return attrib_csv_field(b, s, len);
    attrib_buf cell = ATTRIB_BUF_INIT(0);
    int rc = attrib_buf_addc(&cell, '\'');
    rc |= attrib_buf_add(&cell, s, len);
    if (rc == 0)
        rc = attrib_csv_field(b, cell.data, cell.len);
    attrib_buf_free(&cell);
    return rc;
}

int attrib_csv_field(attrib_buf *b, const char *s, size_t len)
{
    bool quote = len > 0 && (s[0] == ' ' || s[len - 1] == ' ');
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote)
        return attrib_buf_add(b, s, len);
    int rc = attrib_buf_addc(b, '"');
    for (size_t i = 0; i < len && rc == 0; i++) {
        if (s[i] == '"')
            rc = attrib_buf_addc(b, '"');
        if (rc == 0)
            rc = attrib_buf_addc(b, s[i]);
    }
    if (rc == 0)
        rc = attrib_buf_addc(b, '"');
    return rc;
}
