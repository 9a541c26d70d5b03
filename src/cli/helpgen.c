/*
 * attrib(1) and the bash/zsh completions, generated from the same option
 * tables as --help (commands.c, cli_api.c, cli_common.c): `make` runs the
 * hidden `attrib --help-man` and `attrib --help-completion bash|zsh`, so
 * neither can drift from what is parsed.
 */
#include "cli.h"
#include "msgs.h"

#include "attrib/model.h"
#include "attrib/version.h"

#include <stdio.h>
#include <string.h>

/* ---- roff ---- */

/* Text as roff: backslashes escaped, hyphens of option-like words as \-, a
 * leading dot or quote neutralised, every line of `s` kept. */
static void roff_text(const char *s)
{
    bool bol = true;
    for (const char *p = s; *p != '\0'; p++) {
        if (bol && (*p == '.' || *p == '\''))
            fputs("\\&", stdout);
        bol = false;
        switch (*p) {
        case '\\':
            fputs("\\e", stdout);
            break;
        case '-':
            fputs("\\-", stdout);
            break;
        case '\n':
            putchar('\n');
            bol = true;
            break;
        default:
            putchar(*p);
        }
    }
}

static void roff_group(const cli_opt *g)
{
    for (const cli_opt *o = g; o->name != NULL; o++) {
        fputs(".TP\n", stdout);
        if (o->short_name != 0)
            printf("\\fB\\-%c\\fR, ", o->short_name);
        fputs("\\fB\\-\\-", stdout);
        roff_text(o->name);
        fputs("\\fR", stdout);
        if (o->arg != NULL && (o->type == OPT_STRING || o->type == OPT_UINT)) {
            fputs(" \\fI", stdout);
            roff_text(o->arg);
            fputs("\\fR", stdout);
        }
        putchar('\n');
        roff_text(o->help);
        char def[256];
        cli_format_default(o, def, sizeof(def));
        if (def[0] != '\0') {
            fputs(" (default: ", stdout);
            roff_text(def);
            putchar(')');
        }
        putchar('\n');
    }
}

int cli_help_man(void)
{
    printf(".TH ATTRIB 1 \"\" \"attrib %s\" \"User Commands\"\n", attrib_version());
    fputs(".SH NAME\nattrib \\- marketing attribution pipeline\n", stdout);
    fputs(".SH SYNOPSIS\n.B attrib\n[\\fB\\-\\-db\\fR \\fITARGET\\fR] [\\fB\\-\\-config\\fR "
          "\\fIFILE\\fR] [\\fB\\-v\\fR|\\fB\\-q\\fR] \\fICOMMAND\\fR [\\fIoptions\\fR]\n"
          ".br\n.B attrib\n\\fICOMMAND\\fR \\fB\\-\\-help\\fR\n.br\n.B attrib \\-\\-version\n",
          stdout);
    fputs(".SH DESCRIPTION\n", stdout);
    roff_text(CLI_ABOUT);
    fputs(".PP\nOptions come from defaults, then the \\fB\\-\\-config\\fR file (lines "
          "\\fIkey\\fR = \\fIvalue\\fR, keys are long option names), then the command line.\n",
          stdout);
    fputs(".SH COMMANDS\n", stdout);
    for (const cli_cmd *c = cli_commands; c->name != NULL; c++) {
        printf(".SS \"attrib %s\"\n", c->name);
        roff_text(c->summary);
        fputs(".\n.PP\n.nf\n", stdout);
        roff_text(c->description);
        fputs("\n.fi\n", stdout);
        bool any = false;
        for (size_t g = 0; c->groups[g] != NULL; g++) {
            if (c->groups[g] == cli_opts_global)
                continue;
            if (!any)
                fputs(".PP\nOptions:\n", stdout);
            any = true;
            roff_group(c->groups[g]);
        }
    }
    fputs(".SH GLOBAL OPTIONS\nAccepted before or after the command.\n", stdout);
    roff_group(cli_opts_global);
    fputs(".TP\n\\fB\\-\\-version\\fR\n", stdout);
    roff_text(CLI_VERSION_HELP);
    putchar('\n');
    fputs(".SH ENVIRONMENT\n", stdout);
    roff_text(CLI_ENVIRONMENT);
    fputs("\n.SH EXIT STATUS\n", stdout);
    roff_text(CLI_EXIT_STATUS);
    fputs(".SH SEE ALSO\n\\fBattrib \\fICOMMAND\\fB \\-\\-help\\fR; the documentation in the "
          "project's docs/ folder.\n",
          stdout);
    return CLI_EXIT_OK;
}

/* ---- completions ---- */

static bool takes_value(const cli_opt *o)
{
    return o->type == OPT_STRING || o->type == OPT_UINT;
}

/* The word list an option's value completes from, "" when free-form; *files
 * set when it names a file or directory (d for a directory). */
static void value_words(const cli_opt *o, char *buf, size_t size, char *files)
{
    buf[0] = '\0';
    *files = 0;
    if (!takes_value(o) || o->arg == NULL)
        return;
    if (strcmp(o->name, "model") == 0) {
        size_t n = 0;
        for (const attrib_model_ops *const *m = attrib_model_list(); *m != NULL; m++) {
            int w = snprintf(buf + n, size - n, "%s%s", n > 0 ? " " : "", (*m)->name);
            if (w < 0 || (size_t)w >= size - n)
                break;
            n += (size_t)w;
        }
        return;
    }
    if (strchr(o->arg, '|') != NULL) {
        snprintf(buf, size, "%s", o->arg);
        for (char *p = buf; *p != '\0'; p++)
            if (*p == '|')
                *p = ' ';
        return;
    }
    if (strcmp(o->arg, "DIR") == 0)
        *files = 'd';
    else if (strcmp(o->arg, "FILE") == 0 || strcmp(o->arg, "TARGET") == 0 ||
             strcmp(o->arg, "JSON|@FILE") == 0)
        *files = 'f';
}

/* bash: one case arm per (command, option with a value), the option words
 * per command; "" is the position before the command. */
static void bash_values(const char *cmd, const cli_opt *g)
{
    for (const cli_opt *o = g; o->name != NULL; o++) {
        if (!takes_value(o))
            continue;
        char words[512], files;
        value_words(o, words, sizeof(words), &files);
        printf("    \"%s --%s\"", cmd, o->name);
        if (o->short_name != 0)
            printf(" | \"%s -%c\"", cmd, o->short_name);
        if (files == 'd')
            fputs(") COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n", stdout);
        else if (files == 'f')
            fputs(") COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n", stdout);
        else
            printf(") COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", words);
    }
}

static void bash_words(const cli_opt *g)
{
    for (const cli_opt *o = g; o->name != NULL; o++)
        printf(" --%s", o->name);
}

static void completion_bash(void)
{
    fputs("# bash completion for attrib, generated by `attrib --help-completion bash`\n"
          "_attrib() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    local cmd='' i=1\n"
          "    while [ $i -lt $COMP_CWORD ]; do\n"
          "        case ${COMP_WORDS[i]} in\n"
          "        ",
          stdout);
    bool first = true;
    for (const cli_opt *o = cli_opts_global; o->name != NULL; o++)
        if (takes_value(o)) {
            printf("%s--%s", first ? "" : " | ", o->name);
            first = false;
        }
    fputs(") i=$((i + 1)) ;;\n"
          "        -*) ;;\n"
          "        *) cmd=${COMP_WORDS[i]}; break ;;\n"
          "        esac\n"
          "        i=$((i + 1))\n"
          "    done\n"
          "    COMPREPLY=()\n"
          "    case \"$cmd $prev\" in\n",
          stdout);
    bash_values("", cli_opts_global);
    for (const cli_cmd *c = cli_commands; c->name != NULL; c++)
        for (size_t g = 0; c->groups[g] != NULL; g++)
            bash_values(c->name, c->groups[g]);
    fputs("    *)\n        case $cmd in\n        '') COMPREPLY=($(compgen -W \"", stdout);
    bash_words(cli_opts_global);
    fputs(" --help --version", stdout);
    for (const cli_cmd *c = cli_commands; c->name != NULL; c++)
        printf(" %s", c->name);
    fputs("\" -- \"$cur\")) ;;\n", stdout);
    for (const cli_cmd *c = cli_commands; c->name != NULL; c++) {
        printf("        %s) COMPREPLY=($(compgen -W \"", c->name);
        for (size_t g = 0; c->groups[g] != NULL; g++)
            bash_words(c->groups[g]);
        fputs(" --help\" -- \"$cur\")) ;;\n", stdout);
    }
    fputs("        esac ;;\n    esac\n}\ncomplete -F _attrib attrib\n", stdout);
}

/* Text for a zsh single-quoted _arguments spec: ' closes the quote, and
 * [ ] : \ are special inside the description. */
static void zsh_text(const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '\'')
            fputs("'\\''", stdout);
        else if (*p == '[' || *p == ']' || *p == ':' || *p == '\\')
            printf("\\%c", *p);
        else
            putchar(*p);
    }
}

static void zsh_group(const cli_opt *g)
{
    for (const cli_opt *o = g; o->name != NULL; o++) {
        fputs("        '", stdout);
        if (o->short_name != 0)
            printf("(-%c --%s)'{-%c,--%s}'", o->short_name, o->name, o->short_name, o->name);
        else
            printf("--%s", o->name);
        putchar('[');
        zsh_text(o->help);
        putchar(']');
        if (takes_value(o)) {
            char words[512], files;
            value_words(o, words, sizeof(words), &files);
            putchar(':');
            zsh_text(o->arg != NULL ? o->arg : "value");
            if (files == 'd')
                fputs(":_files -/", stdout);
            else if (files == 'f')
                fputs(":_files", stdout);
            else if (words[0] != '\0')
                printf(":(%s)", words);
            else
                putchar(':');
        }
        fputs("' \\\n", stdout);
    }
}

static void completion_zsh(void)
{
    fputs("#compdef attrib\n# zsh completion for attrib, generated by `attrib --help-completion "
          "zsh`\n_attrib() {\n    local curcontext=$curcontext state line\n"
          "    local -a commands\n    commands=(\n",
          stdout);
    for (const cli_cmd *c = cli_commands; c->name != NULL; c++) {
        printf("        '%s:", c->name);
        zsh_text(c->summary);
        fputs("'\n", stdout);
    }
    fputs("    )\n    _arguments -C \\\n", stdout);
    zsh_group(cli_opts_global);
    fputs("        '--version[print the version, the commit and the linked library versions]' \\\n"
          "        '--help[list the commands]' \\\n"
          "        '1: :->command' \\\n        '*:: :->args'\n"
          "    case $state in\n    command) _describe -t commands 'attrib command' commands ;;\n"
          "    args)\n        case $words[1] in\n",
          stdout);
    for (const cli_cmd *c = cli_commands; c->name != NULL; c++) {
        printf("        %s)\n            _arguments \\\n", c->name);
        for (size_t g = 0; c->groups[g] != NULL; g++)
            zsh_group(c->groups[g]);
        fputs("        '--help[describe the command and its options]' ;;\n", stdout);
    }
    fputs("        esac ;;\n    esac\n}\n_attrib \"$@\"\n", stdout);
}

int cli_help_completion(const char *shell)
{
    if (strcmp(shell, "bash") == 0)
        completion_bash();
    else if (strcmp(shell, "zsh") == 0)
        completion_zsh();
    else
        return cli_error_usage("--help-completion takes bash or zsh, not '%s'", shell);
    return CLI_EXIT_OK;
}
