/* attrib gen: write a realistic synthetic dataset into the input tables. */
#include "commands.h"
#include "msgs.h"

#include "attrib/gen.h"
#include "attrib/store.h"
#include "util/ts.h"

#include <string.h>
#include <time.h>

#define GEN_MAX_SESSIONS 10000000000ULL /* 10 billion: beyond any sane benchmark */

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

int cmd_gen(cli_config *cfg)
{
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_gen_options o = ATTRIB_GEN_OPTIONS_INIT;
    attrib_gen_stats stats;
    int32_t day0;
    if (CLI_IS_SET(cfg, sessions) && (cfg->sessions < 1 || cfg->sessions > GEN_MAX_SESSIONS))
        return cli_error_usage("--sessions must be between 1 and %llu, not %llu", GEN_MAX_SESSIONS,
                               (unsigned long long)cfg->sessions);
    if (CLI_IS_SET(cfg, gen_start) &&
        attrib_date_parse(cfg->gen_start, strlen(cfg->gen_start), &day0) != 0)
        return cli_error_usage("--start-date '%s' is not a date YYYY-MM-DD", cfg->gen_start);
    if (cfg->gen_days > 36500)
        return cli_error_usage("--days %llu is too large (at most 36500)",
                               (unsigned long long)cfg->gen_days);
    if (CLI_IS_SET(cfg, gen_layout)) {
        if (strcmp(cfg->gen_layout, "time") == 0)
            o.layout = ATTRIB_GEN_LAYOUT_TIME;
        else if (strcmp(cfg->gen_layout, "sorted") == 0)
            o.layout = ATTRIB_GEN_LAYOUT_SORTED;
        else if (strcmp(cfg->gen_layout, "shuffled") == 0)
            o.layout = ATTRIB_GEN_LAYOUT_SHUFFLED;
        else
            return cli_error_usage("--layout must be time, sorted or shuffled, not '%s'",
                                   cfg->gen_layout);
    }
    if (CLI_IS_SET(cfg, sessions))
        o.sessions = cfg->sessions;
    if (CLI_IS_SET(cfg, seed))
        o.seed = cfg->seed;
    if (CLI_IS_SET(cfg, gen_start))
        o.start_date = cfg->gen_start;
    if (CLI_IS_SET(cfg, gen_days))
        o.days = (uint32_t)cfg->gen_days;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, ATTRIB_STORE_CREATE, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = attrib_gen_store(ctx, st, &o, cfg->force ? ATTRIB_GEN_FORCE : 0, &stats);
    cli_progress_done();
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    double secs = seconds_since(&t0);
    char first[11], last[11];
    if (attrib_date_parse(o.start_date, strlen(o.start_date), &day0) != 0)
        day0 = 0;
    attrib_date_format(day0, first);
    attrib_date_format(day0 + (int32_t)stats.days - 1, last);
    cli_infof("attrib gen: wrote %llu sessions of %llu users, %llu conversions and %llu cost "
              "rows into %s (seed %llu, dates %s .. %s) in %.2f s (%.0f sessions/s)",
              (unsigned long long)stats.sessions, (unsigned long long)stats.users,
              (unsigned long long)stats.conversions, (unsigned long long)stats.costs,
              attrib_store_display(st), (unsigned long long)o.seed, first, last, secs,
              secs > 0 ? (double)stats.sessions / secs : 0.0);
done:
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}
