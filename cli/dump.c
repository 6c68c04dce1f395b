/*
 * dump.c — golite dump FILE: a log segment, a table or a MANIFEST in
 * human-readable form (golite_dump_file, golite_tools.h, does the work).
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "golite_tools.h"

int cmd_dump(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "hex", no_argument, NULL, 'x' }, HELP_OPTION, END_OPTIONS,
	};
	unsigned flags = 0;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "xh", longs, &status)) != -1)
		if (c == 'x')
			flags |= GOLITE_DUMP_HEX;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 1, 1))
		return EXIT_ERROR;
	uint64_t damaged;
	int r = golite_dump_file(argv[optind], stdout, flags, &damaged);
	if (r) {
		fflush(stdout);
		cli_fail(NULL, r);
		return EXIT_ERROR;
	}
	/* A log segment with damaged ranges: dumped, but not clean. */
	return damaged ? EXIT_ERROR : 0;
}
