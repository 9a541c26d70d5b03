/*
 * The IHC engine: docs/ihc-api.md §8.6 with the parameters of ihc_params.h.
 * Per journey: initializer membership of the gap to the prior session
 * (restart at full membership), closer membership of the time to the last
 * session, channel weights, the holder function of each session's
 * initializer and closer memberships (before channel weights) normalized
 * over the whole journey, cut sessions included,
 * redistribution, phase weights.
 * out[] doubles as scratch, so nothing is allocated per journey.
 */
#include "lib/ihc/engine.h"

#include <math.h>

static const attrib_ihc_chan unit_chan = {{1.0, 1.0, 1.0}, 0};

static inline const attrib_ihc_chan *chan_of(const attrib_ihc_chan *chans, size_t n_chans,
                                             uint32_t ch)
{
    return ch < n_chans ? &chans[ch] : &unit_chan;
}

double attrib__ihc_round4(double x)
{
    return round(x * 10000.0) / 10000.0;
}

/* Phase p's value of a credit. */
static inline double *phase_of(attrib_credit *c, int p)
{
    return p == ATTRIB_IHC_I ? &c->initializer : p == ATTRIB_IHC_H ? &c->holder : &c->closer;
}

/*
 * Redistribution of phase p (docs/ihc-api.md §3; our choices for §9.8 in
 * docs/model.md): donors' pre-redistribution values go to receivers (not
 * donors, in the direction, value > 0 and >= threshold) in proportion to the
 * receivers' pre-redistribution values; a donor without receivers keeps its
 * value. out[k].ihc holds the pre-values while this runs.
 */
static void redistribute(const attrib_ihc_chan *chans, size_t n_chans,
                         const attrib_redist_phase *rp, int p, const attrib_session *s, size_t from,
                         size_t n, attrib_credit *out)
{
    if (rp->direction == ATTRIB_REDIST_NONE)
        return;
    uint8_t bit = (uint8_t)(1u << p);
    bool any = false;
    for (size_t k = from; k < n; k++) {
        out[k].ihc = *phase_of(&out[k], p);
        any |= (chan_of(chans, n_chans, s[k].channel)->donor & bit) != 0 && out[k].ihc > 0.0;
    }
    if (!any)
        return;
    for (size_t d = from; d < n; d++) {
        if ((chan_of(chans, n_chans, s[d].channel)->donor & bit) == 0 || out[d].ihc <= 0.0)
            continue;
        size_t lo = from, hi = n;
        if (rp->direction == ATTRIB_REDIST_EARLIER)
            hi = d;
        else if (rp->direction == ATTRIB_REDIST_LATER)
            lo = d + 1;
        double sum = 0.0;
        for (size_t k = lo; k < hi; k++) {
            double v = out[k].ihc;
            if (k != d && (chan_of(chans, n_chans, s[k].channel)->donor & bit) == 0 && v > 0.0 &&
                v >= rp->receive_threshold)
                sum += v;
        }
        if (sum <= 0.0)
            continue;
        double give = out[d].ihc / sum;
        for (size_t k = lo; k < hi; k++) {
            double v = out[k].ihc;
            if (k != d && (chan_of(chans, n_chans, s[k].channel)->donor & bit) == 0 && v > 0.0 &&
                v >= rp->receive_threshold)
                *phase_of(&out[k], p) += give * v;
        }
        *phase_of(&out[d], p) = 0.0;
    }
}

void attrib__ihc_redistribute(const attrib_ihc_chan *chans, size_t n_chans,
                              const attrib_redistribution *rd, const attrib_session *s, size_t from,
                              size_t n, attrib_credit *out)
{
    redistribute(chans, n_chans, &rd->initializer, ATTRIB_IHC_I, s, from, n, out);
    redistribute(chans, n_chans, &rd->holder, ATTRIB_IHC_H, s, from, n, out);
    redistribute(chans, n_chans, &rd->closer, ATTRIB_IHC_C, s, from, n, out);
}

void attrib__ihc_compute(const attrib_ihc_params *p, const attrib_ihc_chan *chans, size_t n_chans,
                         const attrib_redistribution *rd, bool api_rounding,
                         const attrib_session *s, size_t n, attrib_credit *out)
{
    if (n == 0)
        return;
    if (n == 1) {
        out[0] = (attrib_credit){.ihc = 1.0, .initializer = 1.0, .holder = 0.0, .closer = 1.0};
        return;
    }
    /* Initializer membership; the journey starts at the last full one. */
    size_t start = 0;
    out[0].initializer = 1.0;
    for (size_t k = 1; k < n; k++) {
        double m = attrib__ihc_table_eval(&p->m_i, (double)(s[k].ts - s[k - 1].ts) / 3600.0);
        out[k].initializer = m;
        if (m >= 1.0)
            start = k;
    }
    /* Memberships first (out[].initializer/closer hold them unweighted), with
     * the sums with and without channel weights: the holder function reads
     * the unweighted memberships normalized over the WHOLE journey, sessions
     * cut by a restart included (docs/model.md rule 8); the returned phases
     * are weighted and normalized over the surviving sessions. */
    double T = (double)s[n - 1].ts;
    double ui = 0.0, uc = 0.0, si = 0.0, sc = 0.0;
    for (size_t k = 0; k < n; k++) {
        const attrib_ihc_chan *c = chan_of(chans, n_chans, s[k].channel);
        double mi = out[k].initializer;
        double mc = 0.0;
        if (s[k].closer || k == n - 1)
            mc = attrib__ihc_table_eval(&p->m_c, (T - (double)s[k].ts) / 3600.0);
        ui += mi;
        uc += mc;
        if (k < start) {
            out[k] = (attrib_credit){0};
            continue;
        }
        out[k].closer = mc;
        si += c->w[ATTRIB_IHC_I] * mi;
        sc += c->w[ATTRIB_IHC_C] * mc;
    }
    if (uc <= 0.0 || sc <= 0.0) { /* a closer table that is 0 at 0 h: the last session closes */
        uc += 1.0 - out[n - 1].closer;
        out[n - 1].closer = 1.0;
        sc = chan_of(chans, n_chans, s[n - 1].channel)->w[ATTRIB_IHC_C];
    }
    double sh = 0.0;
    if (start == n - 1) { /* one session survives the restart */
        out[start].initializer = 1.0;
        out[start].closer = 1.0;
        out[start].holder = s[start].holder ? 1.0 : 0.0;
        sh = out[start].holder;
    } else {
        for (size_t k = start; k < n; k++) {
            const attrib_ihc_chan *c = chan_of(chans, n_chans, s[k].channel);
            double h = 0.0;
            if (s[k].holder)
                h = c->w[ATTRIB_IHC_H] *
                    attrib__ihc_holder_eval(p, out[k].initializer / ui, out[k].closer / uc);
            out[k].holder = h;
            sh += h;
            out[k].initializer = c->w[ATTRIB_IHC_I] * out[k].initializer / si;
            out[k].closer = c->w[ATTRIB_IHC_C] * out[k].closer / sc;
        }
        if (sh > 0.0)
            for (size_t k = start; k < n; k++)
                out[k].holder /= sh;
    }
    if (rd != NULL)
        attrib__ihc_redistribute(chans, n_chans, rd, s, start, n, out);
    double wi = p->phase_w[ATTRIB_IHC_I], wh = sh > 0.0 ? p->phase_w[ATTRIB_IHC_H] : 0.0,
           wc = p->phase_w[ATTRIB_IHC_C];
    double inv = 1.0 / (wi + wh + wc);
    for (size_t k = start; k < n; k++)
        out[k].ihc = (wi * out[k].initializer + wh * out[k].holder + wc * out[k].closer) * inv;
    if (api_rounding)
        for (size_t k = start; k < n; k++) {
            out[k].ihc = attrib__ihc_round4(out[k].ihc);
            out[k].initializer = attrib__ihc_round4(out[k].initializer);
            out[k].holder = attrib__ihc_round4(out[k].holder);
            out[k].closer = attrib__ihc_round4(out[k].closer);
        }
}
