/*
 * The CLI's diagnostics: the only code that writes to stderr (STYLE.md §9).
 * Every message gets the "attrib: " prefix; error helpers return the exit
 * code so call sites read `return cli_error_usage(...)`.
 */
#ifndef ATTRIB_CLI_MSGS_H
#define ATTRIB_CLI_MSGS_H

#include "attrib/error.h"

#include <stdbool.h>
#include <stdint.h>

void cli_msgs_setup(int verbose, bool quiet, bool json);

int cli_errorf(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_error_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A library message as an error: the library names options by their
 * options-struct field or flag macro (it is used from C too); the names the
 * CLI maps from its flags are shown as those flags.
 */
int cli_error_lib(int exit_code, const char *msg);
void cli_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_notef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Plain lines (the run summary), shown unless -q. */
void cli_infof(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Library log sink and progress sink (progress only on a terminal). */
void cli_log(attrib_log_level level, const char *msg, void *payload);
void cli_progress(const char *what, uint64_t done, uint64_t total, void *payload);
/* End a progress line, if one is showing. */
void cli_progress_done(void);

#endif
