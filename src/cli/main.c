/*
 * attrib's entry point: global options, the command lookup, the config file
 * (defaults < config file < command line), and the stdout check at exit.
 * Defaults come last in time but lowest in precedence: they fill only the
 * options neither the file nor the command line set (opts.c).
 */
#include "cli.h"
#include "msgs.h"

#include "attrib/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --version: attrib's version and commit, then each linked library's
 * version as found at run time (what a bug report needs). */
static void print_version(void)
{
    printf("attrib %s\ncommit %s\n", attrib_version(), attrib_commit());
    attrib_dependency deps[8];
    size_t n = attrib_dependencies(deps, sizeof(deps) / sizeof(deps[0]));
    for (size_t i = 0; i < n && i < sizeof(deps) / sizeof(deps[0]); i++)
        printf("%s %s\n", deps[i].name, deps[i].version);
}

/* Message level and format from the options. Exit code. */
static int setup_msgs(const cli_config *cfg)
{
    cli_msgs_setup(cfg->verbose, cfg->quiet, strcmp(cfg->log_format, "json") == 0);
    if (strcmp(cfg->log_format, "text") != 0 && strcmp(cfg->log_format, "json") != 0)
        return cli_error_usage("--log-format must be text or json, not '%s'", cfg->log_format);
    return CLI_EXIT_OK;
}

static int finish(int rc)
{
    /* Reports often go to pipes and full disks: a failed stdout is a failure. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (rc == CLI_EXIT_OK)
            rc = cli_errorf(CLI_EXIT_RUNTIME, "cannot write to standard output");
    }
    if (fclose(stdout) != 0 && rc == CLI_EXIT_OK)
        rc = cli_errorf(CLI_EXIT_RUNTIME, "cannot write to standard output");
    return rc;
}

/* The MPI build (make MPI=1) compiles this file again with
 * ATTRIB_CLI_MAIN=attrib_cli_main and wraps it in src/mpi/mpi_main.c. */
#ifndef ATTRIB_CLI_MAIN
#define ATTRIB_CLI_MAIN main
#endif

int ATTRIB_CLI_MAIN(int argc, char **argv);

int ATTRIB_CLI_MAIN(int argc, char **argv)
{
    cli_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            print_version();
            return finish(CLI_EXIT_OK);
        }
        /* Hidden: the man page and shell completions, generated from the
         * option tables at build time (helpgen.c). */
        if (strcmp(argv[i], "--help-man") == 0)
            return finish(cli_help_man());
        if (strcmp(argv[i], "--help-completion") == 0)
            return finish(cli_help_completion(i + 1 < argc ? argv[i + 1] : ""));
    }
    static const cli_opt *const global_only[] = {cli_opts_global, NULL};
    int cmd_at = 1;
    int rc = cli_parse(&cfg, global_only, argc, argv, 1, &cmd_at, true);
    if (rc != CLI_EXIT_OK)
        return finish(rc);
    if (cmd_at >= argc) {
        cli_usage(NULL);
        return finish(cfg.help ? CLI_EXIT_OK : CLI_EXIT_USAGE);
    }
    const cli_cmd *cmd = NULL;
    for (const cli_cmd *c = cli_commands; c->name != NULL && cmd == NULL; c++)
        if (strcmp(c->name, argv[cmd_at]) == 0)
            cmd = c;
    if (cmd == NULL) {
        if (strcmp(argv[cmd_at], "help") == 0) {
            cli_usage(NULL);
            return finish(CLI_EXIT_OK);
        }
        return finish(cli_error_usage("unknown command '%s'", argv[cmd_at]));
    }
    /* First pass finds --config; then defaults < file < command line. */
    rc = cli_parse(&cfg, cmd->groups, argc, argv, cmd_at + 1, NULL, false);
    if (rc != CLI_EXIT_OK)
        return finish(rc);
    if (cfg.help) {
        cli_usage(cmd);
        return finish(CLI_EXIT_OK);
    }
    rc = cli_apply_defaults(&cfg, cmd->groups);
    if (rc != CLI_EXIT_OK)
        return finish(rc);
    rc = setup_msgs(&cfg);
    if (rc != CLI_EXIT_OK)
        return finish(rc);
    if (cfg.config != NULL) {
        const char *config = cfg.config;
        memset(&cfg, 0, sizeof(cfg));
        rc = cli_config_file(&cfg, cmd->groups, config);
        if (rc == CLI_EXIT_OK)
            rc = cli_parse(&cfg, global_only, argc, argv, 1, &cmd_at, true);
        if (rc == CLI_EXIT_OK)
            rc = cli_parse(&cfg, cmd->groups, argc, argv, cmd_at + 1, NULL, false);
        if (rc == CLI_EXIT_OK)
            rc = cli_apply_defaults(&cfg, cmd->groups);
        if (rc == CLI_EXIT_OK)
            rc = setup_msgs(&cfg);
        if (rc != CLI_EXIT_OK) {
            cli_config_release(&cfg);
            return finish(rc);
        }
    }
    rc = cmd->run(&cfg);
    cli_config_release(&cfg);
    return finish(rc);
}
