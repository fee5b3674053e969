// What the struct encoders of dataplane.cc and dataplane_bfd.cc share: a C struct to and from a
// Node Buffer byte for byte (Bytes; FromBytes checks the Buffer's length first), and the property
// readers of their JS objects (integers in a range, IP addresses into edgelb_addr), which throw a
// TypeError and return false/0 on bad input.
#pragma once

#include <arpa/inet.h>
#include <string.h>

#include <string>

#include "bpf/edgelb_shared.h"
#include "util.h"

namespace edgelb {

template <typename T>
Napi::Buffer<uint8_t> Bytes(Napi::Env env, const T& v) {
  return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&v), sizeof(T));
}

// Argument i as a T; false (with a TypeError or RangeError thrown) when it is not a long enough Buffer.
template <typename T>
bool FromBytes(const Napi::CallbackInfo& info, size_t i, T* out) {
  if (info.Length() <= i || !info[i].IsBuffer()) {
    ThrowType(info.Env(), "argument 1 (bytes) must be a Buffer");
    return false;
  }
  auto b = info[i].As<Napi::Buffer<uint8_t>>();
  if (b.Length() < sizeof(T)) {
    ThrowRange(info.Env(), "buffer is " + std::to_string(b.Length()) + " bytes, the struct needs " + std::to_string(sizeof(T)));
    return false;
  }
  memcpy(out, b.Data(), sizeof(T));
  return true;
}

inline bool ReqInt(Napi::Object o, const char* key, int64_t lo, int64_t hi, int64_t* out) {
  bool present = false;
  if (!OptInt(o, key, lo, hi, out, &present)) return false;
  if (!present) {
    ThrowType(o.Env(), std::string("property ") + key + " is required");
    return false;
  }
  return true;
}

inline int64_t IntOr(Napi::Object o, const char* key, int64_t lo, int64_t hi, int64_t dflt, bool* ok) {
  int64_t v = dflt;
  bool present = false;
  *ok = OptInt(o, key, lo, hi, &v, &present);
  return present ? v : dflt;
}

// Parse an address property into edgelb_addr; returns the family (4/6), -1 when optional and absent, 0 after throwing.
inline int ReqAddr(Napi::Object o, const char* key, edgelb_addr* out, bool optional = false) {
  memset(out, 0, sizeof(*out));
  Napi::Value v = o.Get(key);
  if ((v.IsUndefined() || v.IsNull()) && optional) return -1;
  if (!v.IsString()) {
    ThrowType(o.Env(), std::string("property ") + key + " must be an IP address string");
    return 0;
  }
  std::string s = v.As<Napi::String>().Utf8Value();
  if (inet_pton(AF_INET, s.c_str(), &out->a[0]) == 1) return 4;
  if (inet_pton(AF_INET6, s.c_str(), out->a) == 1) return 6;
  ThrowType(o.Env(), std::string("property ") + key + ": not an IP address: " + s);
  return 0;
}

inline Napi::String AddrString(Napi::Env env, const edgelb_addr& a, int family) {
  char buf[INET6_ADDRSTRLEN] = {0};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, family == 4 ? (const void*)&a.a[0] : (const void*)a.a, buf, sizeof(buf));
  return Napi::String::New(env, buf);
}

}  // namespace edgelb
