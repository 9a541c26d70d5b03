/* attrib compare: several models side by side per channel (library: compare.c). */
#include "commands.h"
#include "msgs.h"

#include "attrib/compare.h"
#include "attrib/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_MODELS 32

static int write_file(const char *data, size_t len, void *payload)
{
    return fwrite(data, 1, len, (FILE *)payload) == len ? ATTRIB_OK : ATTRIB_EIO;
}

int cli_parse_models(const char *option, const char *list, const attrib_model_ops **ops, size_t max,
                     size_t *n)
{
    *n = 0;
    for (const char *p = list; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof(name))
            return cli_error_usage("%s wants names separated by commas, not '%s'", option, list);
        memcpy(name, p, len);
        name[len] = '\0';
        const attrib_model_ops *m = attrib_model_find(name);
        if (m == NULL)
            return cli_error_usage("unknown model '%s'; `attrib models` lists them", name);
        if (*n == max)
            return cli_error_usage("at most %zu models at once", max);
        ops[(*n)++] = m;
        p = comma != NULL ? comma + 1 : p + len;
    }
    return *n > 0 ? CLI_EXIT_OK : cli_error_usage("%s is empty", option);
}

static const char *file_format(const cli_config *cfg)
{
    if (CLI_IS_SET(cfg, format))
        return cfg->format;
    size_t n = strlen(cfg->out);
    return n >= 3 && strcmp(cfg->out + n - 3, ".md") == 0 ? "markdown" : "csv";
}

int cmd_compare(cli_config *cfg)
{
    const attrib_model_ops *ops[MAX_MODELS];
    size_t n = 0;
    const char *list = cfg->models;
    /* The default list starts with ihc, which a build may lack. */
    if (!CLI_IS_SET(cfg, models) && strncmp(list, "ihc,", 4) == 0 &&
        attrib_model_find("ihc") == NULL)
        list += 4;
    int rc = cli_parse_models("--models", list, ops, MAX_MODELS, &n);
    if (rc != CLI_EXIT_OK)
        return rc;
    bool to_file = CLI_IS_SET(cfg, out);
    const attrib_compare_writer *fw = NULL;
    if (to_file && (fw = attrib_compare_writer_find(file_format(cfg))) == NULL)
        return cli_error_usage("--format must be csv or markdown, not '%s'", cfg->format);
    attrib_run_options opts;
    rc = cli_run_options(cfg, &opts);
    if (rc != CLI_EXIT_OK)
        return rc;
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_compare_table *t = NULL;
    attrib_file *f = NULL;
    rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK && to_file)
        rc = cli_check_out(ctx, "--out", cfg->out);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, ATTRIB_STORE_READONLY, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = attrib_compare_run(ctx, st, &opts, ops, n, &t);
    cli_progress_done();
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    if (attrib_compare_writer_find("text")->write(t, write_file, stdout) != ATTRIB_OK) {
        rc = cli_errorf(CLI_EXIT_RUNTIME, "cannot write to standard output");
        goto done;
    }
    if (to_file) {
        fflush(stdout); /* --out - follows the table on standard output */
        lrc = attrib_file_open(ctx, cfg->out, &f);
        if (lrc == ATTRIB_OK)
            lrc = fw->write(t, attrib_file_write_fn, f);
        if (lrc == ATTRIB_OK) {
            attrib_file *cf = f;
            f = NULL;
            lrc = attrib_file_commit(cf);
        }
        if (lrc != ATTRIB_OK) {
            rc = cli_fail(ctx, lrc);
            goto done;
        }
        cli_infof("attrib compare: %zu models, %zu channels; table written to %s", n, t->n_channels,
                  cfg->out);
    }
done:
    attrib_file_abort(f);
    attrib_compare_free(t);
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}
