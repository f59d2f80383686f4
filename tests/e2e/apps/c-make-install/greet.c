/* dockopt e2e sample: a program installed by `make install` with its data file. */
#include <stdio.h>
#include <string.h>

#ifndef DATADIR
#define DATADIR "/usr/local/share/greet"
#endif
#define VERSION "1.0.0"

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("greet %s (data in %s)\n", VERSION, DATADIR);
        return 0;
    }
    /* The greeting comes from the installed data file: without share/ it fails. */
    FILE *f = fopen(DATADIR "/greeting.txt", "r");
    if (f == NULL) {
        perror("greet: " DATADIR "/greeting.txt");
        return 1;
    }
    char line[256];
    if (fgets(line, sizeof line, f) == NULL) {
        fclose(f);
        fprintf(stderr, "greet: empty greeting file\n");
        return 1;
    }
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    printf("%s%s\n", line, argc > 1 && strcmp(argv[1], "--selftest") == 0 ? " (selftest ok)" : "");
    return 0;
}
