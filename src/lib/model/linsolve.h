/*
 * Small linear algebra for the Markov model: dense LU with partial pivoting
 * and iterative refinement, and Gauss-Seidel for the sparse absorbing-chain
 * systems x = r + Q x.
 *
 * Everything runs single-threaded in a fixed order with IEEE basic
 * operations only (the build does not contract to FMA), so the same input
 * gives the same bits on every machine.
 */
#ifndef ATTRIB_LIB_LINSOLVE_H
#define ATTRIB_LIB_LINSOLVE_H

#include <stddef.h>
#include <stdint.h>

/* A factorised n×n matrix: P A = L U, L unit lower, both packed in lu. */
typedef struct {
    size_t n;
    double *lu;   /* n*n, row-major */
    size_t *perm; /* row i of P A is row perm[i] of A */
} attrib__lu;

/*
 * Factorise the row-major n×n matrix a (not modified). Returns 0,
 * ATTRIB_ENOMEM, or ATTRIB_EDATA when a pivot is exactly 0 (singular).
 * Free with attrib__lu_free.
 */
int attrib__lu_factor(attrib__lu *f, const double *a, size_t n);

/*
 * Solve a x = b with two steps of iterative refinement (residual in double):
 * the first solve is backward stable, refinement removes most of the
 * conditioning error for the well-conditioned M-matrices of absorbing
 * chains. a must be the matrix that was factorised. *residual (may be NULL)
 * gets max_i |(a x - b)_i| after refinement. Returns 0 or ATTRIB_ENOMEM.
 */
int attrib__lu_solve(const attrib__lu *f, const double *a, const double *b, double *x,
                     double *residual);

void attrib__lu_free(attrib__lu *f);

/* A sparse square matrix in compressed rows. */
typedef struct {
    size_t n;
    const size_t *row; /* row i: entries row[i] .. row[i+1] */
    const uint32_t *col;
    const double *val;
} attrib__csr;

/*
 * Solve x = r + Q x restricted to the rows/columns with keep[i] != 0 (others
 * are fixed at 0), by Gauss-Seidel sweeps in index order, starting from 0.
 * Q must be substochastic with every kept state able to reach absorption
 * (spectral radius < 1), so the sweeps converge monotonically from below.
 * Stops when no component changes by more than `tol` in a sweep; fails with
 * ATTRIB_ERROR after max_sweeps. *residual gets max |x - r - Q x|.
 */
int attrib__gauss_seidel(const attrib__csr *q, const double *r, const unsigned char *keep,
                         double tol, size_t max_sweeps, double *x, double *residual);

#endif
