/*
 * The report's exact reduction over an MPI job (docs/scale-out.md
 * "Reductions"): every rank's part of the report (attrib_report_part) added
 * cell by cell into the job's, on every rank. See cli_mpi_hooks.
 */
#ifndef ATTRIB_MPI_REPORT_H
#define ATTRIB_MPI_REPORT_H

#include "attrib/pipeline.h"

#include <stdbool.h>

/* A collective: every rank calls it once, `ok` false when it failed before (and
 * mine is then unused). ATTRIB_OK with *all the job's sum, else ATTRIB_ERROR on
 * every rank. *all holds until attrib_mpi_report_free. */
int attrib_mpi_report_reduce(bool ok, const attrib_report_part *mine, attrib_report_part *all);
void attrib_mpi_report_free(attrib_report_part *all);

#endif
