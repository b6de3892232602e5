/*
 * weft-tap: a Linux TAP device for Node, through Node-API (no nan, no libuv pool).
 *
 *   open(name, vnet)      -> { handle, name, vnetHdr, offloads }
 *                         /dev/net/tun, TUNSETIFF IFF_TAP|IFF_NO_PI (|IFF_VNET_HDR with vnet, below)
 *   start(handle, cb)     a reader thread hands batches to cb(buffer: Buffer, count: number, length: number):
 *                         the batch is buffer's first `length` bytes
 *   recycle(handle)       every batch handed over so far may be overwritten (see "Ring" below)
 *   write(handle, packed) -> frames written       one write() per frame, on the JS thread
 *   stats(handle)         -> { framesIn, bytesIn, framesOut, bytesOut, dropsOut, batches }
 *   close(handle)         stop and join the reader, close the fd (the device goes away)
 *
 * Packed format (both directions): repeated [u16 big-endian length][frame bytes].
 * A zero length is malformed (no Ethernet frame is empty).
 *
 * With vnet (what the sleeve uses), every frame read or written starts with a 10-byte
 * struct virtio_net_hdr (little-endian fields: TUNSETVNETLE), and the TAP offers the
 * kernel checksum and segmentation offload (TUNSETOFFLOAD: CSUM, TSO4, TSO6, TSO_ECN,
 * and USO4/USO6 where the kernel has them): the bridge then hands us TCP (and UDP GSO)
 * super-frames of up to 64 KiB with a partial checksum, described by that header, instead
 * of MTU-sized frames with complete checksums; written frames may be such super-frames
 * too (the kernel segments or checksums them where needed). So that header + frame always
 * fits the u16 length, the caller lowers the TAP's gso_max_size to 65535 - 10 through
 * rtnetlink (weft's netlink layer, with the rest of the TAP's link settings): the kernel
 * then segments a larger GSO packet itself before it reaches us. This addon does no
 * rtnetlink of its own.
 *
 * The reader thread polls the TAP fd and an eventfd (close), reads until EAGAIN or
 * until the batch is full (BATCH_FRAMES frames or BATCH_BYTES bytes), and hands the
 * batch to JS through a thread-safe function with a bounded queue (QUEUE_BATCHES).
 * When JS falls behind (the queue is full) the thread stops handing over small
 * batches and keeps filling the current one; once that is full too it blocks, and
 * the kernel's TAP queue (txqueuelen) fills and drops instead of our memory growing
 * (at most QUEUE_BATCHES + 1 batches of ~64 KiB each are held).
 *
 * Ring: batches are read into RING_SLOTS buffers made once, at start(), and handed to
 * JS again and again (the same Buffer, its first `length` bytes) instead of a new
 * allocation per batch: each new Buffer is V8 external memory, and at the sleeve's
 * rate (thousands of 64 KiB batches a second) that kept V8 running a full mark-compact
 * every 50-100 ms. A slot goes back to the reader only when JS calls recycle(), which
 * says that nothing holds a view of any batch delivered so far. When no slot is free,
 * a caller that recycles is behind: the reader waits for a slot, and the kernel's TAP
 * queue takes the strain, as when the queue to JS is full. A caller that has never
 * called recycle() gets a one-off batch of the reader's own allocation instead, which
 * becomes the JS Buffer (external, freed by its finalizer).
 *
 * Lifetime: the tap struct is shared by the JS handle (an external) and the
 * thread-safe function; it is freed when both are gone. Stopping the thread is
 * idempotent and happens on close(), when the handle is collected, or when the
 * thread-safe function is torn down (environment exit), whichever is first. The
 * thread-safe function is unref'd: it never keeps the process alive.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <node_api.h>

#define BATCH_FRAMES 64
#define BATCH_BYTES (64 * 1024)
#define MAX_FRAME 65535 /* what a u16 length can carry */
/* room for a full batch plus one frame of any size read when the batch is nearly full */
#define BATCH_CAP (BATCH_BYTES + 2 + MAX_FRAME)
#define QUEUE_BATCHES 64
/* batches read into reused buffers (see "Ring"); each is BATCH_CAP bytes, touched only when used */
#define RING_SLOTS 16

/* sizeof(struct virtio_net_hdr): flags u8, gso_type u8, hdr_len, gso_size, csum_start, csum_offset (u16 each) */
#define VNET_HDR_BYTES 10
/* UDP segmentation offload (Linux 6.2); older uapi headers lack them */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif
#define OFFLOADS_TCP (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

typedef struct batch batch_t;

typedef struct tap {
  int fd;     /* -1 once closed */
  int wakefd; /* eventfd: tells the reader to stop */
  char name[IFNAMSIZ];
  int vnet_hdr; /* bytes of virtio_net_hdr before each frame: 0 or VNET_HDR_BYTES */

  pthread_t thread;
  int thread_running;
  atomic_int stopping;

  napi_threadsafe_function tsfn; /* NULL when not started, released or finalized */
  atomic_int inflight;           /* batches handed to the tsfn and not yet taken by JS */

  int refs; /* JS handle + live tsfn; touched on the JS thread only */

  /* frames/bytes/batches delivered to JS, and written: updated on the JS thread */
  atomic_uint_fast64_t frames_in, bytes_in, batches, frames_out, bytes_out, drops_out;
  /* updated by the reader thread */
  atomic_uint_fast64_t read_errors;

  /* the ring (see "Ring"): slots free for the reader, under ring_lock; slots delivered to JS and
     not yet recycled, and the Buffers' references, on the JS thread only */
  struct batch *ring;  /* RING_SLOTS entries, NULL before start() */
  napi_ref ring_refs[RING_SLOTS];
  pthread_mutex_t ring_lock;
  pthread_cond_t ring_freed; /* a slot came back, or the reader is to stop */
  atomic_int recycling;      /* the caller has called recycle(): the reader waits for a slot rather than allocate */
  int ring_free[RING_SLOTS];
  int ring_nfree;
  int ring_held[RING_SLOTS];
  int ring_nheld;
  atomic_uint_fast64_t one_offs; /* batches delivered outside the ring */
} tap_t;

/* one batch: a ring slot, or a one-off allocation (this header, then the packed frames) freed with its Buffer */
struct batch {
  size_t len;
  uint32_t count;
  int slot;      /* index in the ring, or -1 for a one-off */
  uint8_t *data; /* BATCH_CAP bytes: the slot's Buffer, or just after this header */
};

/* the tsfn carries ring batches with the low bit set: its teardown may run after the tap
   (and so the ring) is freed, and must then tell a one-off (to free) from a slot (to leave) */
#define RING_TAG ((uintptr_t)1)

/* ---------- helpers ---------- */

#define CHECK(env, call)                                   \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      throw_last(env, #call);                              \
      return NULL;                                         \
    }                                                      \
  } while (0)

static void throw_last(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "weft-tap: %s failed: %s", what,
           info && info->error_message ? info->error_message : "unknown N-API error");
  napi_throw_error(env, "EINTERNAL", msg);
}

static const char *errno_code(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case EEXIST: return "EEXIST";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case EIO: return "EIO";
    case EFAULT: return "EFAULT";
    case EBADF: return "EBADF";
    case EBADFD: return "EBADFD";
    default: return "EUNKNOWN";
  }
}

/* throws an Error with .code = errno name, .errno = the number, .syscall = what failed */
static void throw_errno(napi_env env, int e, const char *syscall, const char *msg) {
  napi_value code, text, err, num, sc;
  if (napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, code, text, &err) != napi_ok) {
    napi_throw_error(env, errno_code(e), msg);
    return;
  }
  if (napi_create_int32(env, e, &num) == napi_ok) napi_set_named_property(env, err, "errno", num);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc) == napi_ok)
    napi_set_named_property(env, err, "syscall", sc);
  napi_throw(env, err);
}

/* tags our handles, so that another addon's external (a cipher context of weft-aead, say) is refused
   rather than read as a tap_t */
static const napi_type_tag HANDLE_TAG = {0x77656674u, 0x74617020u};

static tap_t *get_tap(napi_env env, napi_value v) {
  napi_valuetype t;
  bool ours = false;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_check_object_type_tag(env, v, &HANDLE_TAG, &ours) != napi_ok ||
      !ours || napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "EINVAL", "weft-tap: not a tap handle");
    return NULL;
  }
  return (tap_t *)p;
}

/* a call's arguments: exactly `want` slots filled (a TypeError naming `usage` when fewer), the first a tap handle */
static tap_t *tap_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_last(env, "napi_get_cb_info");
    return NULL;
  }
  if (argc < want) {
    napi_throw_type_error(env, "EINVAL", usage);
    return NULL;
  }
  return get_tap(env, argv[0]);
}

static void tap_unref(tap_t *t) {
  if (--t->refs > 0) return;
  if (t->fd >= 0) close(t->fd);
  if (t->wakefd >= 0) close(t->wakefd);
  pthread_mutex_destroy(&t->ring_lock);
  pthread_cond_destroy(&t->ring_freed);
  free(t->ring); /* the slots' memory is their Buffers', V8's */
  free(t);
}

/* JS thread only, the reader stopped: the ring's Buffers are V8's to collect (views JS still holds keep them) */
static void ring_drop(napi_env env, tap_t *t) {
  if (t->ring == NULL) return;
  for (int i = 0; i < RING_SLOTS; i++) {
    if (t->ring_refs[i] != NULL && env != NULL) napi_delete_reference(env, t->ring_refs[i]);
    t->ring_refs[i] = NULL;
  }
  t->ring_nfree = 0;
  t->ring_nheld = 0;
}

/* tells the reader to stop, wherever it waits: in poll (wakefd) or for a slot (ring_freed) */
static void reader_wake(tap_t *t) {
  atomic_store(&t->stopping, 1);
  uint64_t one = 1;
  ssize_t w = write(t->wakefd, &one, sizeof one);
  (void)w;
  pthread_mutex_lock(&t->ring_lock);
  pthread_cond_broadcast(&t->ring_freed);
  pthread_mutex_unlock(&t->ring_lock);
}

/* reader thread: a free slot; NULL when there is none and the caller does not recycle, or on stop.
   A caller that recycles is behind when it holds every slot: the reader waits for one rather than
   allocate (the kernel's TAP queue holds the frames meanwhile), so batches stay in the ring. */
static batch_t *ring_take(tap_t *t) {
  batch_t *b = NULL;
  pthread_mutex_lock(&t->ring_lock);
  while (t->ring_nfree == 0 && atomic_load(&t->recycling) && !atomic_load(&t->stopping))
    pthread_cond_wait(&t->ring_freed, &t->ring_lock);
  if (t->ring_nfree > 0) b = &t->ring[t->ring_free[--t->ring_nfree]];
  pthread_mutex_unlock(&t->ring_lock);
  return b;
}

/* a slot free again, for a reader that may be waiting for one */
static void ring_put(tap_t *t, int slot) {
  pthread_mutex_lock(&t->ring_lock);
  t->ring_free[t->ring_nfree++] = slot;
  pthread_cond_signal(&t->ring_freed);
  pthread_mutex_unlock(&t->ring_lock);
}

/* reader thread: a batch no longer needed (not handed over) */
static void batch_discard(tap_t *t, batch_t *b) {
  if (b == NULL) return;
  if (b->slot >= 0) ring_put(t, b->slot);
  else free(b);
}

/* JS thread only. Stops and joins the reader; idempotent. Does not close the fd. */
static void tap_stop(tap_t *t) {
  if (!t->thread_running) return;
  reader_wake(t);
  /* abort: a reader blocked on a full queue returns at once (napi_closing) */
  if (t->tsfn != NULL) {
    napi_release_threadsafe_function(t->tsfn, napi_tsfn_abort);
    /* the tsfn object itself lives until its finalizer runs on the loop, later */
  }
  pthread_join(t->thread, NULL);
  t->thread_running = 0;
}

/* JS thread only. Everything close() does; idempotent. */
static void tap_close(napi_env env, tap_t *t) {
  tap_stop(t);
  ring_drop(env, t);
  t->tsfn = NULL; /* released by tap_stop (or never created) */
  if (t->fd >= 0) {
    close(t->fd);
    t->fd = -1;
  }
}

/* ---------- reader thread ---------- */

static void *reader_main(void *arg) {
  tap_t *t = (tap_t *)arg;
  struct pollfd fds[2] = {{.fd = t->fd, .events = POLLIN}, {.fd = t->wakefd, .events = POLLIN}};
  batch_t *b = NULL;

  while (!atomic_load(&t->stopping)) {
    if (b == NULL) {
      b = ring_take(t);
      if (atomic_load(&t->stopping)) break;
      if (b == NULL) {
        b = malloc(sizeof(batch_t) + BATCH_CAP);
        if (b == NULL) { /* try again shortly rather than spin */
          poll(&fds[1], 1, 10);
          continue;
        }
        b->slot = -1;
        b->data = (uint8_t *)(b + 1);
      }
      b->len = 0;
      b->count = 0;
    }
    ssize_t r = read(t->fd, b->data + b->len + 2, BATCH_CAP - b->len - 2);
    if (r > 0) {
      b->data[b->len] = (uint8_t)(r >> 8);
      b->data[b->len + 1] = (uint8_t)r;
      b->len += 2 + (size_t)r;
      b->count++;
      if (b->count < BATCH_FRAMES && b->len < BATCH_BYTES) continue;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int behind = atomic_load(&t->inflight) >= QUEUE_BATCHES;
      if (b->count == 0 || behind) {
        /* nothing to hand over; or JS is behind: rather than queue one more small batch
           (or block on the full queue), keep filling this one up to its limits, and look
           at the queue again shortly */
        int n = poll(fds, 2, b->count == 0 ? -1 : 1);
        if ((n < 0 && errno != EINTR) || (n > 0 && (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)))) {
          atomic_fetch_add(&t->read_errors, 1); /* e.g. the device was deleted underneath us */
          break;
        }
        continue;
      }
      /* else: hand over what we have */
    } else {
      /* EFAULT/EINVAL would be one frame that did not fit; anything else is the device going away */
      atomic_fetch_add(&t->read_errors, 1);
      if (r < 0 && errno != EFAULT && errno != EINVAL) break;
      if (b->count == 0) continue;
    }

    if (b->slot < 0) {
      /* give back the unused tail (in place for heap chunks) */
      batch_t *shrunk = realloc(b, sizeof(batch_t) + b->len);
      if (shrunk != NULL) {
        b = shrunk;
        b->data = (uint8_t *)(b + 1);
      }
    }
    atomic_fetch_add(&t->inflight, 1);
    void *item = b->slot >= 0 ? (void *)((uintptr_t)b | RING_TAG) : (void *)b;
    /* blocks only when a full batch meets a full queue: then the kernel's TAP queue takes the strain */
    napi_status s = napi_call_threadsafe_function(t->tsfn, item, napi_tsfn_blocking);
    if (s != napi_ok) { /* closing (or aborted): the batch was not queued */
      atomic_fetch_sub(&t->inflight, 1);
      batch_discard(t, b);
      b = NULL;
      break;
    }
    b = NULL; /* owned by the queue now */
  }
  batch_discard(t, b);
  return NULL;
}

static void free_batch(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  free(hint);
}

/* on the JS thread, per batch; env == NULL when the tsfn is torn down with batches queued */
static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  int ring = ((uintptr_t)data & RING_TAG) != 0;
  batch_t *b = (batch_t *)((uintptr_t)data & ~RING_TAG);
  if (env == NULL || cb == NULL) {
    /* after tsfn_finalize: the tap (and its ring) may be gone already; a one-off is ours to free */
    if (!ring) free(b);
    return;
  }
  tap_t *t = (tap_t *)context;
  atomic_fetch_sub(&t->inflight, 1);
  if (t->fd < 0) { /* closed while this batch was queued: nobody is listening */
    if (!ring) free(b);
    return;
  }
  /* counted as delivered, just before onBatch sees it: in onBatch and after, the stats include it */
  atomic_fetch_add(&t->frames_in, b->count);
  atomic_fetch_add(&t->bytes_in, b->len - 2 * (size_t)b->count);
  atomic_fetch_add(&t->batches, 1);
  napi_value buf, count, length, argv[3], undef;
  if (ring) {
    if (napi_get_reference_value(env, t->ring_refs[b->slot], &buf) != napi_ok || buf == NULL) {
      ring_put(t, b->slot); /* not delivered: the reader may have it again */
      return;
    }
    t->ring_held[t->ring_nheld++] = b->slot;
  } else if (napi_create_external_buffer(env, b->len, b->data, free_batch, b, &buf) != napi_ok) {
    free(b);
    return;
  } else {
    atomic_fetch_add(&t->one_offs, 1);
  }
  napi_create_uint32(env, b->count, &count);
  napi_create_uint32(env, (uint32_t)b->len, &length);
  napi_get_undefined(env, &undef);
  argv[0] = buf;
  argv[1] = count;
  argv[2] = length;
  if (napi_call_function(env, undef, cb, 3, argv, NULL) == napi_pending_exception) {
    /* left pending, Node would only print a deprecation warning (DEP0168): make it uncaught */
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

/* the tsfn is gone (after close() or at environment teardown) */
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tap_t *t = (tap_t *)data;
  /* at teardown the reader may still run: stop it before the tsfn memory goes */
  if (t->thread_running) {
    reader_wake(t);
    pthread_join(t->thread, NULL);
    t->thread_running = 0;
  }
  t->tsfn = NULL;
  tap_unref(t);
}

/* the JS handle was collected (or the environment is going away) */
static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tap_t *t = (tap_t *)data;
  tap_close(env, t);
  tap_unref(t);
}

/* ---------- exported functions ---------- */

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ];
  size_t n = 0;
  napi_valuetype vt = napi_undefined;
  if (argc > 0) CHECK(env, napi_typeof(env, argv[0], &vt));
  if (vt != napi_string) {
    napi_throw_type_error(env, "EINVAL", "weft-tap: open(name, vnet): name must be a string");
    return NULL;
  }
  bool vnet = false;
  if (argc > 1) {
    CHECK(env, napi_typeof(env, argv[1], &vt));
    if (vt != napi_undefined && (vt != napi_boolean || napi_get_value_bool(env, argv[1], &vnet) != napi_ok)) {
      napi_throw_type_error(env, "EINVAL", "weft-tap: open(name, vnet): vnet must be a boolean");
      return NULL;
    }
  }
  CHECK(env, napi_get_value_string_utf8(env, argv[0], NULL, 0, &n)); /* its UTF-8 length */
  if (n >= IFNAMSIZ) {
    char msg[120];
    snprintf(msg, sizeof msg, "weft-tap: interface name is %zu bytes, longer than the kernel's 15", n);
    napi_throw_error(env, "ENAMETOOLONG", msg);
    return NULL;
  }
  CHECK(env, napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n));
  if (memchr(name, 0, n) != NULL) {
    napi_throw_error(env, "EINVAL", "weft-tap: interface name contains a NUL byte");
    return NULL;
  }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    char msg[200];
    snprintf(msg, sizeof msg, "open /dev/net/tun: %s", strerror(e));
    throw_errno(env, e, "open", msg);
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, n);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    char msg[200];
    snprintf(msg, sizeof msg, "TUNSETIFF %s: %s", name, strerror(e));
    throw_errno(env, e, "ioctl", msg);
    return NULL;
  }
  unsigned offloads = 0;
  if (vnet) {
    /* little-endian header fields whatever the host (the sleeve carries headers between hosts) */
    int sz = VNET_HDR_BYTES, le = 1;
    const char *what = NULL;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) what = "TUNSETVNETHDRSZ";
    else if (ioctl(fd, TUNSETVNETLE, &le) < 0 && (errno != EINVAL || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__))
      what = "TUNSETVNETLE"; /* EINVAL: a kernel without it, where headers are native-endian: fine on little-endian */
    else {
      offloads = OFFLOADS_TCP | TUN_F_USO4 | TUN_F_USO6;
      if (ioctl(fd, TUNSETOFFLOAD, offloads) < 0) {
        offloads = OFFLOADS_TCP; /* before Linux 6.2: no UDP segmentation offload */
        if (ioctl(fd, TUNSETOFFLOAD, offloads) < 0) what = "TUNSETOFFLOAD";
      }
    }
    if (what != NULL) {
      int e = errno;
      close(fd);
      char msg[200];
      snprintf(msg, sizeof msg, "%s %s: %s", what, name, strerror(e));
      throw_errno(env, e, "ioctl", msg);
      return NULL;
    }
  }
  int wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wfd < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, e, "eventfd", "eventfd");
    return NULL;
  }
  tap_t *t = calloc(1, sizeof *t);
  if (t == NULL) {
    close(fd);
    close(wfd);
    throw_errno(env, ENOMEM, "calloc", "out of memory");
    return NULL;
  }
  t->fd = fd;
  t->wakefd = wfd;
  t->refs = 1;
  pthread_mutex_init(&t->ring_lock, NULL);
  pthread_cond_init(&t->ring_freed, NULL);
  t->vnet_hdr = vnet ? VNET_HDR_BYTES : 0;
  memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
  t->name[IFNAMSIZ - 1] = 0;

  napi_value handle, result, jsname, jsvnet, jsoff;
  if (napi_create_external(env, t, handle_finalize, NULL, &handle) != napi_ok) {
    tap_unref(t);
    throw_last(env, "napi_create_external");
    return NULL;
  }
  /* from here the finaliser owns t (and closes the device) */
  if (napi_type_tag_object(env, handle, &HANDLE_TAG) != napi_ok) {
    napi_throw_error(env, "EINTERNAL", "weft-tap: napi_type_tag_object failed");
    return NULL;
  }
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &jsname));
  CHECK(env, napi_set_named_property(env, result, "handle", handle));
  CHECK(env, napi_set_named_property(env, result, "name", jsname));
  CHECK(env, napi_create_uint32(env, (uint32_t)t->vnet_hdr, &jsvnet));
  CHECK(env, napi_set_named_property(env, result, "vnetHdr", jsvnet));
  CHECK(env, napi_create_uint32(env, offloads, &jsoff));
  CHECK(env, napi_set_named_property(env, result, "offloads", jsoff));
  return result;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  tap_t *t = tap_args(env, info, 2, argv, "weft-tap: start(handle, callback)");
  if (t == NULL) return NULL;
  napi_valuetype vt;
  CHECK(env, napi_typeof(env, argv[1], &vt));
  if (vt != napi_function) {
    napi_throw_type_error(env, "EINVAL", "weft-tap: start: callback must be a function");
    return NULL;
  }
  if (t->fd < 0) {
    napi_throw_error(env, "ECLOSED", "weft-tap: start: the tap is closed");
    return NULL;
  }
  if (t->thread_running || t->tsfn != NULL) {
    napi_throw_error(env, "EALREADY", "weft-tap: start: already started");
    return NULL;
  }
  if (t->ring == NULL) { /* once: a start() that failed further down leaves the ring for the next */
    t->ring = calloc(RING_SLOTS, sizeof(batch_t));
    if (t->ring == NULL) {
      throw_errno(env, ENOMEM, "calloc", "weft-tap: start: out of memory");
      return NULL;
    }
    for (int i = 0; i < RING_SLOTS; i++) {
      napi_value slot;
      void *data = NULL;
      /* a slot without its Buffer is simply never free: the reader then uses one-offs */
      if (napi_create_buffer(env, BATCH_CAP, &data, &slot) != napi_ok ||
          napi_create_reference(env, slot, 1, &t->ring_refs[i]) != napi_ok) {
        t->ring_refs[i] = NULL;
        continue;
      }
      t->ring[i] = (batch_t){.len = 0, .count = 0, .slot = i, .data = data};
    }
  }
  t->ring_nfree = 0;
  t->ring_nheld = 0;
  for (int i = 0; i < RING_SLOTS; i++)
    if (t->ring_refs[i] != NULL) t->ring_free[t->ring_nfree++] = i;
  napi_value resource_name;
  CHECK(env, napi_create_string_utf8(env, "weft:tap", NAPI_AUTO_LENGTH, &resource_name));
  napi_threadsafe_function tsfn;
  CHECK(env, napi_create_threadsafe_function(env, argv[1], NULL, resource_name, QUEUE_BATCHES, 1, t,
                                             tsfn_finalize, t, call_js, &tsfn));
  t->refs++; /* held by the tsfn until tsfn_finalize */
  t->tsfn = tsfn;
  napi_unref_threadsafe_function(env, tsfn);
  atomic_store(&t->stopping, 0);
  int e = pthread_create(&t->thread, NULL, reader_main, t);
  if (e != 0) {
    napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
    t->tsfn = NULL;
    throw_errno(env, e, "pthread_create", "weft-tap: start: could not create the reader thread");
    return NULL;
  }
  t->thread_running = 1;
  return NULL;
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  tap_t *t = tap_args(env, info, 2, argv, "weft-tap: write(handle, packed)");
  if (t == NULL) return NULL;
  bool is_buf = false;
  CHECK(env, napi_is_buffer(env, argv[1], &is_buf));
  if (!is_buf) {
    napi_throw_type_error(env, "EINVAL", "weft-tap: write: packed must be a Buffer");
    return NULL;
  }
  uint8_t *p = NULL;
  size_t len = 0;
  CHECK(env, napi_get_buffer_info(env, argv[1], (void **)&p, &len));
  if (t->fd < 0) {
    napi_throw_error(env, "ECLOSED", "weft-tap: write: the tap is closed");
    return NULL;
  }

  /* validate the whole batch before writing any of it */
  size_t off = 0;
  uint32_t frames = 0;
  while (off < len) {
    char msg[200];
    if (len - off < 2) {
      snprintf(msg, sizeof msg,
               "weft-tap: write: malformed packed batch: %zu stray byte(s) at offset %zu after frame %u", len - off,
               off, frames);
      napi_throw_range_error(env, "EMALFORMED", msg);
      return NULL;
    }
    size_t fl = ((size_t)p[off] << 8) | p[off + 1];
    if (fl == 0) {
      snprintf(msg, sizeof msg, "weft-tap: write: malformed packed batch: frame %u at offset %zu has length 0", frames,
               off);
      napi_throw_range_error(env, "EMALFORMED", msg);
      return NULL;
    }
    if (fl > len - off - 2) {
      snprintf(msg, sizeof msg,
               "weft-tap: write: malformed packed batch: frame %u at offset %zu claims %zu bytes, only %zu remain",
               frames, off, fl, len - off - 2);
      napi_throw_range_error(env, "EMALFORMED", msg);
      return NULL;
    }
    off += 2 + fl;
    frames++;
  }

  uint32_t written = 0;
  uint64_t bytes = 0, dropped = 0;
  for (off = 0; off < len;) {
    size_t fl = ((size_t)p[off] << 8) | p[off + 1];
    ssize_t r;
    do {
      r = write(t->fd, p + off + 2, fl);
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
      written++;
      bytes += fl;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == ENOMEM || errno == EINVAL ||
               errno == EMSGSIZE) {
      /* full, or a frame the kernel refuses (e.g. shorter than an Ethernet header): drop it */
      dropped++;
    } else if (errno == EIO) {
      /* the device is down: none of the rest would go in either */
      dropped += frames - written - dropped;
      break;
    } else {
      int e = errno;
      atomic_fetch_add(&t->frames_out, written);
      atomic_fetch_add(&t->bytes_out, bytes);
      atomic_fetch_add(&t->drops_out, dropped);
      char msg[200];
      snprintf(msg, sizeof msg, "weft-tap: write %s: %s (after %u of %u frames)", t->name, strerror(e), written,
               frames);
      throw_errno(env, e, "write", msg);
      return NULL;
    }
    off += 2 + fl;
  }
  atomic_fetch_add(&t->frames_out, written);
  atomic_fetch_add(&t->bytes_out, bytes);
  atomic_fetch_add(&t->drops_out, dropped);
  napi_value out;
  CHECK(env, napi_create_uint32(env, written, &out));
  return out;
}

static napi_status set_count(napi_env env, napi_value obj, const char *key, uint64_t v) {
  napi_value n;
  napi_status s = napi_create_double(env, (double)v, &n);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, obj, key, n);
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  tap_t *t = tap_args(env, info, 1, argv, "weft-tap: stats(handle)");
  if (t == NULL) return NULL;
  napi_value o;
  CHECK(env, napi_create_object(env, &o));
  CHECK(env, set_count(env, o, "framesIn", atomic_load(&t->frames_in)));
  CHECK(env, set_count(env, o, "bytesIn", atomic_load(&t->bytes_in)));
  CHECK(env, set_count(env, o, "framesOut", atomic_load(&t->frames_out)));
  CHECK(env, set_count(env, o, "bytesOut", atomic_load(&t->bytes_out)));
  CHECK(env, set_count(env, o, "dropsOut", atomic_load(&t->drops_out)));
  CHECK(env, set_count(env, o, "batches", atomic_load(&t->batches)));
  CHECK(env, set_count(env, o, "readErrors", atomic_load(&t->read_errors)));
  CHECK(env, set_count(env, o, "oneOffBatches", atomic_load(&t->one_offs)));
  return o;
}

static napi_value js_recycle(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  tap_t *t = tap_args(env, info, 1, argv, "weft-tap: recycle(handle)");
  if (t == NULL) return NULL;
  if (t->fd < 0) return NULL;
  atomic_store(&t->recycling, 1);
  for (int i = 0; i < t->ring_nheld; i++) ring_put(t, t->ring_held[i]);
  t->ring_nheld = 0;
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  tap_t *t = tap_args(env, info, 1, argv, "weft-tap: close(handle)");
  if (t == NULL) return NULL;
  tap_close(env, t);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recycle", NULL, js_recycle, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
