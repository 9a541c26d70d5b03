/* The command entry points, one per cmd_<name>.c. */
#ifndef ATTRIB_CLI_COMMANDS_H
#define ATTRIB_CLI_COMMANDS_H

#include "cli.h"

int cmd_init(cli_config *cfg);
int cmd_journeys(cli_config *cfg);
int cmd_attribute(cli_config *cfg);
int cmd_report(cli_config *cfg);
int cmd_export(cli_config *cfg);
int cmd_run(cli_config *cfg);
int cmd_models(cli_config *cfg);
int cmd_gen(cli_config *cfg);
int cmd_serve(cli_config *cfg);
int cmd_eval(cli_config *cfg);
int cmd_calibrate(cli_config *cfg);
int cmd_compare(cli_config *cfg);
int cmd_markov(cli_config *cfg);
int cmd_copy(cli_config *cfg);
int cmd_partition(cli_config *cfg);
int cmd_recover(cli_config *cfg);

/* "a,b,c" into at most `max` models (cmd_compare.c); `option` names the option in
 * messages. Exit code. */
int cli_parse_models(const char *option, const char *list, const attrib_model_ops **ops, size_t max,
                     size_t *n);

#endif
