/* Fuzz target: the config file reader of the CLI (cli_config_file in
 * src/cli/opts.c) over the option table of every command, then the defaults
 * on top, as main() does. The text is served through a memfd, so the reader
 * runs unchanged. FUZZ_NEEDS_CLI: built with src/cli (but main.c). */
#include "cli/cli.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("attrib-fuzz-config", 0);
        if (fd < 0)
            return 0;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    for (const cli_cmd *c = cli_commands; c->name != NULL; c++) {
        cli_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        if (cli_config_file(&cfg, c->groups, path) == CLI_EXIT_OK)
            (void)cli_apply_defaults(&cfg, c->groups);
        cli_config_release(&cfg);
    }
    return 0;
}
