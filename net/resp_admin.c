/*
 * resp_admin.c — the commands about the connection and the server: PING
 * ECHO AUTH HELLO QUIT SELECT CLIENT COMMAND CONFIG INFO DBSIZE FLUSHDB.
 *
 * Databases are tables: SELECT NAME selects the table NAME ("SELECT 0"
 * selects table "0", the default), any name golite accepts for a table
 * except its hidden ones. INFO's keyspace section has a line per table,
 * "db<TABLE>:keys=N,expires=E,avg_ttl=MS" (E keys with a time to live, MS
 * their mean time left).
 */
#include "resp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "util.h"

#define REDIS_VERSION "7.0.0"   /* what clients may check features against */

bool table_name_ok(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= GOLITE_MAX_TABLE_NAME && !strchr(name, '/') &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       strncmp(name, ".golite", 7) != 0;
}

int count_keys(golite *db, const char *table, uint64_t *n)
{
	uint64_t x, ttl;
	return count_keys_ttl(db, table, n, &x, &ttl);
}

int count_keys_ttl(golite *db, const char *table, uint64_t *n, uint64_t *expiring,
		   uint64_t *avg_ttl)
{
	golite_iter *it;
	*n = *expiring = *avg_ttl = 0;
	int r = golite_iter_new(db, table, NULL, &it);
	if (r == GOLITE_ENOTABLE)
		return 0;
	if (r)
		return r;
	uint64_t now = golite_clock_ms(db), sum = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		if (golite_iter_is_dir(it))
			continue;
		++*n;
		uint64_t at = golite_iter_expires(it);
		if (at) {
			++*expiring;
			sum += at > now ? at - now : 0;
		}
	}
	if (*expiring)
		*avg_ttl = sum / *expiring;
	r = golite_iter_status(it);
	golite_iter_free(it);
	return r;
}

void cmd_ping(struct conn *c)
{
	if (c->argc > 2) {
		reply_error(&c->out, "wrong number of arguments for 'ping' command");
		return;
	}
	if (c->subs) {
		reply_array(&c->out, 2);
		reply_cstr(&c->out, "pong");
		if (c->argc == 2)
			reply_bulk(&c->out, c->argv[1].p, c->argv[1].len);
		else
			reply_cstr(&c->out, "");
	} else if (c->argc == 2) {
		reply_bulk(&c->out, c->argv[1].p, c->argv[1].len);
	} else {
		reply_simple(&c->out, "PONG");
	}
}

void cmd_echo(struct conn *c)
{
	reply_bulk(&c->out, c->argv[1].p, c->argv[1].len);
}

/* Compares in time that depends only on the lengths. */
static bool same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char diff = alen != blen;
	for (size_t i = 0; i < alen; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
	return diff == 0;
}

/* Checks user (may be NULL) and password; replies with an error and
 * returns false if they are wrong. */
static bool check_auth(struct conn *c, const struct arg *user, const struct arg *pass)
{
	struct resp_server *s = c->w->s;
	if (!s->password) {
		reply_error(&c->out, "AUTH <password> called without any password configured "
				     "for the default user. Are you sure your configuration is "
				     "correct?");
		return false;
	}
	bool user_ok = !user || (user->len == 7 && !memcmp(user->p, "default", 7));
	if (!same_secret(pass->p, pass->len, s->password, s->password_len) || !user_ok) {
		reply_error_code(&c->out, "WRONGPASS", "invalid username-password pair or user is "
				     "disabled.");
		return false;
	}
	c->authed = true;
	return true;
}

void cmd_auth(struct conn *c)
{
	if (c->argc > 3) {
		reply_error(&c->out, "syntax error");
		return;
	}
	bool two = c->argc == 3;
	if (check_auth(c, two ? &c->argv[1] : NULL, &c->argv[two ? 2 : 1]))
		reply_simple(&c->out, "OK");
}

void cmd_hello(struct conn *c)
{
	size_t i = 1;
	if (c->argc > 1) {
		long long v;
		if (!parse_ll(c->argv[1].p, c->argv[1].len, &v)) {
			reply_error(&c->out, "Protocol version is not an integer or out of range");
			return;
		}
		if (v != 2) {
			reply_error_code(&c->out, "NOPROTO", "unsupported protocol version");
			return;
		}
		i = 2;
	}
	const struct arg *setname = NULL;
	for (; i < c->argc; i++) {
		if (arg_is(c, i, "auth") && i + 2 < c->argc) {
			if (!check_auth(c, &c->argv[i + 1], &c->argv[i + 2]))
				return;
			i += 2;
		} else if (arg_is(c, i, "setname") && i + 1 < c->argc) {
			setname = &c->argv[++i];
		} else {
			reply_error(&c->out, "syntax error in HELLO option");
			return;
		}
	}
	if (!c->authed) {
		reply_error_code(&c->out, "NOAUTH", "HELLO must be called with the client already "
				     "authenticated, otherwise the HELLO AUTH <user> <pass> option "
				     "can be used to authenticate the client and select the RESP "
				     "protocol version at the same time");
		return;
	}
	if (setname) {
		free(c->name);
		c->name = xmemdup(setname->p, setname->len + 1);
		c->name[setname->len] = '\0';
	}
	reply_array(&c->out, 14);
	reply_cstr(&c->out, "server");
	reply_cstr(&c->out, "redis");
	reply_cstr(&c->out, "version");
	reply_cstr(&c->out, REDIS_VERSION);
	reply_cstr(&c->out, "proto");
	reply_int(&c->out, 2);
	reply_cstr(&c->out, "id");
	reply_int(&c->out, (long long)c->id);
	reply_cstr(&c->out, "mode");
	reply_cstr(&c->out, "standalone");
	reply_cstr(&c->out, "role");
	reply_cstr(&c->out, "master");
	reply_cstr(&c->out, "modules");
	reply_array(&c->out, 0);
}

void cmd_quit(struct conn *c)
{
	reply_simple(&c->out, "OK");
	c->close_after = true;
}

void cmd_select(struct conn *c)
{
	char name[RESP_TABLE_MAX];
	if (!arg_cstr(c, 1, name, sizeof name) || !table_name_ok(name)) {
		reply_error(&c->out, "invalid table name (1 to %u bytes, no '/', not . or .., "
				     "not .golite...)", GOLITE_MAX_TABLE_NAME);
		return;
	}
	memcpy(c->table, name, strlen(name) + 1);
	reply_simple(&c->out, "OK");
}

void cmd_client(struct conn *c)
{
	if (arg_is(c, 1, "setname") && c->argc == 3) {
		const struct arg *a = &c->argv[2];
		for (size_t i = 0; i < a->len; i++) {
			if (a->p[i] < '!' || a->p[i] > '~') {
				reply_error(&c->out, "Client names cannot contain spaces, newlines or "
						     "special characters.");
				return;
			}
		}
		free(c->name);
		c->name = NULL;
		if (a->len) {
			c->name = xmemdup(a->p, a->len + 1);
			c->name[a->len] = '\0';
		}
		reply_simple(&c->out, "OK");
	} else if (arg_is(c, 1, "getname") && c->argc == 2) {
		if (c->name)
			reply_cstr(&c->out, c->name);
		else
			reply_null(&c->out);
	} else if (arg_is(c, 1, "id") && c->argc == 2) {
		reply_int(&c->out, (long long)c->id);
	} else if ((arg_is(c, 1, "info") && c->argc == 2)) {
		char line[512];
		snprintf(line, sizeof line, "id=%llu name=%s db=%s sub=%u\n",
			 (unsigned long long)c->id, c->name ? c->name : "", c->table, c->subs);
		reply_cstr(&c->out, line);
	} else if (arg_is(c, 1, "setinfo") && c->argc == 4) {
		reply_simple(&c->out, "OK");   /* library name and version: not kept */
	} else {
		reply_error(&c->out, "unknown subcommand or wrong number of arguments for "
				     "'client' command (SETNAME, GETNAME, ID, INFO)");
	}
}

/* Key positions of a command for COMMAND (first, last, step). */
static void key_spec(const char *name, int *first, int *last, int *step)
{
	static const struct {
		const char *name;
		int first, last, step;
	} specs[] = {
		{ "decr", 1, 1, 1 },  { "decrby", 1, 1, 1 }, { "del", 1, -1, 1 },
		{ "exists", 1, -1, 1 }, { "get", 1, 1, 1 },  { "incr", 1, 1, 1 },
		{ "incrby", 1, 1, 1 }, { "mget", 1, -1, 1 }, { "mset", 1, -1, 2 },
		{ "rename", 1, 2, 1 }, { "set", 1, 1, 1 },   { "type", 1, 1, 1 },
		{ "expire", 1, 1, 1 }, { "pexpire", 1, 1, 1 }, { "expireat", 1, 1, 1 },
		{ "pexpireat", 1, 1, 1 }, { "ttl", 1, 1, 1 }, { "pttl", 1, 1, 1 },
		{ "persist", 1, 1, 1 }, { "setex", 1, 1, 1 }, { "psetex", 1, 1, 1 },
	};
	*first = *last = *step = 0;
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		if (!strcmp(specs[i].name, name)) {
			*first = specs[i].first;
			*last = specs[i].last;
			*step = specs[i].step;
		}
	}
}

static void reply_command_info(struct conn *c, const struct command *cmd)
{
	int first, last, step;
	key_spec(cmd->name, &first, &last, &step);
	reply_array(&c->out, 6);
	reply_cstr(&c->out, cmd->name);
	reply_int(&c->out, cmd->arity);
	size_t nflags = 1 + !!(cmd->flags & CMD_PUBSUB) + !!(cmd->flags & CMD_NOAUTH);
	reply_array(&c->out, nflags);
	reply_simple(&c->out, (cmd->flags & CMD_WRITE) ? "write" : "readonly");
	if (cmd->flags & CMD_PUBSUB)
		reply_simple(&c->out, "pubsub");
	if (cmd->flags & CMD_NOAUTH)
		reply_simple(&c->out, "no_auth");
	reply_int(&c->out, first);
	reply_int(&c->out, last);
	reply_int(&c->out, step);
}

void cmd_command(struct conn *c)
{
	if (c->argc == 1) {
		reply_array(&c->out, resp_command_count);
		for (size_t i = 0; i < resp_command_count; i++)
			reply_command_info(c, &resp_commands[i]);
	} else if (arg_is(c, 1, "count") && c->argc == 2) {
		reply_int(&c->out, (long long)resp_command_count);
	} else if (arg_is(c, 1, "docs")) {
		reply_array(&c->out, 0);   /* no documentation: clients use their own */
	} else if (arg_is(c, 1, "info")) {
		reply_array(&c->out, c->argc - 2);
		for (size_t i = 2; i < c->argc; i++) {
			const struct command *found = NULL;
			for (size_t j = 0; j < resp_command_count && !found; j++)
				if (arg_is(c, i, resp_commands[j].name))
					found = &resp_commands[j];
			if (found)
				reply_command_info(c, found);
			else
				reply_null(&c->out);
		}
	} else {
		reply_error(&c->out, "unknown subcommand of 'command' (COUNT, DOCS, INFO)");
	}
}

void cmd_config(struct conn *c)
{
	if (!arg_is(c, 1, "get")) {
		reply_error(&c->out, "CONFIG %s is not supported: the server is configured by "
				     "the options of the program that serves it",
			    arg_is(c, 1, "set") ? "SET" : "subcommand");
		return;
	}
	struct resp_server *s = c->w->s;
	char maxclients[24], bulk[24], port[24];
	snprintf(maxclients, sizeof maxclients, "%u", s->o.max_clients);
	snprintf(bulk, sizeof bulk, "%zu", s->o.max_request_size);
	snprintf(port, sizeof port, "%d", s->port);
	const char *params[][2] = {
		{ "appendonly", "no" },   /* golite's log is not Redis' AOF */
		{ "maxclients", maxclients },
		{ "port", port },
		{ "proto-max-bulk-len", bulk },
		{ "save", "" },
	};
	size_t mark = reply_defer(&c->out), n = 0;
	for (size_t j = 0; j < ARRAY_SIZE(params); j++) {
		bool hit = false;
		for (size_t i = 2; i < c->argc && !hit; i++) {
			char pat[128];
			const struct arg *a = &c->argv[i];
			size_t pl = a->len < sizeof pat ? a->len : sizeof pat - 1;
			for (size_t k = 0; k < pl; k++)
				pat[k] = (a->p[k] >= 'A' && a->p[k] <= 'Z') ? (char)(a->p[k] + 32) : a->p[k];
			hit = glob_match(pat, pl, params[j][0], strlen(params[j][0]));
		}
		if (hit) {
			reply_cstr(&c->out, params[j][0]);
			reply_cstr(&c->out, params[j][1]);
			n += 2;
		}
	}
	reply_defer_set(&c->out, mark, n);
}

__attribute__((format(printf, 2, 3)))
static void infof(struct obuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0)
		ob_put(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void info_server(struct resp_server *s, struct obuf *b)
{
	struct utsname u;
	uname(&u);
	uint64_t up = (now_ns() - s->start_ns) / 1000000000u;
	infof(b, "# Server\r\nredis_version:%s\r\ngolite_version:%s\r\nredis_mode:standalone\r\n"
		 "os:%s %s %s\r\narch_bits:%zu\r\nmultiplexing_api:epoll\r\nprocess_id:%ld\r\n"
		 "tcp_port:%d\r\nuptime_in_seconds:%llu\r\nuptime_in_days:%llu\r\n"
		 "server_threads:%u\r\n\r\n",
	      REDIS_VERSION, GOLITE_VERSION_STRING, u.sysname, u.release, u.machine,
	      sizeof(void *) * 8, (long)getpid(), s->port, (unsigned long long)up,
	      (unsigned long long)(up / 86400), s->nworkers);
}

static void info_clients(struct resp_server *s, struct obuf *b)
{
	infof(b, "# Clients\r\nconnected_clients:%u\r\nmaxclients:%u\r\n\r\n",
	      atomic_load(&s->clients), s->o.max_clients);
}

static void info_stats(struct resp_server *s, struct obuf *b)
{
	uint64_t cmds = 0, acc = 0, hits = 0, misses = 0;
	for (unsigned i = 0; i < s->nworkers; i++) {
		cmds += atomic_load(&s->workers[i].commands);
		acc += atomic_load(&s->workers[i].accepted);
		hits += atomic_load(&s->workers[i].hits);
		misses += atomic_load(&s->workers[i].misses);
	}
	golite_stats st;
	memset(&st, 0, sizeof st);
	golite_stats_get(s->db, &st);
	infof(b, "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
		 "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\npubsub_subscriptions:%zu\r\n",
	      (unsigned long long)acc, (unsigned long long)cmds, (unsigned long long)hits,
	      (unsigned long long)misses, atomic_load(&s->ps_count));
	infof(b, "golite_puts:%llu\r\ngolite_gets:%llu\r\ngolite_deletes:%llu\r\n"
		 "golite_batches:%llu\r\ngolite_last_sequence:%llu\r\ngolite_wal_bytes:%llu\r\n"
		 "golite_wal_syncs:%llu\r\ngolite_memtable_bytes:%llu\r\n"
		 "golite_memtable_entries:%llu\r\ngolite_sstable_count:%llu\r\n"
		 "golite_sstable_bytes:%llu\r\ngolite_block_cache_bytes:%llu\r\n"
		 "golite_compactions:%llu\r\ngolite_stall_micros:%llu\r\ngolite_failed:%d\r\n\r\n",
	      (unsigned long long)st.puts, (unsigned long long)st.gets,
	      (unsigned long long)st.deletes, (unsigned long long)st.batches,
	      (unsigned long long)st.last_sequence, (unsigned long long)st.wal_bytes,
	      (unsigned long long)st.wal_syncs, (unsigned long long)st.memtable_bytes,
	      (unsigned long long)st.memtable_entries, (unsigned long long)st.sstable_count,
	      (unsigned long long)st.sstable_bytes, (unsigned long long)st.block_cache_bytes,
	      (unsigned long long)st.compactions, (unsigned long long)st.stall_micros,
	      st.failed ? 1 : 0);
}

/* One line per table; counting keys reads each table whole. */
static void info_keyspace(struct resp_server *s, struct obuf *b)
{
	char **names = NULL;
	size_t count = 0;
	ob_put(b, "# Keyspace\r\n", 12);
	if (golite_table_list(s->db, &names, &count) == 0) {
		for (size_t i = 0; i < count; i++) {
			uint64_t n, x, ttl;
			if (count_keys_ttl(s->db, names[i], &n, &x, &ttl) == 0 && n)
				infof(b, "db%s:keys=%llu,expires=%llu,avg_ttl=%llu\r\n", names[i],
				      (unsigned long long)n, (unsigned long long)x,
				      (unsigned long long)ttl);
		}
		golite_free(names);
	}
	ob_put(b, "\r\n", 2);
}

void cmd_info(struct conn *c)
{
	struct resp_server *s = c->w->s;
	static const struct {
		const char *name;
		void (*fn)(struct resp_server *, struct obuf *);
	} sections[] = {
		{ "server", info_server },
		{ "clients", info_clients },
		{ "stats", info_stats },
		{ "keyspace", info_keyspace },
	};
	bool all = c->argc == 1;
	for (size_t i = 1; i < c->argc; i++)
		all |= arg_is(c, i, "all") || arg_is(c, i, "default") || arg_is(c, i, "everything");
	struct obuf b = { 0 };
	for (size_t j = 0; j < ARRAY_SIZE(sections); j++) {
		bool want = all;
		for (size_t i = 1; i < c->argc && !want; i++)
			want = arg_is(c, i, sections[j].name);
		if (want)
			sections[j].fn(s, &b);
	}
	if (b.len >= 2)
		b.len -= 2;   /* no blank line after the last section */
	reply_bulk(&c->out, b.p, b.len);
	ob_free(&b);
}

void cmd_dbsize(struct conn *c)
{
	uint64_t n;
	int r = count_keys(c->w->s->db, c->table, &n);
	if (r)
		reply_golite_error(c, r);
	else
		reply_int(&c->out, (long long)n);
}

/* Drops the selected table and creates it empty (FLUSHDB [ASYNC|SYNC]). */
void cmd_flushdb(struct conn *c)
{
	if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "async") && !arg_is(c, 1, "sync"))) {
		reply_error(&c->out, "syntax error");
		return;
	}
	golite *db = c->w->s->db;
	resp_writes_begin(c->w->s);
	int r = golite_table_drop(db, c->table, 0);
	if (r == 0 || r == GOLITE_ENOTABLE) {
		r = golite_table_create(db, c->table);
		if (r == GOLITE_EEXIST)
			r = 0;
	}
	resp_writes_end(c->w->s);
	if (r) {
		reply_golite_error(c, r);
		return;
	}
	reply_simple(&c->out, "OK");
	resp_changed(c, "drop-table", NULL, 0);
	resp_publish(c->w->s, "create-table", c->table, NULL, 0, NULL, 0);
}
