/* Shared includes for the cmocka unit tests. */
#ifndef ATTRIB_TESTUTIL_H
#define ATTRIB_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* |a - b| <= eps, with both numbers in the failure message. */
#define assert_near(a, b, eps)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))                                               \
            fail_msg("%s = %.17g, expected %.17g (eps %g)", #a, a_, b_, (double)(eps));            \
    } while (0)

#endif
