// Shared helpers of the addon: argument checks that throw TypeError, errno-carrying native errors,
// address parsing, and the per-environment cleanup list (sockets and BPF objects to release when
// the Node environment goes away).
#pragma once

#include <napi.h>
#include <uv.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <functional>
#include <string>

namespace edgelb {

// ---- errors ----

// Throw an Error whose message is "<op>: <strerror(err)>" with properties
// errno (number), code ("ENOENT"...), syscall (op). Returns nothing; callers return right after.
void ThrowErrno(Napi::Env env, const std::string& op, int err);
// Same as ThrowErrno with extra detail appended to the message (e.g. the libbpf log).
void ThrowErrnoDetail(Napi::Env env, const std::string& op, int err, const std::string& detail);
void ThrowType(Napi::Env env, const std::string& msg);
void ThrowRange(Napi::Env env, const std::string& msg);
// Symbolic errno name ("EPERM"), "E<n>" when unknown.
std::string ErrnoName(int err);

// ---- argument checks: each one throws TypeError and returns `ret` from the calling function ----

#define EDGELB_ARG_COUNT(info, n, ret)                                                    \
  do {                                                                                     \
    if ((info).Length() < (n)) {                                                           \
      ::edgelb::ThrowType((info).Env(), std::string(__func__) + ": expected " #n " argument(s)"); \
      return ret;                                                                          \
    }                                                                                      \
  } while (0)

#define EDGELB_ARG_CHECK(info, i, Kind, what, ret)                                         \
  do {                                                                                     \
    if ((info).Length() <= (i) || !(info)[i].Is##Kind()) {                                 \
      ::edgelb::ThrowType((info).Env(), std::string("argument ") + #i + " (" what ") must be a " #Kind); \
      return ret;                                                                          \
    }                                                                                      \
  } while (0)

#define EDGELB_ARG_NUMBER(info, i, what, ret) EDGELB_ARG_CHECK(info, i, Number, what, ret)
#define EDGELB_ARG_STRING(info, i, what, ret) EDGELB_ARG_CHECK(info, i, String, what, ret)
#define EDGELB_ARG_BUFFER(info, i, what, ret) EDGELB_ARG_CHECK(info, i, Buffer, what, ret)
#define EDGELB_ARG_FUNCTION(info, i, what, ret) EDGELB_ARG_CHECK(info, i, Function, what, ret)
#define EDGELB_ARG_OBJECT(info, i, what, ret) EDGELB_ARG_CHECK(info, i, Object, what, ret)

// An integer argument within [lo, hi]; throws TypeError/RangeError and returns `ret` otherwise.
#define EDGELB_ARG_INT(info, i, what, lo, hi, var, ret)                                    \
  int64_t var;                                                                             \
  do {                                                                                     \
    EDGELB_ARG_NUMBER(info, i, what, ret);                                                 \
    double d_ = (info)[i].As<Napi::Number>().DoubleValue();                                \
    if (d_ != (double)(int64_t)d_ || d_ < (double)(lo) || d_ > (double)(hi)) {             \
      ::edgelb::ThrowRange((info).Env(), std::string("argument ") + #i + " (" what ") out of range"); \
      return ret;                                                                          \
    }                                                                                      \
    var = (int64_t)d_;                                                                     \
  } while (0)

// Optional object properties; each returns false after throwing a TypeError.
bool OptInt(Napi::Object o, const char* key, int64_t lo, int64_t hi, int64_t* out, bool* present);
bool OptString(Napi::Object o, const char* key, std::string* out, bool* present);
bool OptBool(Napi::Object o, const char* key, bool* out, bool* present);
// A key given as a Buffer or a string (its UTF-8 bytes).
bool OptBytes(Napi::Object o, const char* key, std::string* out, bool* present);

// ---- addresses ----

// Parse an IPv4 or IPv6 literal (+ port) into a sockaddr; family 0 accepts either.
bool ParseAddress(const std::string& text, int port, int family, sockaddr_storage* out, socklen_t* len);
std::string FormatAddress(const sockaddr* sa);
int AddressPort(const sockaddr* sa);

// ---- cleanup at environment teardown ----

// Register a release function for a resource; returns an id to Unregister when the resource is
// released normally. Every function still registered runs when the Node environment is torn down.
uint64_t TrackResource(Napi::Env env, std::function<void()> release);
void UntrackResource(Napi::Env env, uint64_t id);
// Number of resources currently tracked (tests: proves close() releases).
size_t TrackedResources(Napi::Env env);

// Close a libuv handle allocated with malloc(): it is freed once closed, and the environment's
// teardown waits for that (the close callback is code of this addon).
void CloseUvHandle(napi_env env, uv_handle_t* h);

// Report a pending JS exception raised by a callback invoked from a libuv callback.
void ReportPendingException(Napi::Env env);

}  // namespace edgelb
