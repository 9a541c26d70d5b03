/*
 * build/attrib-mpi (make MPI=1): the attrib command line inside an MPI job.
 * Every rank runs the same command; `attribute` and `run` shard by rank
 * (src/cli/cmd_steps.c), and the collectives they need are these, on
 * MPI_COMM_WORLD. The library knows nothing of MPI.
 */
#include "cli/cli.h"
#include "mpi/mpi_gather.h"
#include "mpi/mpi_report.h"

#include <mpi.h>

int attrib_cli_main(int argc, char **argv);

static int max_all(int mine)
{
    int all = 0;
    if (MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        return mine != 0 ? mine : 1; /* the default error handler aborts first */
    return all;
}

static void sum_all(uint64_t *v, int n)
{
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
}

static void gather(const double *mine, int n, double *all)
{
    MPI_Gather(mine, n, MPI_DOUBLE, all, n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

/* cli_mpi_hooks.gather_bytes over the shared gather (mpi_gather.h). */
static int gather_bytes(const void *mine, size_t n, void **all, size_t *n_all)
{
    char *buf = NULL;
    if (!attrib_mpi_gather(mine, n, &buf, n_all))
        return -1;
    *all = buf;
    return 0;
}

int main(int argc, char **argv)
{
    static cli_mpi_hooks hooks = {.max_all = max_all,
                                  .sum_all = sum_all,
                                  .gather = gather,
                                  .gather_bytes = gather_bytes,
                                  .reduce_report = attrib_mpi_report_reduce,
                                  .free_report = attrib_mpi_report_free};
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        return CLI_EXIT_RUNTIME;
    MPI_Comm_rank(MPI_COMM_WORLD, &hooks.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &hooks.size);
    cli_mpi = &hooks;
    int rc = attrib_cli_main(argc, argv);
    MPI_Finalize();
    return rc;
}
