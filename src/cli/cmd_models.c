/* attrib models: list the models --model accepts. */
#include "commands.h"

#include <stdio.h>

int cmd_models(cli_config *cfg)
{
    (void)cfg;
    for (const attrib_model_ops *const *m = attrib_model_list(); *m != NULL; m++)
        printf("%-20s %s\n", (*m)->name, (*m)->summary);
    return CLI_EXIT_OK;
}
