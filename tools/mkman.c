/*
 * mkman: writes the kiln(8) man page on stdout from a template (packaging/kiln.8.in), at build
 * time. A line "@OPTIONS@" becomes the OPTIONS entries from config.c's settings table, the one
 * that drives --help; "@VERSION@" becomes the version. Usage: mkman TEMPLATE > kiln.8
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define VERSION_MARK "@VERSION@"

static void put_line(const char *line)
{
    const char *mark = strstr(line, VERSION_MARK);

    if (mark == NULL) {
        fputs(line, stdout);
        return;
    }
    fwrite(line, 1, (size_t)(mark - line), stdout);
    fputs(KILN_VERSION, stdout);
    put_line(mark + strlen(VERSION_MARK));
}

int main(int argc, char **argv)
{
    char *line = NULL;
    size_t cap = 0;
    FILE *in;

    if (argc != 2) {
        fputs("usage: mkman TEMPLATE > kiln.8\n", stderr);
        return 2;
    }
    if (!(in = fopen(argv[1], "r"))) {
        perror(argv[1]);
        return 1;
    }
    while (getline(&line, &cap, in) >= 0) {
        if (strcmp(line, "@OPTIONS@\n") == 0)
            config_write_man(stdout);
        else
            put_line(line);
    }
    free(line);
    fclose(in);
    return ferror(stdout) || fflush(stdout) != 0 ? 1 : 0;
}
