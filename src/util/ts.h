/*
 * Strict parsers and formatters for the dates and times of the data model:
 * `YYYY-MM-DD` (a real calendar date, proleptic Gregorian, years 1..9999) and
 * `HH:MM:SS` (00:00:00..23:59:59), both UTC. No locale, no libc time zone.
 * Times are int64 seconds since 1970-01-01 00:00:00 UTC; dates are int32
 * days since that day.
 */
#ifndef ATTRIB_UTIL_TS_H
#define ATTRIB_UTIL_TS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATTRIB_SECS_PER_DAY 86400

/* Parse exactly `len` bytes as YYYY-MM-DD. Returns 0 or -1. */
int attrib_date_parse(const char *s, size_t len, int32_t *out);

/* Parse exactly `len` bytes as HH:MM:SS into seconds of the day. 0 or -1. */
int attrib_time_parse(const char *s, size_t len, int32_t *out);

/* Parse "YYYY-MM-DD HH:MM:SS" (exactly 19 bytes). 0 or -1. */
int attrib_datetime_parse(const char *s, size_t len, int64_t *out);

/* Days since the epoch of a civil date (no validation). */
int32_t attrib_days_from_civil(int y, unsigned m, unsigned d);

/* Write "YYYY-MM-DD" and a NUL into out (11 bytes). */
void attrib_date_format(int32_t days, char out[11]);

/* Write "YYYY-MM-DD HH:MM:SS" and a NUL into out (20 bytes). */
void attrib_datetime_format(int64_t t, char out[20]);

/* Day of a timestamp (floor division, correct before 1970). */
static inline int32_t attrib_ts_day(int64_t t)
{
    int64_t d = t / ATTRIB_SECS_PER_DAY;
    if (t % ATTRIB_SECS_PER_DAY < 0)
        d--;
    return (int32_t)d;
}

#endif
