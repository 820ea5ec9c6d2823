/*
 * help: the text of `kinsta-cron --help` and of `kinsta-cron COMMAND
 * --help`, a synopsis, what the command does and each of its options.
 *
 * One table, apart from main.c's logic, so that every command's help has
 * the same shape and the tests (and the bash completion's test) can hold
 * each command's options against one source.
 */
#ifndef KCRON_HELP_H
#define KCRON_HELP_H

#include <stdio.h>

/* Write the help of COMMAND ("check"), or of the whole program when
 * COMMAND is NULL, to f; 0, or -ENOENT for an unknown command (nothing
 * written). */
int help_print(FILE *f, const char *command);

#endif
