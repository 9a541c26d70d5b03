/*
 * The collectives the MPI side shares (mpi_main.c's hooks, mpi_report.c): a
 * vote and a gather of bytes, each failing the same way on every rank.
 */
#ifndef ATTRIB_MPI_GATHER_H
#define ATTRIB_MPI_GATHER_H

#include <stdbool.h>
#include <stddef.h>

/* Whether every rank is still fine: ok on every rank (a collective). */
bool attrib_mpi_agree(bool ok);

/*
 * Every rank's n bytes at mine, concatenated in rank order into a new *out
 * (malloc'd, the caller frees; *n_out bytes) on every rank (a collective).
 * False on every rank when one of them could not allocate or the total is
 * beyond what one MPI call moves (INT_MAX bytes); *out is then untouched.
 */
bool attrib_mpi_gather(const void *mine, size_t n, char **out, size_t *n_out);

#endif
