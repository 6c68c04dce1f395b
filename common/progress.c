/*
 * progress.c — progress of long work (log replay at open, compaction,
 * check, repair) on standard error.
 *
 * Shared by golite and golitefs (whose mount replays the log first).
 *
 * On a terminal: one line redrawn in place, at most ten times a second,
 *
 *     replay   [##########..........]  50%  32.0 MiB of 64.0 MiB
 *
 * and left standing when the stage ends. Otherwise (a log file, a pipe):
 * one plain line per stage when it ends, "golite: replay: 64.0 MiB in
 * 2.1 s" (the program's name first, see progress_prefix). Work that is not long shows nothing: the bar appears after a
 * quarter of a second, the plain line only for a stage of half a second or
 * 16 MiB or more.
 * Figures are bytes; a total of 0 shows no percentage.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define BAR_WIDTH 20
#define REDRAW_NS 100000000ull
#define BAR_AFTER_NS 250000000ull
#define LINE_AFTER_NS 500000000ull
#define LINE_AFTER_BYTES (16ull << 20)

static struct {
	const char *prog;
	int tty;                  /* -1 not known yet */
	char stage[32];
	uint64_t done, total;
	uint64_t start, last_draw;
	bool drawn;               /* a bar is on the screen */
	bool active;              /* a stage is under way */
} p = { .prog = "golite", .tty = -1 };

const char *size_text(uint64_t bytes, char *buf)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, 32, "%.1f %s", v, units[u]);
	return buf;
}

void progress_prefix(const char *prog)
{
	p.prog = prog;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void draw(void)
{
	char a[32], b[32];
	int pct = p.total ? (int)(p.done * 100 / p.total) : 0;
	if (pct > 100)
		pct = 100;
	int fill = pct * BAR_WIDTH / 100;
	char bar[BAR_WIDTH + 1];
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r\033[K%-9s [%s] %3d%%  %s of %s", p.stage, bar, pct,
		size_text(p.done, a), size_text(p.total, b));
	fflush(stderr);
	p.drawn = true;
}

void progress_clear(void)
{
	if (p.drawn) {
		fputs("\r\033[K", stderr);
		p.drawn = false;
	}
}

void progress_end(void)
{
	if (!p.active)
		return;
	char a[32];
	uint64_t took = mono_ns() - p.start;
	if (p.tty && p.drawn) {
		if (p.total && p.done < p.total)
			p.done = p.total;
		draw();
		fputc('\n', stderr);
		p.drawn = false;
	} else if (!p.tty && (took >= LINE_AFTER_NS || p.done >= LINE_AFTER_BYTES)) {
		fprintf(stderr, "%s: %s: %s in %.1f s\n", p.prog, p.stage, size_text(p.done, a),
			(double)took / 1e9);
	}
	p.active = false;
}

void progress_report(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
	(void)ctx;
	if (p.tty < 0)
		p.tty = isatty(STDERR_FILENO);
	if (p.active && strcmp(p.stage, stage) != 0)
		progress_end();
	if (!p.active) {
		snprintf(p.stage, sizeof(p.stage), "%s", stage);
		p.active = true;
		p.start = mono_ns();
		p.last_draw = 0;
	}
	p.done = done;
	p.total = total;
	if (!p.tty)
		return;
	uint64_t now = mono_ns();
	if (now - p.start < BAR_AFTER_NS)
		return;
	if (now - p.last_draw >= REDRAW_NS || done >= total) {
		p.last_draw = now;
		draw();
	}
}
