/* attrib markov: fit the Markov chain and print its removal effects (and,
 * with --print-transitions, the transition matrix). */
#include "commands.h"
#include "msgs.h"

#include "attrib/compare.h"
#include "attrib/markov.h"

#include <stdio.h>
#include <string.h>

static void print_info(const attrib_markov_info *in, bool transitions)
{
    int w = 7;
    for (size_t c = 0; c < in->n_channels; c++)
        w = (int)strlen(in->channels[c]) > w ? (int)strlen(in->channels[c]) : w;
    bool global = in->credit == ATTRIB_MARKOV_CREDIT_GLOBAL;
    printf("order %d, %s states, %s, %llu paths, %llu conversions, revenue %.2f, %zu states, "
           "%zu transitions\n",
           in->order, in->states_mode == ATTRIB_MARKOV_STATES_WINDOW ? "window" : "collapsed",
           in->value ? "revenue" : "conversions", (unsigned long long)in->paths,
           (unsigned long long)in->conversions, in->revenue, in->n_states, in->n_transitions);
    printf("%s from (start): %.17g; solver %s, residual %.3g\n",
           in->value ? "revenue per path" : "P(conversion)", in->p_conversion, in->method,
           in->residual);
    printf("per-session credit (--markov-credit %s) over %llu journeys, revenue %.2f",
           global ? "global" : "journey", (unsigned long long)in->journeys, in->journey_revenue);
    if (global)
        printf("; calibration: %u iterations, gap %.3g", in->calibration_iterations,
               in->calibration_gap);
    printf("\n\n");
    printf("%-*s  %20s  %20s  %14s  %14s  %14s  %14s\n", w, "channel", "removal_effect", "share",
           "std_conv", "std_revenue", "session_conv", "session_revenue");
    for (size_t c = 0; c < in->n_channels; c++)
        printf("%-*s  %20.17f  %20.17f  %14.6f  %14.6f  %14.6f  %14.6f\n", w, in->channels[c],
               in->removal[c], in->share[c], in->standard_conversions[c], in->standard_revenue[c],
               in->attributed_conversions[c], in->attributed_revenue[c]);
    printf("\nstd_conv, std_revenue: the standard Markov totals (ChannelAttribution's "
           "total_conversions,\n"
           "  total_conversion_value): removal-effect share x all conversions, revenue-removal-"
           "effect\n"
           "  share x all revenue of the paths above.\n"
           "session_conv, session_revenue: what `attribute --model markov` gives the channel's "
           "sessions\n"
           "  over those journeys (sum of per-session credit, and x revenue); %s.\n",
           global ? (in->calibration_gap <= 1e-9
                         ? "global credit: equal to the standard totals"
                         : "global credit: the standard totals cannot be reached by splitting "
                           "each journey (see docs/models.md), this is the closest split found")
                  : "journey credit: each journey split by removal-effect shares");
    if (!transitions)
        return;
    printf("\nfrom\tto\tcount\tprobability\n");
    for (size_t e = 0; e < in->n_transitions; e++) {
        const attrib_markov_transition *t = &in->transitions[e];
        printf("%s\t%s\t%llu\t%.17g\n", in->states[t->from], in->states[t->to],
               (unsigned long long)t->count, t->probability);
    }
}

int cmd_markov(cli_config *cfg)
{
    attrib_run_options opts;
    int rc = cli_run_options(cfg, &opts);
    if (rc != CLI_EXIT_OK)
        return rc;
    opts.model = attrib_model_find("markov");
    attrib_ctx *ctx = NULL;
    attrib_store *st = NULL;
    attrib_model *m = NULL;
    rc = cli_ctx(cfg, &ctx);
    if (rc == CLI_EXIT_OK)
        rc = cli_open_store(ctx, cfg, ATTRIB_STORE_READONLY, &st);
    if (rc != CLI_EXIT_OK)
        goto done;
    int lrc = attrib_model_fit(ctx, st, &opts, &m);
    cli_progress_done();
    if (lrc != ATTRIB_OK) {
        rc = cli_fail(ctx, lrc);
        goto done;
    }
    print_info(attrib_markov_info_of(m), cfg->print_transitions);
done:
    attrib_model_free(m);
    attrib_store_close(st);
    attrib_ctx_free(ctx);
    return rc;
}
