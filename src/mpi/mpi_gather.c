/* The collectives the MPI side shares: see mpi_gather.h. */
#include "mpi/mpi_gather.h"

#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>

bool attrib_mpi_agree(bool ok)
{
    int bad = !ok, any = 1;
    if (MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        return false;
    return any == 0;
}

bool attrib_mpi_gather(const void *mine, size_t n, char **out, size_t *n_out)
{
    int size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int *counts = calloc((size_t)size, sizeof(*counts)),
        *displs = calloc((size_t)size, sizeof(*displs));
    int my = n <= INT_MAX ? (int)n : 0;
    char *all = NULL;
    bool ok = counts != NULL && displs != NULL && n <= INT_MAX;
    if (attrib_mpi_agree(ok) &&
        MPI_Allgather(&my, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD) == MPI_SUCCESS) {
        size_t total = 0;
        for (int r = 0; r < size; r++) {
            displs[r] = (int)(total <= INT_MAX ? total : 0);
            total += (size_t)counts[r];
        }
        ok = total <= INT_MAX && (all = malloc(total > 0 ? total : 1)) != NULL;
        if (attrib_mpi_agree(ok) && MPI_Allgatherv(mine, my, MPI_BYTE, all, counts, displs,
                                                   MPI_BYTE, MPI_COMM_WORLD) == MPI_SUCCESS) {
            *out = all;
            *n_out = total;
            all = NULL;
        } else
            ok = false;
    } else
        ok = false;
    free(all);
    free(counts);
    free(displs);
    return ok;
}
