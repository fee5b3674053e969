// Module entry point: calls every init function registered with EDGELB_REGISTER, then adds
// version information and the errno constants other modules use.
#include <bpf/libbpf.h>

#include "registry.h"
#include "util.h"

namespace edgelb {

static Napi::Value Version(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("napi", Napi::Number::New(env, NAPI_VERSION));
  o.Set("libbpf", Napi::String::New(env, libbpf_version_string()));
  Napi::Array mods = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& r : Registry()) mods.Set(i++, Napi::String::New(env, r.name));
  o.Set("modules", mods);
  return o;
}

static Napi::Value Tracked(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)TrackedResources(info.Env()));
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("trackedResources", Napi::Function::New(env, Tracked, "trackedResources"));
  for (const auto& r : Registry()) {
    r.fn(env, exports);
    if (env.IsExceptionPending()) return exports;
  }
  return exports;
}

}  // namespace edgelb

static Napi::Object InitEdgelb(Napi::Env env, Napi::Object exports) { return edgelb::Init(env, exports); }

NODE_API_MODULE(edgelb, InitEdgelb)
