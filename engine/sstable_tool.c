/*
 * sstable_tool.c — verifying and dumping a table file, for `golite check`
 * and `golite dump`. The format is drawn in table_format.h.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sstable_int.h"
#include "util.h"
#include "vlog.h"

/* ======================================================================
 * Verify and dump
 * ====================================================================== */

/* A private reader (pread, no cache) that is closed synchronously, so
 * that no RCU registration is needed. */
static int open_private(const char *path, struct sst_reader **r)
{
	return sst_open_flags(path, 0, NULL, SST_OPEN_PREAD, r);
}

static void close_private(struct sst_reader *r)
{
	if (atomic_fetch_sub(&r->refs, 1) == 1)
		sst_reader_destroy(r);
}

/* Checks that the hash index of the iterator's block finds the current
 * entry (the first of its ikey in the block). */
static int verify_hash_slot(struct sst_iter *it, const uint8_t *key, size_t iklen, uint8_t *buf)
{
	if (!it->v.nslots)
		return 0;
	struct block_cursor c;
	int f = block_hash_find(&c, &it->v, buf, key, iklen, hash64(key, iklen));
	if (f == 1 && c.off == it->c.off)
		return 0;
	return sst_corrupt(it->r->path, it->r->ix[it->bi].off,
		       "hash index misses the entry at byte %u of the data block", it->c.off);
}

int sst_verify(const char *path, uint64_t *entries)
{
	struct sst_reader *r;
	int e = open_private(path, &r);
	if (e)
		return e;
	const struct sst_props *p = &r->props;
	struct sst_iter *it = sst_iter_new(r);
	uint64_t n = 0, dels = 0, min_seq = UINT64_MAX, max_seq = 0, raw_keys = 0, raw_values = 0;
	uint32_t last_bi = UINT32_MAX;
	uint8_t *buf = xmalloc(SKEY_MAX);
	for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it)) {
		const uint8_t *key = it->c.key;
		size_t klen = it->c.klen, iklen = klen - TRAILER_SIZE;
		uint64_t t = get_le64(key + iklen);
		unsigned kind = trailer_kind(t);
		uint64_t at = r->ix[it->bi].off;
		if (!kind_valid(kind) ||
		    ((kind & KIND_EXPIRES) && it->c.vlen < EXPIRES_PREFIX) ||
		    ((kind & KIND_SEPARATE) && it->c.vlen != VPTR_SIZE)) {
			e = sst_corrupt(path, at, "unknown entry kind %u (entry at byte %u of the data block)",
				    kind, it->c.off);
			goto out;
		}
		if (kind == KIND_DELETE && it->c.vlen) {
			e = sst_corrupt(path, at, "tombstone with a value (entry at byte %u of the data block)",
				    it->c.off);
			goto out;
		}
		if (!n && (klen != p->smallest_len || memcmp(key, p->smallest, klen))) {
			e = sst_corrupt(path, r->foot.props_off, "properties: smallest key disagrees with the data");
			goto out;
		}
		bool new_ikey = !it->have_prev ||
				ikey_cmp(it->prev, it->plen - TRAILER_SIZE, key, iklen) != 0;
		if (new_ikey && r->has_filter && !bloom_may_contain(&r->bloom, hash64(key, iklen))) {
			e = sst_corrupt(path, r->foot.filter_off, "filter lacks a key of the block at %" PRIu64, at);
			goto out;
		}
		if ((new_ikey || it->bi != last_bi) && (e = verify_hash_slot(it, key, iklen, buf)))
			goto out;
		last_bi = it->bi;
		n++;
		dels += kind == KIND_DELETE;
		min_seq = MIN(min_seq, trailer_seq(t));
		max_seq = MAX(max_seq, trailer_seq(t));
		raw_keys += klen;
		raw_values += it->c.vlen;
	}
	if ((e = sst_iter_status(it)))
		goto out;
	if (!n)
		min_seq = 0;
	if (n != p->entries || dels != p->deletions || min_seq != p->min_seq ||
	    max_seq != p->max_seq || raw_keys != p->raw_keys || raw_values != p->raw_values) {
		e = sst_corrupt(path, r->foot.props_off,
			    "properties disagree with the data (%" PRIu64 " entries found, %" PRIu64
			    " recorded)", n, p->entries);
		goto out;
	}
	/* At the end, it->prev holds the last entry. */
	if (n && (it->plen != p->largest_len || memcmp(it->prev, p->largest, it->plen))) {
		e = sst_corrupt(path, r->foot.props_off, "properties: largest key disagrees with the data");
		goto out;
	}
	if (entries)
		*entries = n;
out:
	free(buf);
	sst_iter_free(it);
	close_private(r);
	return e;
}

void sst_put_bytes(FILE *out, const uint8_t *p, size_t n, bool hex)
{
	if (hex) {
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%02x", p[i]);
		return;
	}
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(out, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], out);
		else
			fprintf(out, "\\x%02x", p[i]);
	}
	fputc('"', out);
}

static const char *kind_name(unsigned kind)
{
	switch (kind) {
	case KIND_DELETE: return "del";
	case KIND_VALUE: return "val";
	case KIND_META: return "meta";
	case KIND_VALUE | KIND_EXPIRES: return "val+ttl";
	case KIND_META | KIND_EXPIRES: return "meta+ttl";
	case KIND_VALUE | KIND_SEPARATE: return "val+sep";
	default: return "?";
	}
}

/* "table/key @seq kind", key escaped. */
static void put_skey(FILE *out, const uint8_t *k, size_t klen, bool hex)
{
	size_t iklen = klen - TRAILER_SIZE;
	uint64_t t = get_le64(k + iklen);
	if (iklen >= IKEY_PREFIX) {
		fprintf(out, "%" PRIu32 "/", ikey_table(k));
		sst_put_bytes(out, k + IKEY_PREFIX, iklen - IKEY_PREFIX, hex);
	} else {
		fputs("?/", out);
		sst_put_bytes(out, k, iklen, true);
	}
	fprintf(out, " @%" PRIu64 " %s", trailer_seq(t), kind_name(trailer_kind(t)));
}

int sst_dump(const char *path, FILE *out, bool hex)
{
	struct sst_reader *r;
	int e = open_private(path, &r);
	if (e)
		return e;
	const struct sst_props *p = &r->props;
	static const char *const comp[] = { "none", "lz4", "zstd" };
	fprintf(out, "sstable %s (%" PRIu64 " bytes)\n", path, r->file_size);
	fprintf(out, "footer: version %u, filter @%" PRIu64 " +%" PRIu64 ", properties @%" PRIu64
		" +%" PRIu64 ", index @%" PRIu64 " +%" PRIu64 "\n",
		r->foot.version, r->foot.filter_off, r->foot.filter_size, r->foot.props_off,
		r->foot.props_size, r->foot.index_off, r->foot.index_size);
	fprintf(out, "properties: file_no %" PRIu64 ", entries %" PRIu64 ", deletions %" PRIu64
		", seq %" PRIu64 "..%" PRIu64 ", raw keys %" PRIu64 " B, raw values %" PRIu64
		" B, data blocks %" PRIu64 " (%" PRIu64 " B), block size %u, restart interval %u, "
		"bloom %u bits/key, compression %s\n",
		p->file_no, p->entries, p->deletions, p->min_seq, p->max_seq, p->raw_keys,
		p->raw_values, p->data_blocks, p->data_end, p->block_size, p->restart_interval,
		p->bloom_bits, comp[p->compression]);
	if (p->entries) {
		fputs("smallest: ", out);
		put_skey(out, p->smallest, p->smallest_len, hex);
		fputs("\nlargest: ", out);
		put_skey(out, p->largest, p->largest_len, hex);
		fputc('\n', out);
	}
	if (r->has_filter)
		fprintf(out, "filter: %u lines, %u probes\n", r->bloom.nlines, r->bloom.k);
	fprintf(out, "index: %u blocks\n", r->nblocks);
	for (uint32_t i = 0; i < r->nblocks; i++) {
		fprintf(out, "  block %u @%" PRIu64 " +%u  sep ", i, r->ix[i].off, r->ix[i].size);
		put_skey(out, r->ix_key[i], r->ix[i].klen, hex);
		fputc('\n', out);
	}
	fputs("entries:\n", out);
	struct sst_iter *it = sst_iter_new(r);
	for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it)) {
		fputs("  ", out);
		put_skey(out, it->c.key, it->c.klen, hex);
		unsigned kind = trailer_kind(get_le64(it->c.key + it->c.klen - TRAILER_SIZE));
		struct vptr vp;
		if ((kind & KIND_SEPARATE) && vptr_decode(it->c.value, it->c.vlen, &vp) == 0) {
			fprintf(out,
				" -> %08" PRIu64 ".val record %" PRIu64 " +%u, %u bytes, crc %08x",
				vp.file, vp.record, vp.offset, vp.len, vp.crc);
		} else if ((kind & KIND_EXPIRES) && it->c.vlen >= EXPIRES_PREFIX) {
			fprintf(out, " expires %" PRIu64 " ms = ", get_le64(it->c.value));
			sst_put_bytes(out, it->c.value + EXPIRES_PREFIX, it->c.vlen - EXPIRES_PREFIX,
				      hex);
		} else if (kind != KIND_DELETE) {
			fputs(" = ", out);
			sst_put_bytes(out, it->c.value, it->c.vlen, hex);
		}
		fputc('\n', out);
	}
	e = sst_iter_status(it);
	if (e)
		fprintf(out, "error: %s\n", last_error());
	sst_iter_free(it);
	close_private(r);
	return e;
}
