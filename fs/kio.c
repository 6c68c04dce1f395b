/*
 * kio.c — /dev/fuse reads and writes through libfuse's custom I/O hooks.
 *
 * Why: the kernel clears set-user-ID bits and file capabilities on writes
 * (file_remove_privs). On FUSE that means asking the daemon for the
 * security.capability attribute before every write(2) — a round trip per
 * call — because FUSE keeps SB_NOSEC off unless the daemon takes the job
 * over with FUSE_HANDLE_KILLPRIV_V2; with it, the "no capability here"
 * answer is remembered per inode (S_NOSEC) and the probe happens once.
 * libfuse 3.14 does not know that flag, so:
 *
 *   - read: notes the unique id of the kernel's INIT request when the
 *     kernel offers FUSE_HANDLE_KILLPRIV_V2, and, for WRITE, OPEN, CREATE
 *     and SETATTR requests, whether the kernel asks for the set-user-ID
 *     and set-group-ID bits to be cleared (thread-local: libfuse handles a
 *     request on the thread that read it);
 *   - writev: adds FUSE_HANDLE_KILLPRIV_V2 to the flags of the INIT reply.
 *
 * What the flag makes this daemon responsible for (attr.c, data.c): clear
 * S_ISUID, and S_ISGID when the group may execute, when the kernel asks;
 * drop the security.capability attribute on writes, truncation and
 * changes of owner.
 *
 * Nothing else of the exchange is touched; replies are written as libfuse
 * built them.
 */
#include "kio.h"

#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static _Atomic uint64_t init_unique;   /* the INIT request to answer with the flag */
static _Atomic bool v2_on;
static __thread bool tl_kill;

static void note_request(const void *buf, size_t n)
{
	struct fuse_in_header h;
	memcpy(&h, buf, sizeof(h));
	const uint8_t *arg = (const uint8_t *)buf + sizeof(h);
	size_t alen = n - sizeof(h);
	switch (h.opcode) {
	case FUSE_INIT: {
		struct fuse_init_in in;
		memset(&in, 0, sizeof(in));
		memcpy(&in, arg, alen < sizeof(in) ? alen : sizeof(in));
		if (in.major == 7 && in.minor >= 33 && (in.flags & FUSE_HANDLE_KILLPRIV_V2))
			atomic_store(&init_unique, h.unique);
		break;
	}
	case FUSE_WRITE: {
		struct fuse_write_in in;
		if (alen >= sizeof(in)) {
			memcpy(&in, arg, sizeof(in));
			tl_kill = in.write_flags & FUSE_WRITE_KILL_SUIDGID;
		}
		break;
	}
	case FUSE_OPEN: {
		struct fuse_open_in in;
		if (alen >= sizeof(in)) {
			memcpy(&in, arg, sizeof(in));
			tl_kill = in.open_flags & FUSE_OPEN_KILL_SUIDGID;
		}
		break;
	}
	case FUSE_CREATE: {
		struct fuse_create_in in;
		if (alen >= sizeof(in)) {
			memcpy(&in, arg, sizeof(in));
			tl_kill = in.open_flags & FUSE_OPEN_KILL_SUIDGID;
		}
		break;
	}
	case FUSE_SETATTR: {
		struct fuse_setattr_in in;
		if (alen >= sizeof(in)) {
			memcpy(&in, arg, sizeof(in));
			tl_kill = in.valid & FATTR_KILL_SUIDGID;
		}
		break;
	}
	default:
		break;
	}
}

static ssize_t kio_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	ssize_t n = read(fd, buf, len);
	tl_kill = false;
	if (n >= (ssize_t)sizeof(struct fuse_in_header))
		note_request(buf, (size_t)n);
	return n;
}

static ssize_t kio_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	uint64_t u = atomic_load(&init_unique);
	if (u && count >= 2 && iov[0].iov_len >= sizeof(struct fuse_out_header) &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags) + sizeof(uint32_t)) {
		struct fuse_out_header oh;
		memcpy(&oh, iov[0].iov_base, sizeof(oh));
		if (oh.unique == u) {
			if (oh.error == 0) {
				struct fuse_init_out *o = iov[1].iov_base;
				uint32_t flags;
				memcpy(&flags, &o->flags, sizeof(flags));
				flags |= FUSE_HANDLE_KILLPRIV_V2;
				memcpy(&o->flags, &flags, sizeof(flags));
				atomic_store(&v2_on, true);
			}
			atomic_store(&init_unique, 0);
		}
	}
	return writev(fd, iov, count);
}

int kio_attach(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = kio_read,
		.writev = kio_writev,
	};
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

bool kio_killpriv_v2(void)
{
	return atomic_load(&v2_on);
}

bool kio_kill_suidgid(void)
{
	return tl_kill;
}
