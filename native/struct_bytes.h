// A C struct to and from a Node Buffer, byte for byte (the encoders of dataplane.cc and
// dataplane_bfd.cc): Bytes copies a struct out, FromBytes checks a Buffer argument's length first.
#pragma once

#include <string.h>

#include <string>

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

}  // namespace edgelb
