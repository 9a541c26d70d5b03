/*
 * Table-driven option parsing and help. Every option lives in exactly one
 * cli_opt row; the parser, the config-file reader, the defaults and --help
 * all read the same rows, so help cannot drift from what is parsed or from
 * the value an option has when it is not given. A value from the config
 * file or the command line marks its field "set"; a default does not.
 */
#include "cli.h"
#include "msgs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt *find_opt(const cli_opt *const *groups, const char *name, size_t len,
                               char short_name)
{
    for (size_t g = 0; groups[g] != NULL; g++)
        for (const cli_opt *o = groups[g]; o->name != NULL; o++) {
            if (short_name != 0 ? o->short_name == short_name
                                : (strlen(o->name) == len && strncmp(o->name, name, len) == 0))
                return o;
        }
    return NULL;
}

static int parse_uint(const char *s, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
        *out = true;
    else if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

/* Store `value` (NULL for flags) into the option's field; `where` names its
 * source in messages. Given values (not defaults) mark the field set. */
static int apply(cli_config *cfg, const cli_opt *o, const char *value, const char *where,
                 bool given)
{
    if (given)
        cfg->set[o->field] = true;
    char *base = (char *)cfg;
    switch (o->type) {
    case OPT_FLAG:
        if (value == NULL) {
            *(bool *)(base + o->offset) = true;
        } else if (parse_bool(value, (bool *)(base + o->offset)) != 0) {
            return cli_error_usage("%s: --%s takes true or false, not '%s'", where, o->name, value);
        }
        break;
    case OPT_COUNT:
        (*(int *)(base + o->offset))++;
        break;
    case OPT_STRING:
        *(const char **)(base + o->offset) = value;
        break;
    case OPT_UINT:
        if (parse_uint(value, (uint64_t *)(base + o->offset)) != 0)
            return cli_error_usage("%s: --%s takes a whole number, not '%s'", where, o->name,
                                   value);
        break;
    }
    return CLI_EXIT_OK;
}

int cli_parse(cli_config *cfg, const cli_opt *const *groups, int argc, char **argv, int from,
              int *next, bool stop_at_positional)
{
    int i = from;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (stop_at_positional)
                break;
            return cli_error_usage("unexpected argument '%s'", a);
        }
        const cli_opt *o;
        const char *value = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
            o = find_opt(groups, name, len, 0);
            if (o == NULL) {
                if (stop_at_positional)
                    break; /* a command option after the global ones */
                return cli_error_usage("unknown option '--%.*s'", (int)len, name);
            }
            if (eq != NULL) {
                if (o->type == OPT_COUNT)
                    return cli_error_usage("option --%s takes no value", o->name);
                value = eq + 1;
            }
        } else {
            if (a[2] != '\0')
                return cli_error_usage("unknown option '%s' (short options do not combine)", a);
            o = find_opt(groups, NULL, 0, a[1]);
            if (o == NULL) {
                if (stop_at_positional)
                    break;
                return cli_error_usage("unknown option '%s'", a);
            }
        }
        if (value == NULL && (o->type == OPT_STRING || o->type == OPT_UINT)) {
            if (i + 1 >= argc)
                return cli_error_usage("option --%s needs a value (%s)", o->name, o->arg);
            value = argv[++i];
        }
        int rc = apply(cfg, o, value, "command line", true);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    if (next != NULL)
        *next = i;
    else if (i < argc)
        return cli_error_usage("unexpected argument '%s'", argv[i]);
    return CLI_EXIT_OK;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Is `name` an option of any command? (config files are shared by commands) */
static bool known_anywhere(const char *name)
{
    for (const cli_cmd *c = cli_commands; c->name != NULL; c++)
        if (find_opt(c->groups, name, strlen(name), 0) != NULL)
            return true;
    return false;
}

int cli_config_file(cli_config *cfg, const cli_opt *const *groups, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return cli_errorf(CLI_EXIT_USAGE, "cannot read config file %s: %s", path, strerror(errno));
    /* Whole lines, however long (a fixed buffer split a long line in two and
     * blamed a line that does not exist), up to a bound that no option needs. */
    enum { CONFIG_LINE_MAX = 65536 };
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    int lineno = 0, rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && (got = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        char where[512];
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (got > CONFIG_LINE_MAX) {
            rc = cli_error_usage("%s: line is %zd bytes long, more than %d", where, got,
                                 CONFIG_LINE_MAX);
            break;
        }
        if ((size_t)got != strlen(line)) {
            rc = cli_error_usage("%s: line holds a NUL byte; a config file is text", where);
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            rc = cli_error_usage("%s: expected 'key = value'", where);
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        char *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && ((value[0] == '"' && value[vl - 1] == '"') ||
                        (value[0] == '\'' && value[vl - 1] == '\''))) {
            value[vl - 1] = '\0';
            value++;
        }
        const cli_opt *o = find_opt(groups, key, strlen(key), 0);
        if (o == NULL) {
            if (!known_anywhere(key))
                rc = cli_error_usage("%s: unknown key '%s'", where, key);
            continue; /* another command's key */
        }
        if (strcmp(o->name, "config") == 0) {
            rc = cli_error_usage("%s: a config file cannot name another config file", where);
            break;
        }
        char *copy = strdup(value);
        char **owned =
            copy != NULL ? realloc(cfg->owned, (cfg->n_owned + 1) * sizeof(*owned)) : NULL;
        if (owned == NULL) {
            free(copy);
            rc = cli_errorf(CLI_EXIT_RUNTIME, "out of memory");
            break;
        }
        /* The config points at its strings: they live until cli_config_release. */
        cfg->owned = owned;
        cfg->owned[cfg->n_owned++] = copy;
        rc = apply(cfg, o, o->type == OPT_COUNT ? NULL : copy, where, true);
    }
    if (rc == CLI_EXIT_OK && ferror(f))
        rc = cli_errorf(CLI_EXIT_USAGE, "cannot read config file %s: %s", path, strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

void cli_config_release(cli_config *cfg)
{
    for (size_t i = 0; i < cfg->n_owned; i++)
        free(cfg->owned[i]);
    free(cfg->owned);
    cfg->owned = NULL;
    cfg->n_owned = 0;
}

int cli_apply_defaults(cli_config *cfg, const cli_opt *const *groups)
{
    /* Two rows of one command may fill the same field: the first row wins. */
    bool filled[CLI_F__COUNT] = {false};
    for (size_t g = 0; groups[g] != NULL; g++)
        for (const cli_opt *o = groups[g]; o->name != NULL; o++) {
            if (cfg->set[o->field] || filled[o->field] || o->def.kind != CLI_DEF_TEXT)
                continue;
            filled[o->field] = true;
            const char *env = o->def.env != NULL ? getenv(o->def.env) : NULL;
            const char *value = env != NULL && env[0] != '\0' ? env : o->def.text;
            int rc =
                apply(cfg, o, value, env != NULL && env[0] != '\0' ? o->def.env : "default", false);
            if (rc != CLI_EXIT_OK)
                return rc;
        }
    return CLI_EXIT_OK;
}

/* The default of `o` as --help shows it; "" when it has none. */
void cli_format_default(const cli_opt *o, char *buf, size_t size)
{
    const cli_default *d = &o->def;
    double div = d->div > 0 ? (double)d->div : 1.0;
    buf[0] = '\0';
    switch (d->kind) {
    case CLI_DEF_NONE:
        break;
    case CLI_DEF_TEXT:
        if (d->env != NULL)
            snprintf(buf, size, "$%s, else %s", d->env, d->text);
        else
            snprintf(buf, size, "%s", d->text);
        break;
    case CLI_DEF_NOTE:
        snprintf(buf, size, "%s", d->text);
        break;
    case CLI_DEF_LIB_INT:
        snprintf(buf, size, "%.15g", (double)*(const int *)d->lib / div);
        break;
    case CLI_DEF_LIB_UINT:
        snprintf(buf, size, "%.15g", (double)*(const unsigned *)d->lib / div);
        break;
    case CLI_DEF_LIB_LONG:
        snprintf(buf, size, "%.15g", (double)*(const long *)d->lib / div);
        break;
    case CLI_DEF_LIB_ULONG:
        snprintf(buf, size, "%.15g", (double)*(const unsigned long *)d->lib / div);
        break;
    case CLI_DEF_LIB_ULLONG:
        snprintf(buf, size, "%.15g", (double)*(const unsigned long long *)d->lib / div);
        break;
    case CLI_DEF_LIB_DOUBLE:
        snprintf(buf, size, "%.15g", *(const double *)d->lib / div);
        break;
    case CLI_DEF_LIB_STRING:
        snprintf(buf, size, "%s", *(const char *const *)d->lib);
        break;
    case CLI_DEF_ENUM:
        snprintf(buf, size, "%s", d->names[*(const int *)d->lib]);
        break;
    }
}

static void print_group(const cli_opt *g)
{
    for (const cli_opt *o = g; o->name != NULL; o++) {
        char left[80];
        char shortname[8] = "    ";
        if (o->short_name != 0)
            snprintf(shortname, sizeof(shortname), "-%c, ", o->short_name);
        bool has_arg = o->arg != NULL && (o->type == OPT_STRING || o->type == OPT_UINT);
        snprintf(left, sizeof(left), "%s--%s%s%s", shortname, o->name, has_arg ? " " : "",
                 has_arg ? o->arg : "");
        char def[256];
        cli_format_default(o, def, sizeof(def));
        if (def[0] != '\0')
            printf("  %-36s %s (default: %s)\n", left, o->help, def);
        else
            printf("  %-36s %s\n", left, o->help);
    }
}

void cli_usage(const cli_cmd *cmd)
{
    if (cmd == NULL) {
        printf("usage: attrib [--db TARGET] [--config FILE] [-v|-q] [--log-format text|json] "
               "COMMAND [options]\n\n" CLI_ABOUT "\nCommands:\n");
        for (const cli_cmd *c = cli_commands; c->name != NULL; c++)
            printf("  %-12s %s\n", c->name, c->summary);
        printf("\nGlobal options:\n");
        print_group(cli_opts_global);
        printf("  %-36s %s\n", "    --version", CLI_VERSION_HELP);
        printf("\nEnvironment: " CLI_ENVIRONMENT "\nExit status: " CLI_EXIT_STATUS
               "`attrib COMMAND --help` describes a command and all its options.\n");
        return;
    }
    printf("usage: attrib [global options] %s [options]\n\n%s\n", cmd->name, cmd->description);
    printf("\nOptions:\n");
    for (size_t g = 0; cmd->groups[g] != NULL; g++)
        if (cmd->groups[g] != cli_opts_global)
            print_group(cmd->groups[g]);
    printf("\nGlobal options:\n");
    print_group(cli_opts_global);
}
