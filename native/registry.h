// Static registration of the addon's modules: each native/*.cc registers an init function with
// EDGELB_REGISTER(name, fn); native/addon.cc calls every registered function in module Init.
// Adding a .cc file to native/ is all it takes (binding.gyp lists native/*.cc).
#pragma once

#include <napi.h>

#include <vector>

namespace edgelb {

using InitFn = void (*)(Napi::Env env, Napi::Object exports);

struct Registration {
  const char* name;
  InitFn fn;
};

// The global list (a function-local static, so static initializers in any order can push to it).
std::vector<Registration>& Registry();

struct Registrar {
  Registrar(const char* name, InitFn fn) { Registry().push_back({name, fn}); }
};

}  // namespace edgelb

#define EDGELB_REGISTER(name, fn) \
  static ::edgelb::Registrar edgelb_registrar_##name(#name, fn)
