/*
 * Date and time parsing without libc's time zone machinery. The civil-date
 * conversions are Howard Hinnant's days_from_civil/civil_from_days
 * algorithms, exact for the whole proleptic Gregorian calendar.
 */
#include "ts.h"

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

int32_t attrib_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

int attrib_date_parse(const char *s, size_t len, int32_t *out)
{
    int y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (digits(s, 4, &y) != 0 || digits(s + 5, 2, &m) != 0 || digits(s + 8, 2, &d) != 0)
        return -1;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
        return -1;
    *out = attrib_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int attrib_time_parse(const char *s, size_t len, int32_t *out)
{
    int h, mi, se;
    if (len != 8 || s[2] != ':' || s[5] != ':')
        return -1;
    if (digits(s, 2, &h) != 0 || digits(s + 3, 2, &mi) != 0 || digits(s + 6, 2, &se) != 0)
        return -1;
    if (h > 23 || mi > 59 || se > 59)
        return -1;
    *out = h * 3600 + mi * 60 + se;
    return 0;
}

int attrib_datetime_parse(const char *s, size_t len, int64_t *out)
{
    int32_t d, t;
    if (len != 19 || s[10] != ' ')
        return -1;
    if (attrib_date_parse(s, 10, &d) != 0 || attrib_time_parse(s + 11, 8, &t) != 0)
        return -1;
    *out = (int64_t)d * ATTRIB_SECS_PER_DAY + t;
    return 0;
}

static void civil_from_days(int32_t z32, int *y, unsigned *m, unsigned *d)
{
    int z = z32 + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)yoe + era * 400 + (*m <= 2);
}

static void put(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void attrib_date_format(int32_t days, char out[11])
{
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    put(out, (unsigned)y, 4);
    out[4] = '-';
    put(out + 5, m, 2);
    out[7] = '-';
    put(out + 8, d, 2);
    out[10] = '\0';
}

void attrib_datetime_format(int64_t t, char out[20])
{
    int32_t day = attrib_ts_day(t);
    int64_t sod = t - (int64_t)day * ATTRIB_SECS_PER_DAY;
    attrib_date_format(day, out);
    out[10] = ' ';
    put(out + 11, (unsigned)(sod / 3600), 2);
    out[13] = ':';
    put(out + 14, (unsigned)(sod / 60 % 60), 2);
    out[16] = ':';
    put(out + 17, (unsigned)(sod % 60), 2);
    out[19] = '\0';
}
