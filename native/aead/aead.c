/*
 * weft-aead: ChaCha20-Poly1305 for mesh frames, through Node-API, with the OpenSSL
 * that Node itself is built with (its EVP symbols; no cipher code of our own).
 *
 *   context(key)                                    -> handle (32-byte key)
 *   rekey(handle, key)                              the handle's contexts to another key, nothing allocated
 *   seal(handle, nonce, aad, parts, out, offset)    -> offset after the tag
 *                 encrypts the concatenation of parts (Uint8Arrays) into out at offset,
 *                 then writes the 16-byte tag after it
 *   open(handle, nonce, aad, buf, start, end)       -> true, or false when the tag does not verify
 *                 buf[start, end - 16) is ciphertext, decrypted in place; buf[end - 16, end) the tag
 *
 * Why not node:crypto: every Cipheriv is a new object with a new OpenSSL context, and
 * every update() returns a new zero-filled buffer. For the encrypted sleeve (thousands of
 * 64 KiB frames a second) that held Node's ChaCha20-Poly1305 to about half of what the
 * same OpenSSL does on the same machine (`openssl speed -evp chacha20-poly1305`). Here a
 * context keeps its key and is reused for every frame (only the nonce changes), output
 * goes where the caller says, and opening decrypts where the frame already lies.
 *
 * The handle holds one context for sealing and one for opening; both are used only on the
 * JS thread that made them. Freed when the handle is collected.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>
#include <openssl/evp.h>

#define KEY_BYTES 32
#define NONCE_BYTES 12
#define TAG_BYTES 16

typedef struct {
  EVP_CIPHER_CTX *seal;
  EVP_CIPHER_CTX *open;
} aead_t;

static void throw_type(napi_env env, const char *msg) { napi_throw_type_error(env, "EINVAL", msg); }

static void throw_openssl(napi_env env, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "weft-aead: %s failed in OpenSSL", what);
  napi_throw_error(env, "EINTERNAL", msg);
}

static void aead_free(aead_t *a) {
  if (!a) return;
  EVP_CIPHER_CTX_free(a->seal);
  EVP_CIPHER_CTX_free(a->open);
  free(a);
}

static void aead_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  aead_free(data);
}

/* a Uint8Array's (or Buffer's) bytes; false if v is not one */
static int bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  void *p;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, &p, &ab, &off) != napi_ok || type != napi_uint8_array) return 0;
  *data = p;
  return 1;
}

/* parts[i]'s bytes; false if it is not a Uint8Array or too long for one EVP call */
static int part_at(napi_env env, napi_value parts, uint32_t i, uint8_t **data, size_t *len) {
  napi_value v;
  return napi_get_element(env, parts, i, &v) == napi_ok && bytes_of(env, v, data, len) && *len <= INT32_MAX;
}

static int u32_of(napi_env env, napi_value v, uint32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 4294967295.0 || d != (double)(uint32_t)d) return 0;
  *out = (uint32_t)d;
  return 1;
}

/* what every call but context() starts with: handle, nonce (12 bytes), aad */
typedef struct {
  aead_t *a;
  uint8_t *nonce;
  uint8_t *aad;
  size_t aad_len;
} call_t;

/* tags our handles, so that another addon's external (a TAP handle, say) is refused rather than read as ours */
static const napi_type_tag HANDLE_TAG = {0x77656674u, 0x61656164u};

/* the contexts behind a handle; NULL if v is not one */
static aead_t *handle_of(napi_env env, napi_value v) {
  napi_valuetype t;
  bool ours = false;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_check_object_type_tag(env, v, &HANDLE_TAG, &ours) != napi_ok || !ours ||
      napi_get_value_external(env, v, &data) != napi_ok)
    return NULL;
  return data;
}

/* argv filled (six arguments), the first three unpacked into c; false, with a TypeError thrown, otherwise */
static int call_args(napi_env env, napi_callback_info info, napi_value *argv, call_t *c, const char *usage) {
  size_t argc = 6, nonce_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 || !(c->a = handle_of(env, argv[0])) ||
      !bytes_of(env, argv[1], &c->nonce, &nonce_len) || nonce_len != NONCE_BYTES || !bytes_of(env, argv[2], &c->aad, &c->aad_len) ||
      c->aad_len > INT32_MAX) {
    throw_type(env, usage);
    return 0;
  }
  return 1;
}

/* the key argument at argv[i], 32 bytes; NULL, with a TypeError thrown, otherwise */
static uint8_t *key_arg(napi_env env, napi_value *argv, size_t i, const char *usage) {
  uint8_t *key;
  size_t key_len;
  if (!bytes_of(env, argv[i], &key, &key_len) || key_len != KEY_BYTES) {
    throw_type(env, usage);
    return NULL;
  }
  return key;
}

/* both contexts to key (with cipher the first time; NULL keeps the one they have) */
static int set_key(aead_t *a, const EVP_CIPHER *cipher, const uint8_t *key) {
  /* key now, nonce per frame: a context keeps its key schedule across EVP_*Init_ex calls with a NULL key */
  return EVP_EncryptInit_ex(a->seal, cipher, NULL, key, NULL) == 1 && EVP_DecryptInit_ex(a->open, cipher, NULL, key, NULL) == 1;
}

static napi_value aead_context(napi_env env, napi_callback_info info) {
  static const char usage[] = "weft-aead: context(key): key must be a 32-byte Uint8Array";
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    throw_type(env, usage);
    return NULL;
  }
  uint8_t *key = key_arg(env, argv, 0, usage);
  if (!key) return NULL;
  aead_t *a = calloc(1, sizeof *a);
  if (!a) {
    napi_throw_error(env, "ENOMEM", "weft-aead: out of memory");
    return NULL;
  }
  a->seal = EVP_CIPHER_CTX_new();
  a->open = EVP_CIPHER_CTX_new();
  const EVP_CIPHER *cipher = EVP_chacha20_poly1305();
  if (!a->seal || !a->open || !cipher || !set_key(a, cipher, key)) {
    aead_free(a);
    throw_openssl(env, "context setup");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, a, aead_finalize, NULL, &handle) != napi_ok) {
    aead_free(a);
    napi_throw_error(env, "EINTERNAL", "weft-aead: napi_create_external failed");
    return NULL;
  }
  /* from here the finaliser owns a */
  if (napi_type_tag_object(env, handle, &HANDLE_TAG) != napi_ok) {
    napi_throw_error(env, "EINTERNAL", "weft-aead: napi_type_tag_object failed");
    return NULL;
  }
  return handle;
}

static napi_value aead_rekey(napi_env env, napi_callback_info info) {
  static const char usage[] = "weft-aead: rekey(handle, key): key must be a 32-byte Uint8Array";
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  aead_t *a;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !(a = handle_of(env, argv[0]))) {
    throw_type(env, usage);
    return NULL;
  }
  uint8_t *key = key_arg(env, argv, 1, usage);
  if (!key) return NULL;
  if (!set_key(a, NULL, key)) {
    throw_openssl(env, "rekey");
    return NULL;
  }
  return NULL;
}

static napi_value aead_seal(napi_env env, napi_callback_info info) {
  static const char usage[] =
      "weft-aead: seal(handle, nonce: 12 bytes, aad: Uint8Array, parts: Uint8Array[], out: Uint8Array, offset: u32)";
  napi_value argv[6];
  call_t call;
  if (!call_args(env, info, argv, &call, usage)) return NULL;
  uint8_t *out;
  size_t out_len;
  uint32_t offset, count;
  bool is_array;
  if (napi_is_array(env, argv[3], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[3], &count) != napi_ok || !bytes_of(env, argv[4], &out, &out_len) ||
      !u32_of(env, argv[5], &offset) || offset > out_len) {
    throw_type(env, usage);
    return NULL;
  }
  /* every part checked, and the room for all of them and the tag, before a byte is written */
  uint8_t *part;
  size_t part_len, total = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (!part_at(env, argv[3], i, &part, &part_len)) {
      throw_type(env, usage);
      return NULL;
    }
    total += part_len;
  }
  if (total > out_len - offset || out_len - offset - total < TAG_BYTES) {
    napi_throw_range_error(env, "ERANGE", "weft-aead: seal: out has no room for the ciphertext and its tag");
    return NULL;
  }
  EVP_CIPHER_CTX *c = call.a->seal;
  uint8_t *w = out + offset;
  int n;
  if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, call.nonce) != 1 ||
      (call.aad_len && EVP_EncryptUpdate(c, NULL, &n, call.aad, (int)call.aad_len) != 1)) {
    throw_openssl(env, "seal (nonce, aad)");
    return NULL;
  }
  size_t left = total;
  for (uint32_t i = 0; i < count; i++) {
    /* again, and within what was counted: an index getter on the array could hand back another part */
    if (!part_at(env, argv[3], i, &part, &part_len) || part_len > left) {
      throw_type(env, "weft-aead: seal: the parts changed while being sealed");
      return NULL;
    }
    left -= part_len;
    if (part_len == 0) continue;
    if (EVP_EncryptUpdate(c, w, &n, part, (int)part_len) != 1) {
      throw_openssl(env, "seal (update)");
      return NULL;
    }
    w += n;
  }
  if (EVP_EncryptFinal_ex(c, w, &n) != 1) {
    throw_openssl(env, "seal (final)");
    return NULL;
  }
  w += n;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, w) != 1) {
    throw_openssl(env, "seal (tag)");
    return NULL;
  }
  w += TAG_BYTES;
  napi_value end;
  napi_create_uint32(env, (uint32_t)(w - out), &end);
  return end;
}

static napi_value aead_open(napi_env env, napi_callback_info info) {
  static const char usage[] = "weft-aead: open(handle, nonce: 12 bytes, aad: Uint8Array, buf: Uint8Array, start: u32, end: u32)";
  napi_value argv[6];
  call_t call;
  if (!call_args(env, info, argv, &call, usage)) return NULL;
  uint8_t *buf;
  size_t buf_len;
  uint32_t start, end;
  if (!bytes_of(env, argv[3], &buf, &buf_len) || !u32_of(env, argv[4], &start) ||
      !u32_of(env, argv[5], &end) || end > buf_len || start > end || end - start < TAG_BYTES || end - start - TAG_BYTES > INT32_MAX) {
    throw_type(env, usage);
    return NULL;
  }
  EVP_CIPHER_CTX *c = call.a->open;
  size_t len = end - start - TAG_BYTES;
  uint8_t *p = buf + start;
  int n, ok = EVP_DecryptInit_ex(c, NULL, NULL, NULL, call.nonce) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, p + len) == 1 &&
              (call.aad_len == 0 || EVP_DecryptUpdate(c, NULL, &n, call.aad, (int)call.aad_len) == 1) &&
              (len == 0 || EVP_DecryptUpdate(c, p, &n, p, (int)len) == 1);
  if (!ok) {
    throw_openssl(env, "open");
    return NULL;
  }
  /* the tag is checked here; on failure buf holds garbage where the ciphertext was, which the caller drops */
  int verified = EVP_DecryptFinal_ex(c, p + len, &n) == 1;
  napi_value result;
  napi_get_boolean(env, verified, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"context", NULL, aead_context, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rekey", NULL, aead_rekey, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seal", NULL, aead_seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, aead_open, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
